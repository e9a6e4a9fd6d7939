import { SimRing } from '../sim-ring.js'
import { LookupTracker } from '../lookups.js'
import type { Progress } from '../progress.js'

export interface RoutingOptions {
  nodes: number
  lookups: number
  seed: number
  b?: number
  leafSetSize?: number
  /** Simulated time between two joins while the ring is built. @default 20 */
  joinIntervalMs?: number
  /** Simulated time of maintenance after the build, before lookups. @default 60_000 */
  settleMs?: number
  /** Lookups issued per simulated second. @default 10000 */
  lookupRate?: number
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

export async function routingScenario(o: RoutingOptions, progress: Progress): Promise<RoutingResult> {
  const t0 = performance.now()
  globalThis.gc?.()
  const heap0 = process.memoryUsage().heapUsed
  const ring = new SimRing({ seed: o.seed, pastry: { ...(o.b === undefined ? {} : { b: o.b }), ...(o.leafSetSize === undefined ? {} : { leafSetSize: o.leafSetSize }) } })
  progress(`building a ring of ${o.nodes} nodes (seed ${o.seed})`)
  await ring.build(o.nodes, o.joinIntervalMs ?? 20, (ready) => {
    const rss = process.memoryUsage.rss() / 2 ** 30
    progress(`  ${ready} nodes ready, ${((performance.now() - t0) / 1000).toFixed(1)} s, ${ring.messagesSent()} messages, ${rss.toFixed(2)} GiB resident`)
  })
  await ring.clock.advance(o.settleMs ?? 60_000)
  const t1 = performance.now()
  globalThis.gc?.()
  const heap1 = process.memoryUsage().heapUsed
  progress(`ring built in ${((t1 - t0) / 1000).toFixed(1)} s; routing ${o.lookups} lookups`)

  const tracker = new LookupTracker(ring)
  const members = ring.liveReady()
  for (const m of members) tracker.attach(m)
  const perMs = (o.lookupRate ?? 10_000) / 1000
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
    memoryPerNodeKB: round((heap1 - heap0) / members.length / 1024, 1),
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
