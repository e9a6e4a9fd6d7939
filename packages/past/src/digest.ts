import { ID_BYTES } from '@epost/core'
import type { Id } from '@epost/core'
import type { KeyRange } from '@epost/core'

/** Sub-arcs a range is cut into for comparison: a mismatch costs one bucket's keys, not the range's. */
export const DIGEST_BUCKETS = 64

/**
 * An order-independent summary of a set of keys in one arc of the ring: per bucket (an equal
 * sub-arc), the XOR of the keys and their count. Two nodes holding the same keys in a bucket get
 * the same cell; any difference shows (barring an adversarial collision, which costs the liar
 * only a missed sync, never a wrong block: every pulled block is verified).
 */
export interface RangeDigest {
  xor: Uint8Array
  counts: number[]
}

export function emptyDigest(): RangeDigest {
  return { xor: new Uint8Array(DIGEST_BUCKETS * ID_BYTES), counts: new Array<number>(DIGEST_BUCKETS).fill(0) }
}

/** The bucket of `key` within `range` (which must contain it). */
export function bucketOf(range: KeyRange, key: Id): number {
  const span = range.from.cwDistance(range.to) + 1n
  const off = range.from.cwDistance(key)
  return Number((off * BigInt(DIGEST_BUCKETS)) / span)
}

export function addToDigest(d: RangeDigest, range: KeyRange, key: Id): void {
  const b = bucketOf(range, key)
  const bytes = key.bytes
  const base = b * ID_BYTES
  for (let i = 0; i < ID_BYTES; i++) d.xor[base + i] = (d.xor[base + i] as number) ^ (bytes[i] as number)
  d.counts[b] = (d.counts[b] as number) + 1
}

/** Buckets where two digests differ. */
export function differingBuckets(a: RangeDigest, b: RangeDigest): Set<number> {
  const out = new Set<number>()
  for (let i = 0; i < DIGEST_BUCKETS; i++) {
    if (a.counts[i] !== b.counts[i]) {
      out.add(i)
      continue
    }
    for (let j = 0; j < ID_BYTES; j++) {
      if (a.xor[i * ID_BYTES + j] !== b.xor[i * ID_BYTES + j]) {
        out.add(i)
        break
      }
    }
  }
  return out
}

