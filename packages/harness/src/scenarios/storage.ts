import type { Id } from '@epost/core'
import { memoryStore } from '@epost/store/memory'
import { PastNode, contentBlock } from '@epost/past'
import { SimRing } from '../sim-ring.js'
import type { SimMember } from '../sim-ring.js'
import type { Progress } from '../progress.js'
import { round } from './routing.js'

export interface StorageOptions {
  nodes: number
  objects: number
  k: number
  fail: number
  seed: number
  /** Simulated minutes of upkeep after the crash. @default 5 */
  settleMinutes?: number
  /** With churn: nodes crash after exponential sessions of this mean and are replaced. */
  churnSessionMinutes?: number
  /** With churn: how long it runs. @default 60 */
  minutes?: number
}

export interface StorageResult {
  nodes: number
  objects: number
  k: number
  fail: number
  inserted: number
  retrievable: number
  lost: number
  /** Share of objects held by all k of their closest live nodes after upkeep. */
  replicasAtK: number
  /** Bytes of upkeep traffic (digests, offers, pulled blocks) per node from the crash to the end. */
  upkeepBytesPerNode: number
  /** Crashes (the F at once, plus churn). */
  crashes: number
  /** Upkeep bytes per node per minute over 10 quiet minutes at the end (no failures): what upkeep costs at rest. */
  quietUpkeepBytesPerNodePerMinute: number
  wallSeconds: number
}

/**
 * PAST's k-replica invariant after the worst crash: F nodes of one replica set fail at once; after
 * upkeep every object must still be readable and back on its k closest live nodes.
 */
export async function storageScenario(o: StorageOptions, progress: Progress): Promise<StorageResult> {
  const t0 = performance.now()
  const ring = new SimRing({ seed: o.seed })
  progress(`building a ring of ${o.nodes} nodes (seed ${o.seed})`)
  await ring.build(o.nodes, 20)
  await ring.clock.advance(30_000)
  const pasts = new Map<SimMember, PastNode>()
  const attach = async (m: SimMember): Promise<void> => {
    const store = memoryStore()
    await store.start()
    const p = new PastNode({ replicas: o.k }, { overlay: m.node, store, clock: ring.clock, caPublicKey: ring.ca.keyPair.publicKey, metrics: ring.metrics })
    await p.start()
    pasts.set(m, p)
  }
  for (const m of ring.liveReady()) await attach(m)
  const members = [...pasts.keys()]
  progress(`inserting ${o.objects} objects with k = ${o.k}`)
  const handles: Id[] = []
  const BATCH = 100
  for (let done = 0; done < o.objects; done += BATCH) {
    let pending = Math.min(BATCH, o.objects - done)
    for (let i = 0; i < pending; i++) {
      const p = pasts.get(ring.rng.pick(members)) as PastNode
      p.insert(contentBlock(ring.rng.bytes(256))).then(
        (r) => {
          handles.push(r.handle)
          pending--
        },
        () => pending--, // not counted in `inserted`
      )
    }
    await ring.clock.runUntilTrue(() => pending === 0, 120_000)
  }
  const target = ring.rng.pick(handles)
  const victims = ring.closest(target, o.fail)
  progress(`crashing ${victims.length} of the ${o.k} replicas of ${target.short()} at once`)
  const bytes0 = ring.metrics.snapshot()['epost_past_upkeep_bytes_total'] ?? 0
  const detach = (m: SimMember): void => {
    pasts.get(m)?.stop()
    pasts.delete(m)
  }
  for (const v of victims) {
    detach(v)
    await ring.crash(v)
  }
  let churn: ReturnType<SimRing['churn']> | undefined
  if (o.churnSessionMinutes !== undefined) {
    // Continuous churn: every node crashes after an exponential session and a new one joins.
    churn = ring.churn(o.churnSessionMinutes * 60_000, { beforeCrash: detach, onReady: attach }, 'storage-churn')
    const minutes = o.minutes ?? 60
    for (let t = 0; t < minutes; t += 5) {
      await ring.clock.advance(5 * 60_000)
      progress(`  t=${t + 5} min: ${victims.length + churn.crashes} crashes, ${((performance.now() - t0) / 1000).toFixed(0)} s wall`)
    }
    churn.stop()
  }
  await ring.clock.advance((o.settleMinutes ?? 5) * 60_000)
  const upkeepBytes = (ring.metrics.snapshot()['epost_past_upkeep_bytes_total'] ?? 0) - bytes0
  // At rest: ten minutes with nothing failing.
  const quiet0 = ring.metrics.snapshot()['epost_past_upkeep_bytes_total'] ?? 0
  await ring.clock.advance(10 * 60_000)
  const quietBytes = (ring.metrics.snapshot()['epost_past_upkeep_bytes_total'] ?? 0) - quiet0

  const live = ring.liveReady()
  let atK = 0
  let withCopy = 0
  for (const h of handles) {
    const closest = ring.closest(h, o.k)
    const held = await Promise.all(closest.map((m) => pasts.get(m)?.store.has(h) ?? false))
    if (held.every(Boolean)) atK++
    const anywhere = held.some(Boolean) || (await Promise.all(live.map((m) => pasts.get(m)?.store.has(h) ?? false))).some(Boolean)
    if (anywhere) withCopy++
  }
  progress(`reading every object back through PAST`)
  let retrievable = 0
  let outstanding = handles.length
  for (const h of handles) {
    const reader = pasts.get(ring.rng.pick(live)) as PastNode
    reader.lookup(h).then(
      () => {
        retrievable++
        outstanding--
      },
      () => outstanding--,
    )
  }
  await ring.clock.runUntilTrue(() => outstanding === 0, 300_000)
  for (const p of pasts.values()) p.stop()
  await ring.stop()
  return {
    nodes: o.nodes,
    objects: o.objects,
    k: o.k,
    fail: o.fail,
    inserted: handles.length,
    retrievable,
    lost: handles.length - withCopy,
    replicasAtK: round(handles.length === 0 ? 1 : atK / handles.length, 4),
    upkeepBytesPerNode: Math.round(upkeepBytes / o.nodes),
    crashes: victims.length + (churn?.crashes ?? 0),
    quietUpkeepBytesPerNodePerMinute: Math.round(quietBytes / o.nodes / 10),
    wallSeconds: round((performance.now() - t0) / 1000, 1),
  }
}
