import type { Id, NodeHandle } from '@epost/core'
import type { LeafSet } from './leaf-set.js'
import type { Spare } from './routing-table.js'

/**
 * Shortcuts where the ring is sparse (docs/architecture.md, "spares in sparse rows"). Deep in the
 * routing table a cell's region of the ring holds only a few nodes, and the entry Pastry keeps
 * for it (the nearest in the network) is no nearer than a random node. Going there and then on
 * to the root costs two hops at a random distance; going straight to the node of the region
 * closest to the key costs one, when that node is the root.
 */

const RING = 2 ** 128

/** How many nodes the ring holds, judged from the arc the leaf set spans. */
export function estimateRingSize(leafSet: LeafSet): number {
  if (leafSet.knowsWholeRing) return leafSet.size + 1
  const lo = leafSet.ccw[leafSet.ccw.length - 1] ?? leafSet.self
  const hi = leafSet.cw[leafSet.cw.length - 1] ?? leafSet.self
  const span = Number(lo.id.cwDistance(hi.id)) / RING
  return span > 0 ? (leafSet.size + 1) / span : leafSet.size + 1
}

/** The first row whose cells' regions are expected to hold at most `cellNodes` nodes, in a ring of `n` with b-bit digits. */
export function sparseRow(n: number, b: number, cellNodes: number): number {
  let row = 0
  while (n / 2 ** (b * (row + 1)) > cellNodes) row++
  return row
}

/**
 * The next hop for `key` in a sparse cell: of the entry and the spares seen since `freshSince`
 * that are usable, the one closest to the key; but a spare only if it lies within one average
 * gap between nodes (1/n of the ring) of the key, where it is likely the root itself. Otherwise
 * the entry, which is at least near us.
 */
export function hopInSparseCell(key: Id, entry: NodeHandle, spares: readonly Spare[], n: number, freshSince: number, usable: (h: NodeHandle) => boolean): NodeHandle {
  let best = entry
  for (const s of spares) if (s.seenAt >= freshSince && key.isCloser(s.handle.id, best.id) && usable(s.handle)) best = s.handle
  if (best === entry || (Number(key.distance(best.id)) / RING) * n > 1) return entry
  return best
}

/**
 * How long a spare stays usable, judged by how often this node sees its leaf-set members die: a
 * spare we last heard of `age` ago has died meanwhile with probability about age / (mean
 * session), and a hop to a dead spare costs an ack timeout and a reroute. So spares are used only
 * while that chance is below `risk`: in a ring of desktops that stay up for days, for the full
 * `maxAgeMs`; under heavy churn (30-minute sessions), for less than a minute.
 */
export class SpareAge {
  readonly #deaths: number[] = []
  readonly #since: number
  readonly #maxAgeMs: number
  readonly #risk: number

  /** `since`: when this node started watching its leaf set. */
  constructor(since: number, maxAgeMs: number, risk: number) {
    this.#since = since
    this.#maxAgeMs = maxAgeMs
    this.#risk = risk
  }

  /** A leaf-set member was declared dead at `now`. */
  death(now: number): void {
    this.#deaths.push(now)
    if (this.#deaths.length > SPARE_DEATHS_KEPT) this.#deaths.shift()
  }

  /** How old (in ms) a spare may be at `now`, for a leaf set of `members` nodes. */
  maxAge(now: number, members: number): number {
    const window = Math.min(now - this.#since, SPARE_DEATH_WINDOW_MS)
    let recent = 0
    for (const t of this.#deaths) if (t >= now - window) recent++
    if (recent === 0 || members === 0) return this.#maxAgeMs
    // Node-milliseconds watched per death: the mean session of a leaf-set member.
    const meanSession = (members * window) / recent
    return Math.min(this.#maxAgeMs, this.#risk * meanSession)
  }
}

/** Deaths remembered, and the window they are counted over. */
const SPARE_DEATHS_KEPT = 64
const SPARE_DEATH_WINDOW_MS = 3_600_000
