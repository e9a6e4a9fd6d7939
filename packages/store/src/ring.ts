import { ID_MAX, ID_ZERO } from '@epost/core'
import type { Id, KeyRange } from '@epost/core'

/**
 * The whole ring as a scan range, clockwise from `from` (default zero). A range whose ends are
 * equal is the single key `from`, so the whole ring ends just before where it starts.
 */
export function fullRing(from: Id = ID_ZERO): KeyRange {
  return { from, to: from.add(-1n) }
}

/** A clockwise arc as one or two ascending intervals `[lo, hi]` (both inclusive) of the key space. */
export function arcIntervals(range: KeyRange): Array<readonly [Id, Id]> {
  if (range.from.compare(range.to) <= 0) return [[range.from, range.to]]
  return [
    [range.from, ID_MAX],
    [ID_ZERO, range.to],
  ]
}
