import type { Id } from '@epost/core'
import { ScribeNode, topicId } from '@epost/scribe'
import { SimRing } from '../sim-ring.js'
import type { SimMember } from '../sim-ring.js'
import type { Progress } from '../progress.js'
import { round } from './routing.js'

export interface ScribeOptions {
  nodes: number
  topics: number
  /** Members per topic (kept at this count under churn: newcomers take the places of crashed members). */
  members: number
  /** Publishes in all, on random topics from random live nodes, spread over the run. */
  publishes: number
  seed: number
  /** With churn: nodes crash after exponential sessions of this mean and are replaced. */
  churnSessionMinutes?: number
  /** How long publishing runs, in simulated minutes. @default 60 with churn, else publishes / 10 per second */
  minutes?: number
  /** @default 30 */
  heartbeatSeconds?: number
}

export interface ScribeResult {
  nodes: number
  topics: number
  members: number
  published: number
  /** Deliveries owed: for each publish, the members subscribed when it was sent that stayed up to the end. */
  expectedDeliveries: number
  delivered: number
  /** Deliveries beyond the first of one publish to one member (any member, not only the owed ones). */
  duplicates: number
  deliveryRatio: number
  /** Mean hops from a member up to the root at the end (members connected to it). */
  avgTreeDepth: number
  /** Most children any node has on any topic at the end. */
  maxChildren: number
  /** Mean, over owed deliveries, of (delivery time - publish time) / direct publisher-to-member latency. */
  rdp: number
  rdpMedian: number
  /** Owed deliveries that came more than 10 s after their publish (through repair and replay). */
  lateDeliveries: number
  /** Times a member that had been in the tree was cut off from the root (sampled every second). */
  detachments: number
  /** Longest a member stayed cut off, in seconds and in heartbeat periods. */
  maxDetachedSeconds: number
  maxDetachedHeartbeats: number
  /** Detachments that lasted longer than two heartbeat periods (members whose own node crashed are not counted). */
  detachedOverTwoHeartbeats: number
  /**
   * Repair time: from the crash that last cut a member off (a second crash on its new path while
   * it was still repairing starts the clock again) to its being back in the tree. Longest, and
   * how many took more than two heartbeat periods.
   */
  maxRepairSeconds: number
  repairsOverTwoHeartbeats: number
  crashes: number
  controlMessagesPerNodePerSecond: number
  wallSeconds: number
}

interface Publish {
  at: number
  publisher: string
  topic: number
  /** Addresses of members subscribed when it was sent. */
  members: string[]
}

/**
 * Scribe trees on a Pastry ring: T topics of M members each, P publishes; optionally under churn.
 * Every delivery is checked against an oracle of who was subscribed when, so loss and duplicates
 * are exact; tree connectivity is sampled every simulated second for repair times.
 */
