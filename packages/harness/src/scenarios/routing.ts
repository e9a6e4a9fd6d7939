import { EpostError } from '@epost/core'
import { SimRing, pastryFramesSent } from '../sim-ring.js'
import { LookupTracker, deliveryFigures } from '../lookups.js'
import type { Progress } from '../progress.js'
import { runShards } from '../shards/parallel.js'
import type { ShardOptions } from '../shards/shard.js'
import { retainedBytes } from '../memory.js'

/** More worker threads than this would each hold too few nodes to be worth the waits between them. */
const MAX_SHARDS = 64
/** The ring runs on two cores unless told otherwise (the experiments' machines have two). */
export const DEFAULT_SHARDS = 2
export const DEFAULT_JOIN_INTERVAL_MS = 20
export const DEFAULT_SETTLE_MS = 60_000
export const DEFAULT_LOOKUP_RATE = 10_000

export interface RoutingOptions {
  nodes: number
  lookups: number
  seed: number
  b?: number
  leafSetSize?: number
  /** Simulated time between two joins while the ring is built. @default DEFAULT_JOIN_INTERVAL_MS */
  joinIntervalMs?: number
  /** Simulated time of maintenance after the build, before lookups. @default DEFAULT_SETTLE_MS */
  settleMs?: number
  /** Lookups issued per simulated second. @default DEFAULT_LOOKUP_RATE */
  lookupRate?: number
  /**
   * Worker threads the ring is split across (shards/shard.ts); 1 runs it in this thread on one
   * SimRing. Figures depend on the seed and on this number, not on the machine. @default DEFAULT_SHARDS
   */
  shards?: number
}

export interface RoutingResult {
  nodes: number
  lookups: number
  avgHops: number
  maxHops: number
  hopHistogram: Record<string, number>
  correctRootFraction: number
  delivered: number
  rdp: number
  tableEntriesPerNode: number
  leafSetPerNode: number
  memoryPerNodeKB: number
  buildSeconds: number
  lookupSeconds: number
  wallSeconds: number
  simulatedSeconds: number
  messagesPerNode: number
}

