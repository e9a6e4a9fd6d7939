import { throwIfAborted } from '@epost/core'
import type { BlockEntry, KeyRange } from '@epost/core'
import { SCAN_PAGE_SIZE } from './constants.js'
import { arcIntervals } from './ring.js'
import { assertRange, checkLimit } from './validate.js'

export interface ScanSource {
  /** Throws when the store is not open (checked before every page). */
  assertOpen(): void
  /** Up to `max` entries with `lo <= key <= hi`, ascending, read synchronously. */
  readPage(lo: KeyRange['from'], hi: KeyRange['to'], max: number): BlockEntry[]
  /** Awaited between pages (an LMDB store lets I/O run; the memory store stays on microtasks). */
  betweenPages?: () => Promise<void>
}

/**
 * The common scan: walks the arc clockwise from `range.from` in pages, wrapping past the top of
 * the key space when `from > to`. Stops after `limit` entries; an aborted signal rejects.
 */
export async function* ringScan(
  source: ScanSource,
  range: KeyRange,
  options: { limit?: number; signal?: AbortSignal } = {},
): AsyncGenerator<BlockEntry> {
  assertRange(range)
  let left = checkLimit(options.limit)
  const signal = options.signal
  let first = true
  for (const [lo0, hi] of arcIntervals(range)) {
    let lo = lo0
    while (left > 0) {
      throwIfAborted(signal)
      if (!first && source.betweenPages !== undefined) await source.betweenPages()
      first = false
      source.assertOpen()
      const max = Math.min(SCAN_PAGE_SIZE, left)
      const page = source.readPage(lo, hi, max)
      for (const entry of page) {
        throwIfAborted(signal)
        yield entry
        left--
      }
      const last = page[page.length - 1]
      if (page.length < max || last === undefined || last.key.equals(hi)) break
      lo = last.key.add(1n)
    }
  }
}