export async function scribeScenario(o: ScribeOptions, progress: Progress): Promise<ScribeResult> {
  const t0 = performance.now()
  const heartbeatMs = (o.heartbeatSeconds ?? 30) * 1000
  const ring = new SimRing({ seed: o.seed })
  const rng = ring.rng.fork('scribe-scenario')
  progress(`building a ring of ${o.nodes} nodes (seed ${o.seed})`)
  await ring.build(o.nodes, 20)
  await ring.clock.advance(30_000)

  /** Live nodes that run Scribe, by address. */
  const byAddress = new Map<string, { member: SimMember; scribe: ScribeNode }>()
  const topics: Id[] = Array.from({ length: o.topics }, (_, i) => topicId(`scenario-topic-${i}`))
  /** topic index -> addresses of current members */
  const membership = topics.map(() => new Set<string>())
  /** `${address}|${publish}` -> when first delivered, and how often */
  const deliveries = new Map<string, { at: number; count: number }>()
  const publishes: Publish[] = []

  const attach = (m: SimMember): ScribeNode => {
    const s = new ScribeNode({ heartbeatMs }, { overlay: m.node, clock: ring.clock, metrics: ring.metrics, proximity: (h) => m.node.liveness.rtt(h.id) })
    s.start()
    byAddress.set(m.node.localHandle.address, { member: m, scribe: s })
    return s
  }
  const join = (m: SimMember, topic: number): void => {
    const address = m.node.localHandle.address
    membership[topic]?.add(address)
    byAddress.get(address)?.scribe.subscribe(topics[topic] as Id, {
      deliver: (_t, payload) => {
        const p = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(0)
        const key = `${address}|${p}`
        const d = deliveries.get(key)
        if (d === undefined) deliveries.set(key, { at: ring.clock.now(), count: 1 })
        else d.count++
      },
    })
  }
  for (const m of ring.liveReady()) attach(m)
  const everyone = [...byAddress.values()].map((e) => e.member)
  for (let t = 0; t < o.topics; t++) {
    const chosen = new Set<SimMember>()
    while (chosen.size < Math.min(o.members, everyone.length)) chosen.add(rng.pick(everyone))
    for (const m of chosen) join(m, t)
  }
  await ring.clock.advance(Math.max(10_000, heartbeatMs))
  progress(`${o.topics} topics x ${o.members} members subscribed; publishing ${o.publishes}`)

  /** address -> when it crashed */
  const crashedAt = new Map<string, number>()
  let churn: ReturnType<SimRing['churn']> | undefined
  if (o.churnSessionMinutes !== undefined) {
    churn = ring.churn(o.churnSessionMinutes * 60_000, {
      beforeCrash: (m) => {
        const address = m.node.localHandle.address
        byAddress.get(address)?.scribe.stop()
        crashedAt.set(address, ring.clock.now())
        byAddress.delete(address)
        for (const set of membership) set.delete(address)
      },
      onReady: (m) => {
        attach(m)
        // Newcomers take the places of crashed members.
        for (let t = 0; t < o.topics; t++) if ((membership[t]?.size ?? o.members) < o.members) join(m, t)
      },
    })
  }

  /**
   * Oracle: follows parent links each side agrees on from a member up to a root. Connected: the
   * hops taken; else where the chain broke (`crashed`: the parent there had crashed).
   */
  const chain = (address: string, topic: Id): { depth: number } | { crashed: string | undefined } => {
    let at = byAddress.get(address)
    for (let depth = 0; at !== undefined && depth < 64; depth++) {
      const info = at.scribe.info(topic)
      if (info === undefined) break
      if (info.root) return { depth }
      const parent: string | undefined = info.parent?.address
      if (parent === undefined) break
      const next = byAddress.get(parent)
      if (next === undefined) return { crashed: parent }
      if (next.scribe.info(topic)?.children.some((c) => c.address === address) !== true) break
      address = parent
      at = next
    }
    return { crashed: undefined }
  }
  const depthToRoot = (address: string, topic: Id): number | undefined => {
    const c = chain(address, topic)
    return 'depth' in c ? c.depth : undefined
  }
  const wasConnected = new Set<string>()
  /** Open episodes: since when cut off, and the latest crash seen on the member's path meanwhile. */
  const detached = new Map<string, { since: number; cause: number }>()
  let detachments = 0
  let maxDetached = 0
  let overTwo = 0
  let maxRepair = 0
  let repairsOverTwo = 0
  const close = (e: { since: number; cause: number }, now: number): void => {
    maxDetached = Math.max(maxDetached, now - e.since)
    if (now - e.since > 2 * heartbeatMs) overTwo++
    maxRepair = Math.max(maxRepair, now - e.cause)
    if (now - e.cause > 2 * heartbeatMs) repairsOverTwo++
  }
  const sample = (): void => {
    const now = ring.clock.now()
    for (let t = 0; t < o.topics; t++) {
      for (const address of membership[t] ?? []) {
        const key = `${address}|${t}`
        const c = chain(address, topics[t] as Id)
        const e = detached.get(key)
        if ('depth' in c) {
          wasConnected.add(key)
          if (e !== undefined) {
            detached.delete(key)
            close(e, now)
          }
          continue
        }
        const crash = c.crashed === undefined ? undefined : crashedAt.get(c.crashed)
        if (e !== undefined) {
          if (crash !== undefined && crash > e.cause) e.cause = crash
        } else if (wasConnected.has(key)) {
          detached.set(key, { since: now, cause: crash !== undefined && crash > now - 1000 ? crash : now })
          detachments++
        }
      }
    }
    // Members that left (crashed) end their episodes uncounted.
    for (const key of detached.keys()) if (!byAddress.has(key.slice(0, key.indexOf('|')))) detached.delete(key)
  }

  const control0 = ring.messagesSent()
  const runMs = o.minutes !== undefined || o.churnSessionMinutes !== undefined ? (o.minutes ?? 60) * 60_000 : Math.max(1000, (o.publishes / 10) * 1000)
  const gap = runMs / Math.max(1, o.publishes)
  const start = ring.clock.now()
  let nextSample = start
  for (let i = 0; i < o.publishes; i++) {
    const due = start + Math.round(i * gap)
    while (nextSample <= due) {
      await ring.clock.advance(nextSample - ring.clock.now())
      sample()
      nextSample += 1000
    }
    await ring.clock.advance(due - ring.clock.now())
    const live = [...byAddress.entries()]
    if (live.length === 0) break
    const [publisher, { scribe: ps }] = rng.pick(live)
    const topic = rng.int(o.topics)
    const payload = new Uint8Array(64)
    new DataView(payload.buffer).setUint32(0, i)
    publishes.push({ at: ring.clock.now(), publisher, topic, members: [...(membership[topic] ?? [])] })
    ps.publish(topics[topic] as Id, payload)
    if (i % 1000 === 999) progress(`  ${i + 1} published, ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  }
  while (ring.clock.now() < start + runMs) {
    await ring.clock.advance(Math.min(1000, start + runMs - ring.clock.now()))
    sample()
  }
  churn?.stop()
  const elapsed = ring.clock.now() - start
  // Drain: repairs finish and what a cut-off member missed is replayed.
  for (let s = 0; s < (3 * heartbeatMs) / 1000; s++) {
    await ring.clock.advance(1000)
    sample()
  }
  for (const e of detached.values()) close(e, ring.clock.now())

  let expected = 0
  let delivered = 0
  let late = 0
  const ratios: number[] = []
  for (let i = 0; i < publishes.length; i++) {
    const p = publishes[i] as Publish
    for (const address of p.members) {
      if (!byAddress.has(address)) continue // crashed before the end
      expected++
      const key = `${address}|${i}`
      const at = deliveries.get(key)?.at
      if (at === undefined) continue
      delivered++
      if (at - p.at > 10_000) late++
      if (address !== p.publisher && ring.network.isAlive(p.publisher)) ratios.push((at - p.at) / Math.max(1, ring.network.latency(p.publisher, address)))
    }
  }
  let duplicates = 0
  for (const d of deliveries.values()) duplicates += d.count - 1
  let depthSum = 0
  let depthCount = 0
  let maxChildren = 0
  for (const { scribe } of byAddress.values()) for (const t of topics) maxChildren = Math.max(maxChildren, scribe.info(t)?.children.length ?? 0)
  for (let t = 0; t < o.topics; t++) {
    for (const address of membership[t] ?? []) {
      const d = depthToRoot(address, topics[t] as Id)
      if (d === undefined) continue
      depthSum += d
      depthCount++
    }
  }
  ratios.sort((a, b) => a - b)
  const control = ring.messagesSent() - control0
  for (const { scribe } of byAddress.values()) scribe.stop()
  await ring.stop()
  return {
    nodes: o.nodes,
    topics: o.topics,
    members: o.members,
    published: publishes.length,
    expectedDeliveries: expected,
    delivered,
    duplicates,
    deliveryRatio: round(expected === 0 ? 1 : delivered / expected, 6),
    avgTreeDepth: round(depthCount === 0 ? 0 : depthSum / depthCount, 2),
    maxChildren,
    rdp: round(ratios.length === 0 ? 0 : ratios.reduce((a, b) => a + b, 0) / ratios.length, 3),
    rdpMedian: round(ratios[ratios.length >> 1] ?? 0, 3),
    lateDeliveries: late,
    detachments,
    maxDetachedSeconds: round(maxDetached / 1000, 1),
    maxDetachedHeartbeats: round(maxDetached / heartbeatMs, 2),
    detachedOverTwoHeartbeats: overTwo,
    maxRepairSeconds: round(maxRepair / 1000, 1),
    repairsOverTwoHeartbeats: repairsOverTwo,
    crashes: churn?.crashes ?? 0,
    controlMessagesPerNodePerSecond: round(control / o.nodes / (elapsed / 1000), 2),
    wallSeconds: round((performance.now() - t0) / 1000, 1),
  }
}
