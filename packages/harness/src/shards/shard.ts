import { schema } from '@epost/codec'
import { Id, Rng, VirtualClock, createMetrics, handle } from '@epost/core'
import type { DeliveredMessage, Endpoint, Metrics, NodeCredentials, NodeHandle } from '@epost/core'
import { pastry } from '@epost/pastry'
import type { PastryInit, PastryNode } from '@epost/pastry'
import { SimNetwork } from '@epost/transport/sim'
import type { Point, SimTransport } from '@epost/transport/sim'
import { createTestCa } from '../identities.js'
import { LOOKUP_PROTOCOL } from '../lookups.js'
import { NearestIndex } from '../nearest.js'
import { ShardExchange } from './exchange.js'
import { planShards } from './placement.js'
import type { ExchangeBuffers, InboundFrame } from './exchange.js'

/**
 * One shard of the parallel routing experiment (parallel.ts): it runs the production PastryNode
 * for nodes i with i % shards === shard, on its own VirtualClock and SimNetwork; every other node
 * is attached as remote, and frames to them cross to their shard through the ShardExchange.
 *
 * Shards advance in windows of virtual time as long as the least latency between nodes of
 * different shards (placement.ts), so a frame sent in a window arrives in a later one: each shard
 * runs a window alone, then all exchange frames and news at a barrier. What a shard decides from global
 * state (a joiner's nearest ready bootstrap, when the ring is complete, when all lookups are in)
 * it decides from news exchanged at barriers, which every shard sees alike: a run is a function of
 * the seed and the number of shards.
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
  /** Per first delivery at this shard: lookup number, hops, route latency, direct latency, at the right root (1/0), when. */
  deliveries: { index: number[]; hops: number[]; latency: number[]; direct: number[]; correct: number[]; at: number[] }
  tableEntries: number
  leafSet: number
  nodes: number
  sent: number
  heapBytes: number
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

