import { getHeapSpaceStatistics } from 'node:v8'
import { schema } from '@epost/codec'
import { Id, Rng, VirtualClock, createMetrics, handle } from '@epost/core'
import type { Metrics, NodeCredentials, NodeHandle } from '@epost/core'
import { pastry } from '@epost/pastry'
import type { PastryInit, PastryNode } from '@epost/pastry'
import { SIM_LATENCY_RESOLUTION_MS, SimNetwork } from '@epost/transport/sim'
import type { Point, SimTransport } from '@epost/transport/sim'
import { createTestCa } from '../identities.js'
import { NearestIndex } from '../nearest.js'
import { pastryFramesSent } from '../sim-ring.js'
import { ShardExchange } from './exchange.js'
import { planShards } from './placement.js'
import { ShardLookups } from './lookups.js'
import type { ShardDeliveries } from './lookups.js'
import type { ExchangeBuffers, InboundFrame } from './exchange.js'
import { retainedBytes } from '../memory.js'

/**
 * One shard of the parallel routing experiment (parallel.ts): it runs the production PastryNode
 * for the nodes the plan gives it (placement.ts), on its own VirtualClock and SimNetwork; every other node
 * is attached as remote, and frames to them cross to their shard through the ShardExchange.
 *
 * Shards advance in windows of virtual time, `lag` of them to the least latency between nodes of
 * different shards (the lookahead, placement.ts), so a frame sent in window w arrives in window
 * w + lag or later: a shard runs window w alone once every other shard has finished window
 * w - lag, and takes in the frames they sent in it (exchange.ts). What a shard decides from global
 * state (a joiner's nearest ready bootstrap, when the ring is complete, when all lookups are in)
 * it decides from the news of window w - lag, which every shard reads at the start of window w:
 * a run is a function of the seed and the number of shards.
 */

export interface ShardOptions {
  nodes: number
  lookups: number
  seed: number
  pastry: PastryInit
  joinIntervalMs: number
  settleMs: number
  lookupRate: number
}

export interface ShardInit {
  shard: number
  shards: number
  options: ShardOptions
  buffers: ExchangeBuffers
}

/** What one shard found; the main thread merges them (parallel.ts). */
export interface ShardResult {
  shard: number
  deliveries: ShardDeliveries
  tableEntries: number
  leafSet: number
  nodes: number
  retainedBytes: number
  buildSeconds: number
  lookupSeconds: number
  simulatedSeconds: number
  metrics: Record<string, number>
}

export type ShardMessage = { type: 'progress'; line: string } | { type: 'result'; result: ShardResult }

/** A node as every shard knows it. */
interface Known {
  id: Id
  address: string
  position: Point
}

const SIM_ADDRESS = 'sim:'
/**
 * A shard whose young generation is this full asks every shard to scavenge at once (all do it
 * when they read its window's news, lag windows on):
 * a scavenge in one shard alone (60-90 ms at 10,000 nodes) keeps the others waiting for all of it,
 * while scavenges taken together overlap. Needs --expose-gc (npm run sim passes it); without it
 * each shard collects on its own.
 */
const SCAVENGE_TOGETHER_AT = 0.8

