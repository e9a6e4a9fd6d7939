import { Id } from '@epost/core'
import type { BlockMeta, KeyRange } from '@epost/core'
import { invalidArgument } from './errors.js'

export function assertKey(key: unknown): asserts key is Id {
  if (!(key instanceof Id)) throw invalidArgument('a block key must be an Id from @epost/core (Id.fromHex, Id.fromBytes...)')
}

export function assertValue(value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw invalidArgument('a block value must be a Uint8Array')
}

export function assertMeta(meta: unknown): asserts meta is BlockMeta | undefined {
  if (meta === undefined) return
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta) || meta instanceof Uint8Array) {
    throw invalidArgument('block metadata must be a plain object of msgpack-able fields (or undefined)')
  }
}

export function assertRange(range: unknown): asserts range is KeyRange {
  const r = range as Partial<KeyRange> | null | undefined
  if (r === null || typeof r !== 'object' || !(r.from instanceof Id) || !(r.to instanceof Id)) {
    throw invalidArgument('a scan range is { from: Id, to: Id }; use fullRing() for the whole ring')
  }
}

/** A quota in bytes: a non-negative integer or Infinity. */
export function checkQuota(quotaBytes: number): number {
  if (!(quotaBytes === Number.POSITIVE_INFINITY || (Number.isSafeInteger(quotaBytes) && quotaBytes >= 0))) {
    throw invalidArgument(`quotaBytes must be a non-negative integer or Infinity, got ${String(quotaBytes)}`)
  }
  return quotaBytes
}

/** A scan limit: a non-negative integer or Infinity (the default). */
export function checkLimit(limit: number | undefined): number {
  if (limit === undefined) return Number.POSITIVE_INFINITY
  if (!(limit === Number.POSITIVE_INFINITY || (Number.isSafeInteger(limit) && limit >= 0))) {
    throw invalidArgument(`a scan limit must be a non-negative integer, got ${String(limit)}`)
  }
  return limit
}
