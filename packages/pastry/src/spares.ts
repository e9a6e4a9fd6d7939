import type { Id, NodeHandle } from '@epost/core'

/**
 * Shortcuts to the likely root (docs/architecture.md, "spares"). The last hops of a Pastry route
 * go to nodes at about a random distance in the network: deep in the routing table a cell's
 * region of the ring holds only a few nodes, so its nearest is no nearer than any, and the last
 * hop (from the leaf set to the root) is random. A node that knows a node lying right next to
 * the key (within one average gap) goes there straight: most likely it is the root, and the hops
 * in between are saved.
 */

const RING = 2 ** 128

/**
 * The next hop for `key` through a routing-table cell: `near` (the node closest to the key among
 * the cell's spares and the nodes known in the cells beside it) if it is closer to the key than
 * the entry and lies within one average gap between nodes (1/n of the ring) of it, where it is
 * likely the root itself; otherwise the entry, the nearest in the network.
 */
export function hopThroughCell(key: Id, entry: NodeHandle, near: NodeHandle, n: number): NodeHandle {
  if (!key.isCloser(near.id, entry.id)) return entry
  return (Number(key.distance(near.id)) / RING) * n > 1 ? entry : near
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