export async function runShard(init: ShardInit, post: (m: ShardMessage) => void): Promise<void> {
  const { shard, shards, options: o } = init
  const t0 = performance.now()
  globalThis.gc?.()
  const retained0 = retainedBytes()
  const n = o.nodes
  const clock = new VirtualClock(0, { resolutionMs: SIM_LATENCY_RESOLUTION_MS })
  const rng = new Rng(o.seed)
  const ca = createTestCa(rng.fork('ca'), () => clock.now())
  const exchange = new ShardExchange(init.buffers, shard)
  /** Virtual time per window, lookahead / lag (set once the plan is known, before any frame). */
  let windowMs = 1
  const metrics: Metrics = createMetrics()
  const indexOf = (t: SimTransport): number => Number(t.localHandle.address.slice(SIM_ADDRESS.length))
  const network = new SimNetwork({
    clock,
    rng: rng.fork('network'),
    copyFrames: false,
    verifier: ca.verifier,
    remote: {
      transmit: (from, to, data, at) => {
        // The plan promises no frame between shards arrives before the window lag windows on.
        const due = (exchange.window + exchange.lag) * windowMs
        if (at < due) fail(new Error(`a frame from node ${indexOf(from)} to node ${indexOf(to)} would arrive at ${at} ms, before the shard it goes to reads it (${due} ms)`))
        exchange.send(at, indexOf(from), indexOf(to), data)
      },
    },
  })
  schema.setHandleCacheLimit(Math.max(1 << 16, 2 * n))

  // Every shard draws every node's id and place, in the same order, so all agree on them, and
  // on which shard runs each node.
  const placeRng = rng.fork('placement')
  const known: Known[] = new Array<Known>(n)
  const nodeRngs: Array<Rng | undefined> = new Array<Rng | undefined>(n)
  for (let i = 0; i < n; i++) {
    const nodeRng = rng.fork(`node-${i}`)
    known[i] = { id: Id.random((k) => nodeRng.bytes(k)), address: SIM_ADDRESS + String(i), position: network.model.place(placeRng) }
    nodeRngs[i] = nodeRng
  }
  const plan = planShards(
    known.map((k) => k.position),
    shards,
    network.model,
  )
  const lookahead = plan.lookaheadMs
  // lag windows make a lookahead: a frame between shards arrives lag windows after it was sent.
  windowMs = lookahead / exchange.lag
  const mine = (i: number): boolean => plan.shardOf[i] === shard
  const credentials: Array<NodeCredentials | undefined> = new Array<NodeCredentials | undefined>(n)
  const transports: Array<SimTransport | undefined> = new Array<SimTransport | undefined>(n)
  for (let i = 0; i < n; i++) {
    const id = (known[i] as Known).id
    const nodeRng = nodeRngs[i] as Rng
    if (mine(i)) {
      // Issued now, before the shards run in step: a window that issues one keeps the others waiting.
      credentials[i] = ca.issue(nodeRng, id)
    } else transports[i] = network.attachRemote(handle(id, SIM_ADDRESS + String(i)), (known[i] as Known).position)
  }

  const nodes: Array<PastryNode | undefined> = new Array<PastryNode | undefined>(n)
  const readyNow: number[] = []
  let failure: unknown
  const fail = (err: unknown): void => {
    failure ??= err
  }
  const places = new NearestIndex<number>(network.model, () => true)
  const handleOf = (i: number): NodeHandle => (transports[i] as SimTransport).localHandle

  const startJoin = (i: number, boot: number | undefined): void => {
    const k = known[i] as Known
    const nodeRng = nodeRngs[i] as Rng
    const transport = network.createTransport({ credentials: credentials[i] as NodeCredentials, position: k.position, address: k.address })
    transports[i] = transport
    const node = pastry(o.pastry)({ transport, clock, rng: nodeRng, metrics })
    nodes[i] = node
    node.join(boot === undefined ? [] : [handleOf(boot)]).then(() => readyNow.push(i), fail)
  }
  // Node 0 starts the ring; node i joins at i * joinIntervalMs through the nearest node ready by then.
  for (let i = 0; i < n; i++) {
    if (!mine(i)) continue
    clock.setTimeout(() => {
      const boot = places.nearest((known[i] as Known).position)
      if (i > 0 && boot === undefined) fail(new Error(`node ${i} found no ready node to join through`))
      else startJoin(i, boot)
    }, i * o.joinIntervalMs)
  }

  // Lookups: every shard draws the same sequence; the shard of each lookup's source routes it.
  const lookups = new ShardLookups(
    known.map((k) => k.id),
    known.map((k) => k.position),
    network.model,
    rng.fork('lookups'),
    clock,
    o.lookups,
  )
  const perBatch = Math.max(1, Math.round((o.lookupRate / 1000) * 10))

  let readyTotal = 0
  let nextProgress = 1000
  let lookupStart = Infinity
  let lastIssue = Infinity
  let retainedBuilt = 0
  let tBuilt = 0
  const lastJoin = (n - 1) * o.joinIntervalMs
  const messagesSent = (): number => pastryFramesSent(metrics.snapshot())
  let sentCache = 0
  let sentAtWindow = 0
  let longWindows = 0
  let longBusy = 0
  let maxBusy = 0
  const inbound = (f: InboundFrame): void => {
    const to = transports[f.to]
    const from = transports[f.from]
    if (to !== undefined && from !== undefined && mine(f.to)) network.arrive(from, to, f.data, f.at)
  }

  const scavenge = (globalThis as { gc?: (o: { type: 'minor' }) => void }).gc
  const newSpace = getHeapSpaceStatistics().findIndex((x) => x.space_name === 'new_space')
  /** How full the young generation is (0 without --expose-gc: nothing to coordinate). */
  const youngFill = (): number => {
    if (scavenge === undefined || newSpace < 0) return 0
    const x = getHeapSpaceStatistics()[newSpace]
    return x === undefined ? 0 : x.space_used_size / Math.max(1, x.space_used_size + x.space_available_size)
  }
  let scavenges = 0
  let scavengedAt = 0
  for (;;) {
    const w = exchange.window
    // The news of window w - lag, which every shard acts on now, before window w.
    const report = exchange.collect(inbound)
    if (report !== undefined) {
      const newsEnd = (report.window + 1) * windowMs
      // A request made before the last scavenge together (in the lag windows it took to act on
      // an earlier one) measured a young generation since emptied.
      if (scavenge !== undefined && report.window >= scavengedAt && report.news.some((x) => x.wantsScavenge)) {
        scavenge({ type: 'minor' })
        scavenges++
        scavengedAt = w
      }
      if (failure !== undefined) throw failure
      const failedShard = report.news.findIndex((x) => x.failed)
      if (failedShard >= 0) throw new Error(`shard ${failedShard} failed`)
      const newly = report.news.flatMap((x) => x.ready).sort((a, b) => a - b)
      for (const i of newly) places.add(i, (known[i] as Known).position)
      readyTotal += newly.length
      if (shard === 0 && readyTotal >= nextProgress && readyTotal < n) {
        const sent = report.news.reduce((s, x) => s + x.sent, 0)
        post({ type: 'progress', line: `  ${readyTotal} nodes ready, ${((performance.now() - t0) / 1000).toFixed(1)} s, ~${sent} messages, ${(process.memoryUsage.rss() / 2 ** 30).toFixed(2)} GiB resident (shard 0)` })
        while (nextProgress <= readyTotal) nextProgress += 1000
      }
      if (lookupStart === Infinity) {
        if (readyTotal === n) {
          lookupStart = newsEnd + o.settleMs
          const batches = Math.ceil(o.lookups / perBatch)
          lastIssue = lookupStart + (batches - 1) * 10
          for (let b = 0; b < batches; b++) clock.setTimeout(() => lookups.issue(perBatch), lookupStart + 10 * b - clock.now())
          for (let i = 0; i < n; i++) {
            const node = nodes[i]
            if (node !== undefined) lookups.attach(i, node)
          }
          if (shard === 0) post({ type: 'progress', line: `ring of ${n} complete at ${(newsEnd / 1000).toFixed(1)} s virtual, ${((performance.now() - t0) / 1000).toFixed(1)} s wall; settling ${o.settleMs / 1000} s` })
        } else if (newsEnd > lastJoin + 600_000) {
          throw new Error(`only ${readyTotal} of ${n} nodes became ready`)
        }
      }
      const deliveredTotal = report.news.reduce((s, x) => s + x.delivered, 0)
      if (retainedBuilt !== 0 && (deliveredTotal >= o.lookups || newsEnd > lastIssue + 120_000)) break
    }
    const end = (w + 1) * windowMs
    if (retainedBuilt === 0 && end > lookupStart) {
      // This window holds the first lookup: the built ring's memory, and lookups from here on.
      globalThis.gc?.()
      retainedBuilt = retainedBytes()
      tBuilt = performance.now()
    }
    const tw = performance.now()
    await clock.runBefore(end)
    const busy = performance.now() - tw
    if (busy > 1) {
      longWindows++
      longBusy += busy
      if (busy > maxBusy) maxBusy = busy
    }
    // The message count is read from the metrics only now and then (a snapshot per window would cost).
    if (w - sentAtWindow >= 256) {
      sentCache = messagesSent()
      sentAtWindow = w
    }
    exchange.publish({ ready: readyNow.splice(0), delivered: lookups.delivered, sent: sentCache, failed: failure !== undefined, wantsScavenge: youngFill() >= SCAVENGE_TOGETHER_AT })
  }

  // A node failed in one of the last lag windows, whose news no shard read before stopping.
  if (failure !== undefined) throw failure
  let tableEntries = 0
  let leafSet = 0
  let count = 0
  for (const node of nodes) {
    if (node === undefined) continue
    count++
    tableEntries += node.table.size
    leafSet += node.leafSet.size
  }
  const tEnd = performance.now()
  if (process.env['EPOST_SIM_DEBUG'] !== undefined) post({ type: 'progress', line: `shard ${shard}: ${count} nodes, ${windowMs} ms windows (lookahead ${lookahead} ms), ${exchange.window} windows, waited ${(exchange.waitedMs / 1000).toFixed(1)} s for other shards (${scavenges} scavenges together; ${exchange.slept} slept; ${exchange.longWaits} waits over 1 ms took ${(exchange.longWaitedMs / 1000).toFixed(1)} s; ${longWindows} windows over 1 ms took ${(longBusy / 1000).toFixed(1)} s, longest ${maxBusy.toFixed(1)} ms)` })
  post({
    type: 'result',
    result: {
      shard,
      deliveries: lookups.deliveries,
      tableEntries,
      leafSet,
      nodes: count,
      retainedBytes: retainedBuilt - retained0,
      buildSeconds: (tBuilt - t0) / 1000,
      lookupSeconds: (tEnd - tBuilt) / 1000,
      simulatedSeconds: clock.now() / 1000,
      metrics: metrics.snapshot(),
    },
  })
}
