import { SimRing } from '../sim-ring.js'
import { LookupTracker } from '../lookups.js'
import type { Progress } from '../progress.js'
import { round } from './routing.js'

export interface ChurnOptions {
  nodes: number
  minutes: number
  sessionMinutes: number
  lookupsPerSecond: number
  seed: number
  /** Simulated time between joins while the initial ring is built. @default 20 */
  joinIntervalMs?: number
}

export interface ChurnResult {
  nodes: number
  minutes: number
  sessionMinutes: number
  crashes: number
  /** Joins whose bootstrap crashed before they completed, tried again through another node. */
  joinRetries: number
  joins: number
  lookups: number
  delivered: number
  lost: number
  /** Of the lost, those whose source crashed before the lookup was delivered. */
  lostSourceCrashed: number
  wrongRoot: number
  duplicates: number
  lossRate: number
  /** Loss among lookups whose source stayed up: what the overlay itself lost. */
  lossRateLiveSources: number
  wrongRootRate: number
  avgHops: number
  rdp: number
  controlMessagesPerNodePerSecond: number
  wallSeconds: number
}

/**
 * Nodes crash without notice after exponentially distributed sessions and are replaced by new
 * joiners (the population stays near N) while lookups run at a steady rate.
 */
export async function churnScenario(o: ChurnOptions, progress: Progress): Promise<ChurnResult> {
  const t0 = performance.now()
  const ring = new SimRing({ seed: o.seed })
  progress(`building a ring of ${o.nodes} nodes (seed ${o.seed})`)
  await ring.build(o.nodes, o.joinIntervalMs ?? 20)
  await ring.clock.advance(60_000)
  const tracker = new LookupTracker(ring)
  for (const m of ring.liveReady()) tracker.attach(m)

  const endAt = ring.clock.now() + o.minutes * 60_000
  const churn = ring.churn(o.sessionMinutes * 60_000, { onReady: (m) => tracker.attach(m) })

  const control0 = ring.metrics.snapshot()['epost_pastry_control_sent_total'] ?? 0
  const start = ring.clock.now()
  const gap = 1000 / o.lookupsPerSecond
  let nextReport = start + 5 * 60_000
  let liveSum = 0
  let samples = 0
  while (ring.clock.now() < endAt) {
    const ready = ring.liveReady()
    liveSum += ring.live().length
    samples++
    if (ready.length > 0) tracker.issue(ready)
    await ring.clock.advance(gap)
    if (ring.clock.now() >= nextReport) {
      nextReport += 5 * 60_000
      const s = tracker.summary()
      progress(`  t=${((ring.clock.now() - start) / 60_000).toFixed(0)} min: ${s.lookups} lookups, ${s.lost} outstanding, ${s.wrongRoot} wrong root, ${churn.crashes} crashes, ${((performance.now() - t0) / 1000).toFixed(0)} s wall`)
    }
  }
  churn.stop()
  const seconds = (ring.clock.now() - start) / 1000
  const control = (ring.metrics.snapshot()['epost_pastry_control_sent_total'] ?? 0) - control0
  await ring.clock.runUntilTrue(() => tracker.outstanding === 0, 120_000)
  const s = tracker.summary()
  if (process.env['EPOST_SIM_DEBUG'] !== undefined) {
    const snap = ring.metrics.snapshot()
    progress(JSON.stringify(Object.fromEntries(Object.entries(snap).filter(([k]) => /route|held|dead/.test(k)))))
    const lostRecs = tracker.records.filter((r) => r.deliveries === 0)
    for (const r of lostRecs.slice(0, 10)) progress(`lost: sent ${r.sentAt.toFixed(0)} source alive ${r.source.alive} key ${r.key.short()}`)
  }
  await ring.stop()
  const avgLive = liveSum / Math.max(1, samples)
  return {
    nodes: o.nodes,
    minutes: o.minutes,
    sessionMinutes: o.sessionMinutes,
    crashes: churn.crashes,
    joinRetries: ring.joinRetries,
    joins: churn.joins,
    lookups: s.lookups,
    delivered: s.delivered,
    lost: s.lost,
    lostSourceCrashed: s.lostSourceCrashed,
    wrongRoot: s.wrongRoot,
    duplicates: s.duplicates,
    lossRate: s.lookups === 0 ? 0 : s.lost / s.lookups,
    lossRateLiveSources: s.lookups === 0 ? 0 : (s.lost - s.lostSourceCrashed) / s.lookups,
    wrongRootRate: s.lookups === 0 ? 0 : s.wrongRoot / s.lookups,
    avgHops: round(s.avgHops, 3),
    rdp: round(s.rdp, 3),
    controlMessagesPerNodePerSecond: round(control / avgLive / seconds, 3),
    wallSeconds: round((performance.now() - t0) / 1000, 1),
  }
}
