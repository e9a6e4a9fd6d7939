import type { KeyRange } from './block-store.js'
import type { Id } from './id.js'

/** Is `key` inside the clockwise arc `range` (both ends inclusive)? */
export function inRange(key: Id, range: KeyRange): boolean {
  return key.isBetween(range.from, range.to)
}
