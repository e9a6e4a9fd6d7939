import type { LatencyModel, Point } from '@epost/transport/sim'

/** Which shard runs each node, and the least time a frame between shards takes (the lookahead). */
export interface ShardPlan {
  /** Shard of node i. */
  shardOf: Uint16Array
  /** No frame between nodes of different shards takes less than this (ms, after rounding). */
  lookaheadMs: number
}

/**
 * Lookaheads tried, longest first; 1 ms always holds (the latency models' least). On the sphere
 * 4 ms holds up to about 10,000 nodes (near pairs form groups of up to a thousand nodes there),
 * 3 ms to a few tens of thousands, 2 ms at 100,000.
 */
const LOOKAHEADS = [4, 3, 2]
/**
 * A lookahead is given up if keeping close nodes together makes a group larger than this share
 * of a shard: groups are dealt whole, so the shards stay even only while each is small beside a shard.
 */
const MAX_GROUP_SHARE = 1 / 4

/**
 * Places nodes in shards so that no two nodes of different shards are closer in latency than the
 * lookahead: a frame sent at time t then arrives at t + L or later, and shards run windows of
 * L / lag alone (exchange.ts). Frames take round(latency) ms (the simulator's 1 ms resolution), so the
 * few pairs of nodes whose rounded latency is under L must share a shard for a lookahead of L:
 * such pairs are joined into groups (union-find), and groups go to the least loaded shard in the
 * order of their first node. A longer lookahead means longer windows and more work in each,
 * which evens out the shards' turns (10,000 nodes, when shards met at a barrier per window: 4 ms
 * windows waited 0.27-0.31 s per second of work, 2 ms windows 0.34-0.36); where near pairs chain into large groups (a dense ring), the
 * plan tries a shorter one, and falls back to 1 ms and nodes dealt round robin. A pure function of
 * the points: every shard computes the same plan.
 */
export function planShards(points: readonly Point[], shards: number, model: LatencyModel): ShardPlan {
  const n = points.length
  const roundRobin = (): ShardPlan => ({ shardOf: Uint16Array.from({ length: n }, (_, i) => i % shards), lookaheadMs: 1 })
  if (shards <= 1 || model.reach === undefined) return roundRobin()
  for (const lookahead of LOOKAHEADS) {
    const reach = model.reach(lookahead - 0.5)
    if (!Number.isFinite(reach)) continue
    const groups = closeGroups(points, reach, (a, b) => Math.round(model.latencyMs(a, b)) < lookahead)
    const size = new Map<number, number>()
    for (let i = 0; i < n; i++) size.set(groups(i), (size.get(groups(i)) ?? 0) + 1)
    if (Math.max(0, ...size.values()) > Math.max(2, (MAX_GROUP_SHARE * n) / shards)) continue
    const load = new Array<number>(shards).fill(0)
    const placed = new Map<number, number>()
    const shardOf = new Uint16Array(n)
    for (let i = 0; i < n; i++) {
      const g = groups(i)
      let s = placed.get(g)
      if (s === undefined) {
        s = 0
        for (let k = 1; k < shards; k++) if ((load[k] as number) < (load[s] as number)) s = k
        placed.set(g, s)
        load[s] = (load[s] as number) + (size.get(g) as number)
      }
      shardOf[i] = s
    }
    return { shardOf, lookaheadMs: lookahead }
  }
  return roundRobin()
}

/**
 * Groups of points linked by `close` (checked only for pairs less than `reach` apart in a
 * straight line, found by a sweep along the first coordinate): returns each point's group
 * representative.
 */
function closeGroups(points: readonly Point[], reach: number, close: (a: Point, b: Point) => boolean): (i: number) => number {
  const n = points.length
  const parent = Int32Array.from({ length: n }, (_, i) => i)
  const find = (i: number): number => {
    let r = i
    while (parent[r] !== r) r = parent[r] as number
    while (parent[i] !== r) {
      const next = parent[i] as number
      parent[i] = r
      i = next
    }
    return r
  }
  const x = (i: number): number => (points[i] as Point)[0] as number
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => x(a) - x(b))
  for (let a = 0; a < n; a++) {
    const i = order[a] as number
    for (let b = a + 1; b < n; b++) {
      const j = order[b] as number
      if (x(j) - x(i) >= reach) break
      if (close(points[i] as Point, points[j] as Point)) {
        const ri = find(i)
        const rj = find(j)
        // The smaller index leads, so the representative does not depend on the sweep's order.
        if (ri !== rj) parent[Math.max(ri, rj)] = Math.min(ri, rj)
      }
    }
  }
  return find
}
