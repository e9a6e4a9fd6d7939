import type { KeyRange } from './block-store.js'
import type { Id } from './id.js'

/** Is `key` inside the clockwise arc `range` (both ends inclusive)? */
export function inRange(key: Id, range: KeyRange): boolean {
  return key.isBetween(range.from, range.to)
}

/**
 * Where the arc from `a` clockwise to `b` splits between the two: the last key closer to `a`
 * (ties go to the smaller id, as in Id.isCloser) and the first key closer to `b`.
 */
export function splitArc(a: Id, b: Id): { lastOfA: Id; firstOfB: Id } {
  const d = a.cwDistance(b)
  const half = d / 2n
  const lastA = d % 2n === 0n ? (a.value < b.value ? half : half - 1n) : half
  return { lastOfA: a.add(lastA), firstOfB: a.add(lastA + 1n) }
}

/**
 * The keys for which `ring[i]` is among the `rank + 1` closest nodes, given the nodes in ring
 * order around it (`ring` must reach rank + 1 nodes beyond i on each side, cyclically when
 * `cyclic`). The full ring when rank + 1 covers every node.
 */
export function rankRange(ring: readonly { id: Id }[], i: number, rank: number, cyclic: boolean): KeyRange | undefined {
  const node = ring[i]
  if (node === undefined) return undefined
  const n = ring.length
  if (cyclic && rank + 1 >= n) return { from: node.id.add(1n), to: node.id }
  const at = (j: number): { id: Id } | undefined => (cyclic ? ring[((j % n) + n) % n] : ring[j])
  const lo = at(i - rank - 1)
  const hi = at(i + rank + 1)
  if (lo === undefined || hi === undefined) return undefined
  return { from: splitArc(lo.id, node.id).firstOfB, to: splitArc(node.id, hi.id).lastOfA }
}