export async function runShard(init: ShardInit, post: (m: ShardMessage) => void): Promise<void> {
  const { shard, shards, options: o } = init
  const t0 = performance.now()
  globalThis.gc?.()
  const heap0 = process.memoryUsage().heapUsed
  const n = o.nodes
  const clock = new VirtualClock()
  const rng = new Rng(o.seed)
  const ca = createTestCa(rng.fork('ca'), () => clock.now())
  const exchange = new ShardExchange(init.buffers, shard)
  let windowEnd = 0
  const metrics: Metrics = createMetrics()
  const indexOf = (t: SimTransport): number => Number(t.localHandle.address.slice(SIM_ADDRESS.length))
  const network = new SimNetwork({
    clock,
    rng: rng.fork('network'),
    copyFrames: false,
    verifier: ca.verifier,
    remote: {
      transmit: (from, to, data, at) => {
        // The plan promises no frame between shards arrives within the window it was sent in.
        if (at < windowEnd) fail(new Error(`a frame from node ${indexOf(from)} to node ${indexOf(to)} would arrive at ${at} ms, inside the window it was sent in (ends ${windowEnd} ms)`))
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
  const lookupRng = rng.fork('lookups')
  const keys: Id[] = []
  const sources: number[] = []
  const sentAt: number[] = []
  const endpoints = new Map<number, Endpoint>()
  const deliveries: ShardResult['deliveries'] = { index: [], hops: [], latency: [], direct: [], correct: [], at: [] }
  const delivered = new Set<number>()
  let sortedIds: Array<{ value: bigint; index: number }> = []
  const rootOf = (key: Id): number => {
    let lo = 0
    let hi = sortedIds.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((sortedIds[mid] as { value: bigint }).value < key.value) lo = mid + 1
      else hi = mid
    }
    const right = (sortedIds[lo % sortedIds.length] as { index: number }).index
    const left = (sortedIds[(lo - 1 + sortedIds.length) % sortedIds.length] as { index: number }).index
    return key.isCloser((known[right] as Known).id, (known[left] as Known).id) || left === right ? right : left
  }
  const onDeliver = (at: number, msg: DeliveredMessage): void => {
    if (msg.payload.length !== 4) return
    const idx = new DataView(msg.payload.buffer, msg.payload.byteOffset, 4).getUint32(0)
    if (idx >= keys.length || delivered.has(idx)) return
    delivered.add(idx)
    const k = known[at] as Known
    const src = known[sources[idx] as number] as Known
    deliveries.index.push(idx)
    deliveries.hops.push(msg.hops)
    deliveries.latency.push(clock.now() - (sentAt[idx] as number))
    deliveries.direct.push(Math.round(network.model.latencyMs(src.position, k.position)))
    deliveries.correct.push(rootOf(keys[idx] as Id) === at ? 1 : 0)
    deliveries.at.push(clock.now())
  }
  const perBatch = Math.max(1, Math.round((o.lookupRate / 1000) * 10))
  const issueBatch = (): void => {
    const batch = Math.min(perBatch, o.lookups - keys.length)
    for (let j = 0; j < batch; j++) {
      const source = lookupRng.int(n)
      const key = Id.random((k) => lookupRng.bytes(k))
      const idx = keys.length
      keys.push(key)
      sources.push(source)
      sentAt.push(clock.now())
      const ep = endpoints.get(source)
      if (ep === undefined) continue
      const payload = new Uint8Array(4)
      new DataView(payload.buffer).setUint32(0, idx)
      ep.route(key, payload)
    }
  }

  let T = 0
  let readyTotal = 0
  let nextProgress = 1000
  let lookupStart = Infinity
  let lastIssue = Infinity
  let heapBuilt = 0
  let tBuilt = 0
  const lastJoin = (n - 1) * o.joinIntervalMs
  const messagesSent = (): number => {
    let s = 0
    for (const [name, v] of Object.entries(metrics.snapshot())) if (name.startsWith('epost_pastry_sent_')) s += v
    return s
  }
  let sentCache = 0
  let sentAtWindow = 0
  let windows = 0
  let longWindows = 0
  let longBusy = 0
  let maxBusy = 0
  const inbound = (f: InboundFrame): void => {
    const to = transports[f.to]
    const from = transports[f.from]
    if (to !== undefined && from !== undefined && !to.remote && mine(f.to)) network.arrive(from, to, f.data, f.at)
  }

  for (;;) {
    const end = T + lookahead
    windowEnd = end
    const tw = performance.now()
    await clock.runBefore(end)
    const busy = performance.now() - tw
    if (busy > 1) {
      longWindows++
      longBusy += busy
      if (busy > maxBusy) maxBusy = busy
    }
    windows++
    // The message count is read from the metrics only now and then (a snapshot per window would cost).
    if (windows - sentAtWindow >= 256) {
      sentCache = messagesSent()
      sentAtWindow = windows
    }
    const report = exchange.exchange({ nextLocal: clock.nextAt(), ready: readyNow.splice(0), delivered: delivered.size, sent: sentCache, failed: failure !== undefined }, inbound)
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
    let driverNext = Infinity
    if (lookupStart === Infinity) {
      if (readyTotal === n) {
        lookupStart = end + o.settleMs
        const batches = Math.ceil(o.lookups / perBatch)
        lastIssue = lookupStart + (batches - 1) * 10
        for (let b = 0; b < batches; b++) clock.setTimeout(issueBatch, lookupStart + 10 * b - clock.now())
        driverNext = lookupStart
        sortedIds = known.map((k, index) => ({ value: k.id.value, index })).sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
        for (let i = 0; i < n; i++) {
          const node = nodes[i]
          if (node !== undefined) endpoints.set(i, node.register(LOOKUP_PROTOCOL, { deliver: (m) => onDeliver(i, m) }))
        }
        if (shard === 0) post({ type: 'progress', line: `ring of ${n} complete at ${(end / 1000).toFixed(1)} s virtual, ${((performance.now() - t0) / 1000).toFixed(1)} s wall; settling ${o.settleMs / 1000} s` })
      } else if (end > lastJoin + 600_000) {
        throw new Error(`only ${readyTotal} of ${n} nodes became ready`)
      }
    }
    const deliveredTotal = report.news.reduce((s, x) => s + x.delivered, 0)
    if (heapBuilt !== 0 && (deliveredTotal >= o.lookups || end > lastIssue + 120_000)) break
    let next = Math.min(report.minArrival, driverNext)
    for (const x of report.news) next = Math.min(next, x.nextLocal)
    if (next === Infinity) throw new Error('nothing left to simulate before the lookups were done')
    T = Math.max(end, next)
    if (heapBuilt === 0 && T + lookahead > lookupStart) {
      // The next window holds the first lookup: the built ring's memory, and lookups from here on.
      globalThis.gc?.()
      heapBuilt = process.memoryUsage().heapUsed
      tBuilt = performance.now()
    }
  }

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
  if (process.env['EPOST_SIM_DEBUG'] !== undefined) post({ type: 'progress', line: `shard ${shard}: ${count} nodes, ${lookahead} ms windows, ${windows} windows, waited ${(exchange.waitedMs / 1000).toFixed(1)} s at barriers (${exchange.slept} slept; ${exchange.longWaits} waits over 1 ms took ${(exchange.longWaitedMs / 1000).toFixed(1)} s; ${longWindows} windows over 1 ms took ${(longBusy / 1000).toFixed(1)} s, longest ${maxBusy.toFixed(1)} ms)` })
  post({
    type: 'result',
    result: {
      shard,
      deliveries,
      tableEntries,
      leafSet,
      nodes: count,
      sent: messagesSent(),
      heapBytes: heapBuilt - heap0,
      buildSeconds: (tBuilt - t0) / 1000,
      lookupSeconds: (tEnd - tBuilt) / 1000,
      simulatedSeconds: clock.now() / 1000,
      metrics: metrics.snapshot(),
    },
  })
}