export async function routingScenario(options: RoutingOptions, progress: Progress): Promise<RoutingResult> {
  const o = { ...options, joinIntervalMs: options.joinIntervalMs ?? DEFAULT_JOIN_INTERVAL_MS, settleMs: options.settleMs ?? DEFAULT_SETTLE_MS, lookupRate: options.lookupRate ?? DEFAULT_LOOKUP_RATE }
  const shards = o.shards ?? DEFAULT_SHARDS
  if (!Number.isInteger(shards) || shards < 1 || shards > MAX_SHARDS) throw new EpostError('EPOST_INVALID_ARGUMENT', `shards is a whole number from 1 to ${MAX_SHARDS}, got ${shards}`)
  if (shards > 1) return parallelRouting(o, shards, progress)
  const t0 = performance.now()
  globalThis.gc?.()
  const retained0 = retainedBytes()
  const ring = new SimRing({ seed: o.seed, pastry: { ...(o.b === undefined ? {} : { b: o.b }), ...(o.leafSetSize === undefined ? {} : { leafSetSize: o.leafSetSize }) } })
  progress(`building a ring of ${o.nodes} nodes (seed ${o.seed})`)
  await ring.build(o.nodes, o.joinIntervalMs, (ready) => {
    const rss = process.memoryUsage.rss() / 2 ** 30
    progress(`  ${ready} nodes ready, ${((performance.now() - t0) / 1000).toFixed(1)} s, ${ring.messagesSent()} messages, ${rss.toFixed(2)} GiB resident`)
  })
  await ring.clock.advance(o.settleMs)
  const t1 = performance.now()
  globalThis.gc?.()
  const retained1 = retainedBytes()
  progress(`ring built in ${((t1 - t0) / 1000).toFixed(1)} s; routing ${o.lookups} lookups`)

  const tracker = new LookupTracker(ring)
  const members = ring.liveReady()
  for (const m of members) tracker.attach(m)
  const perMs = o.lookupRate / 1000
  let issued = 0
  while (issued < o.lookups) {
    const batch = Math.min(o.lookups - issued, Math.max(1, Math.round(perMs * 10)))
    for (let i = 0; i < batch; i++) tracker.issue(members)
    issued += batch
    await ring.clock.advance(10)
  }
  await ring.clock.runUntilTrue(() => tracker.outstanding === 0, 120_000)
  const t2 = performance.now()
  const s = tracker.summary()
  let table = 0
  let leaf = 0
  for (const m of members) {
    table += m.node.table.size
    leaf += m.node.leafSet.size
  }
  const msgs = ring.messagesSent()
  await ring.stop()
  if (process.env['EPOST_SIM_DEBUG'] !== undefined) progress(JSON.stringify(ring.metrics.snapshot(), null, 1))
  return {
    nodes: o.nodes,
    lookups: s.lookups,
    avgHops: round(s.avgHops, 3),
    maxHops: s.maxHops,
    hopHistogram: s.hopHistogram,
    correctRootFraction: round(s.lookups === 0 ? 1 : (s.delivered - s.wrongRoot) / s.lookups, 6),
    delivered: s.delivered,
    rdp: round(s.rdp, 3),
    tableEntriesPerNode: round(table / members.length, 1),
    leafSetPerNode: round(leaf / members.length, 1),
    memoryPerNodeKB: round((retained1 - retained0) / members.length / 1024, 1),
    buildSeconds: round((t1 - t0) / 1000, 1),
    lookupSeconds: round((t2 - t1) / 1000, 1),
    wallSeconds: round((t2 - t0) / 1000, 1),
    simulatedSeconds: round(ring.clock.now() / 1000, 1),
    messagesPerNode: round(msgs / members.length, 1),
  }
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

/** The routing experiment on `shards` worker threads: the same figures, merged from the shards. */
async function parallelRouting(o: RoutingOptions & Pick<ShardOptions, 'joinIntervalMs' | 'settleMs' | 'lookupRate'>, shards: number, progress: Progress): Promise<RoutingResult> {
  const t0 = performance.now()
  progress(`building a ring of ${o.nodes} nodes in ${shards} shards (seed ${o.seed})`)
  const pastry = { ...(o.b === undefined ? {} : { b: o.b }), ...(o.leafSetSize === undefined ? {} : { leafSetSize: o.leafSetSize }) }
  const results = await runShards(shards, { nodes: o.nodes, lookups: o.lookups, seed: o.seed, pastry, joinIntervalMs: o.joinIntervalMs, settleMs: o.settleMs, lookupRate: o.lookupRate }, progress)
  const t1 = performance.now()
  // A lookup delivered at two shards counts once, at its first delivery (the others are duplicates).
  const first = new Map<number, { hops: number; latencyMs: number; directMs: number; correct: boolean; at: number }>()
  for (const r of results) {
    const d = r.deliveries
    for (let i = 0; i < d.index.length; i++) {
      const idx = d.index[i] as number
      const rec = { hops: d.hops[i] as number, latencyMs: d.latency[i] as number, directMs: d.direct[i] as number, correct: d.correct[i] === true, at: d.at[i] as number }
      const seen = first.get(idx)
      if (seen === undefined || rec.at < seen.at) first.set(idx, rec)
    }
  }
  const f = deliveryFigures(first.values())
  const sum = (f: (r: (typeof results)[number]) => number): number => results.reduce((s, r) => s + f(r), 0)
  const nodes = sum((r) => r.nodes)
  const merged: Record<string, number> = {}
  for (const r of results) for (const [k, v] of Object.entries(r.metrics)) merged[k] = (merged[k] ?? 0) + v
  if (process.env['EPOST_SIM_DEBUG'] !== undefined) progress(JSON.stringify(merged, null, 1))
  return {
    nodes: o.nodes,
    lookups: o.lookups,
    avgHops: round(f.avgHops, 3),
    maxHops: f.maxHops,
    hopHistogram: f.hopHistogram,
    correctRootFraction: round(o.lookups === 0 ? 1 : (f.delivered - f.wrongRoot) / o.lookups, 6),
    delivered: f.delivered,
    rdp: round(f.rdp, 3),
    tableEntriesPerNode: round(sum((r) => r.tableEntries) / nodes, 1),
    leafSetPerNode: round(sum((r) => r.leafSet) / nodes, 1),
    memoryPerNodeKB: round(sum((r) => r.retainedBytes) / nodes / 1024, 1),
    buildSeconds: round(Math.max(...results.map((r) => r.buildSeconds)), 1),
    lookupSeconds: round(Math.max(...results.map((r) => r.lookupSeconds)), 1),
    wallSeconds: round((t1 - t0) / 1000, 1),
    simulatedSeconds: round(Math.max(...results.map((r) => r.simulatedSeconds)), 1),
    messagesPerNode: round(pastryFramesSent(merged) / nodes, 1),
  }
}
