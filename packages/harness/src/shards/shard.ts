import { getHeapSpaceStatistics } from 'node:v8'
import { createMetrics } from '@epost/core'
import type { Metrics, Rng } from '@epost/core'
import { pastry } from '@epost/pastry'
import type { PastryInit, PastryNode } from '@epost/pastry'
import { retainedBytes } from '../memory.js'
import { NearestIndex } from '../nearest.js'
import { pastryFramesSent } from '../sim-ring.js'
import { ShardEcho, ShardExchange } from './exchange.js'
import type { ExchangeBuffers, InboundFrame, WindowReport } from './exchange.js'
import { ShardLookups } from './lookups.js'
import type { ShardDeliveries } from './lookups.js'
import { ShardWorld } from './world.js'
import type { Known } from './world.js'

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

/** What a shard's worker posts: progress lines, then its result or its error (`echo`: a ShardEcho). */
export type ShardMessage = { type: 'progress'; line: string } | { type: 'result'; result: ShardResult } | { type: 'error'; message: string; stack?: string; echo: boolean }

/**
 * A shard whose young generation is this full asks every shard to scavenge at once (all do it
 * when they read its window's news, lag windows on):
 * a scavenge in one shard alone (60-90 ms at 10,000 nodes) keeps the others waiting for all of it,
 * while scavenges taken together overlap. Needs --expose-gc (npm run sim passes it); without it
 * each shard collects on its own.
 */
const SCAVENGE_TOGETHER_AT = 0.8
/** Lookups are issued in batches this far apart (ms of virtual time). */
const LOOKUP_BATCH_MS = 10
/** A ring that is not complete this long after the last join has failed. */
const READY_DEADLINE_MS = 600_000
/** Lookups not delivered this long after the last was issued are counted as lost. */
const DELIVERY_DEADLINE_MS = 120_000
/** The message count is read from the metrics once per this many windows (a snapshot per window would cost). */
const SENT_EVERY_WINDOWS = 256

export async function runShard(init: ShardInit, post: (m: ShardMessage) => void): Promise<void> {
  const result = await new ShardRun(init, post).run()
  post({ type: 'result', result })
}

/** The shard's run, window by window: joins, the news every shard acts on, lookups, and the result. */
class ShardRun {
  readonly #post: (m: ShardMessage) => void
  readonly #o: ShardOptions
  readonly #t0 = performance.now()
  readonly #retained0: number
  readonly #exchange: ShardExchange
  readonly #world: ShardWorld
  readonly #metrics: Metrics = createMetrics()
  readonly #nodes: Array<PastryNode | undefined>
  /** Nodes of this shard that became ready in the current window (its news). */
  readonly #readyNow: number[] = []
  /** The nodes ready as of the news last read, by place: a joiner's bootstrap is the nearest. */
  readonly #places: NearestIndex<number>
  readonly #lookups: ShardLookups
  readonly #perBatch: number
  readonly #scavenger = new Scavenger()
  readonly #times = new WindowTimes()
  #failure: unknown
  #readyTotal = 0
  #nextProgress = 1000
  #lookupStart = Infinity
  #lastIssue = Infinity
  /** Memory retained once the ring was built, and when that was (undefined until then). */
  #built: { retained: number; at: number } | undefined
  #sent = 0
  #sentAtWindow = 0

  constructor(init: ShardInit, post: (m: ShardMessage) => void) {
    this.#post = post
    this.#o = init.options
    globalThis.gc?.()
    this.#retained0 = retainedBytes()
    this.#exchange = new ShardExchange(init.buffers, init.shard)
    const world = new ShardWorld(this.#o.nodes, this.#o.seed, this.#exchange, (err) => this.#fail(err))
    this.#world = world
    this.#nodes = new Array<PastryNode | undefined>(this.#o.nodes)
    this.#places = new NearestIndex<number>(world.network.model, () => true)
    this.#scheduleJoins()
    // Every shard draws the same sequence; the shard of each lookup's source routes it.
    this.#lookups = new ShardLookups(
      world.known.map((k) => k.id),
      world.known.map((k) => k.position),
      world.network.model,
      world.rng.fork('lookups'),
      world.clock,
      this.#o.lookups,
    )
    this.#perBatch = Math.max(1, Math.round((this.#o.lookupRate / 1000) * LOOKUP_BATCH_MS))
  }

  async run(): Promise<ShardResult> {
    const exchange = this.#exchange
    for (;;) {
      const w = exchange.window
      // The news of window w - lag, which every shard acts on now, before window w.
      const report = exchange.collect(this.#inbound)
      if (report !== undefined && this.#actOn(report, w)) break
      await this.#runWindow(w)
    }
    // A node failed in one of the last lag windows, whose news no shard read before stopping.
    if (this.#failure !== undefined) throw this.#failure
    return this.#result()
  }

  #fail(err: unknown): void {
    this.#failure ??= err
  }

  /** Node 0 starts the ring; node i joins at i * joinIntervalMs through the nearest node ready by then. */
  #scheduleJoins(): void {
    const world = this.#world
    for (let i = 0; i < this.#o.nodes; i++) {
      if (!world.mine(i)) continue
      world.clock.setTimeout(() => {
        const boot = this.#places.nearest((world.known[i] as Known).position)
        if (i > 0 && boot === undefined) this.#fail(new Error(`node ${i} found no ready node to join through`))
        else this.#startJoin(i, boot)
      }, i * this.#o.joinIntervalMs)
    }
  }

  #startJoin(i: number, boot: number | undefined): void {
    const world = this.#world
    const transport = world.attach(i)
    const node = pastry(this.#o.pastry)({ transport, clock: world.clock, rng: world.nodeRngs[i] as Rng, metrics: this.#metrics })
    this.#nodes[i] = node
    node.join(boot === undefined ? [] : [world.handleOf(boot)]).then(
      () => this.#readyNow.push(i),
      (err: unknown) => this.#fail(err),
    )
  }

  /** A frame from another shard, for a node of this one. */
  readonly #inbound = (f: InboundFrame): void => {
    const world = this.#world
    const to = world.transport(f.to)
    const from = world.transport(f.from)
    if (to !== undefined && from !== undefined && world.mine(f.to)) world.network.arrive(from, to, f.data, f.at)
  }

  /**
   * Acts on the news of a window, lag windows before w (the same news, in the same window, in
   * every shard): scavenges together, stops on any shard's failure, takes in the nodes that became
   * ready, starts the lookups once the ring is complete; true once they are all in.
   */
  #actOn(report: WindowReport, w: number): boolean {
    const newsEnd = (report.window + 1) * this.#world.windowMs
    this.#scavenger.onNews(report, w)
    if (this.#failure !== undefined) throw this.#failure
    const failedShard = report.news.findIndex((x) => x.failed)
    if (failedShard >= 0) throw new ShardEcho(`shard ${failedShard} failed`)
    this.#takeReady(report)
    if (this.#lookupStart === Infinity) {
      if (this.#readyTotal === this.#o.nodes) this.#startLookups(newsEnd)
      else if (newsEnd > (this.#o.nodes - 1) * this.#o.joinIntervalMs + READY_DEADLINE_MS) throw new Error(`only ${this.#readyTotal} of ${this.#o.nodes} nodes became ready`)
    }
    const delivered = report.news.reduce((s, x) => s + x.delivered, 0)
    return this.#built !== undefined && (delivered >= this.#o.lookups || newsEnd > this.#lastIssue + DELIVERY_DEADLINE_MS)
  }

  #takeReady(report: WindowReport): void {
    const newly = report.news.flatMap((x) => x.ready).sort((a, b) => a - b)
    for (const i of newly) this.#places.add(i, (this.#world.known[i] as Known).position)
    this.#readyTotal += newly.length
    const total = this.#readyTotal
    if (this.#exchange.shard === 0 && total >= this.#nextProgress && total < this.#o.nodes) {
      const sent = report.news.reduce((s, x) => s + x.sent, 0)
      this.#progress(`  ${total} nodes ready, ${this.#seconds()} s, ~${sent} messages, ${(process.memoryUsage.rss() / 2 ** 30).toFixed(2)} GiB resident (shard 0)`)
      while (this.#nextProgress <= total) this.#nextProgress += 1000
    }
  }

  /** The ring is complete as of `newsEnd`: lookups start after the settling time, in batches. */
  #startLookups(newsEnd: number): void {
    const { clock } = this.#world
    const o = this.#o
    this.#lookupStart = newsEnd + o.settleMs
    const batches = Math.ceil(o.lookups / this.#perBatch)
    this.#lastIssue = this.#lookupStart + (batches - 1) * LOOKUP_BATCH_MS
    for (let b = 0; b < batches; b++) clock.setTimeout(() => this.#lookups.issue(this.#perBatch), this.#lookupStart + LOOKUP_BATCH_MS * b - clock.now())
    for (let i = 0; i < o.nodes; i++) {
      const node = this.#nodes[i]
      if (node !== undefined) this.#lookups.attach(i, node)
    }
    if (this.#exchange.shard === 0) this.#progress(`ring of ${o.nodes} complete at ${(newsEnd / 1000).toFixed(1)} s virtual, ${this.#seconds()} s wall; settling ${o.settleMs / 1000} s`)
  }

  /** Runs window w of virtual time, then publishes its news. */
  async #runWindow(w: number): Promise<void> {
    const end = (w + 1) * this.#world.windowMs
    if (this.#built === undefined && end > this.#lookupStart) {
      // This window holds the first lookup: the built ring's memory, and lookups from here on.
      globalThis.gc?.()
      this.#built = { retained: retainedBytes(), at: performance.now() }
    }
    const tw = performance.now()
    await this.#world.clock.runBefore(end)
    this.#times.note(performance.now() - tw)
    if (w - this.#sentAtWindow >= SENT_EVERY_WINDOWS) {
      this.#sent = pastryFramesSent(this.#metrics.snapshot())
      this.#sentAtWindow = w
    }
    this.#exchange.publish({ ready: this.#readyNow.splice(0), delivered: this.#lookups.delivered, sent: this.#sent, failed: this.#failure !== undefined, wantsScavenge: this.#scavenger.wanted() })
  }

  #result(): ShardResult {
    let tableEntries = 0
    let leafSet = 0
    let count = 0
    for (const node of this.#nodes) {
      if (node === undefined) continue
      count++
      tableEntries += node.table.size
      leafSet += node.leafSet.size
    }
    const tEnd = performance.now()
    // The loop stops only after the window that measured the built ring (#actOn).
    const built = this.#built as { retained: number; at: number }
    const exchange = this.#exchange
    const { windowMs, plan } = this.#world
    if (process.env['EPOST_SIM_DEBUG'] !== undefined) {
      const t = this.#times
      this.#progress(
        `shard ${exchange.shard}: ${count} nodes, ${windowMs} ms windows (lookahead ${plan.lookaheadMs} ms), ${exchange.window} windows, waited ${(exchange.waitedMs / 1000).toFixed(1)} s for other shards (${this.#scavenger.count} scavenges together; ${exchange.slept} slept; ${exchange.longWaits} waits over 1 ms took ${(exchange.longWaitedMs / 1000).toFixed(1)} s; ${t.long} windows over 1 ms took ${(t.longMs / 1000).toFixed(1)} s, longest ${t.maxMs.toFixed(1)} ms)`,
      )
    }
    return {
      shard: exchange.shard,
      deliveries: this.#lookups.deliveries,
      tableEntries,
      leafSet,
      nodes: count,
      retainedBytes: built.retained - this.#retained0,
      buildSeconds: (built.at - this.#t0) / 1000,
      lookupSeconds: (tEnd - built.at) / 1000,
      simulatedSeconds: this.#world.clock.now() / 1000,
      metrics: this.#metrics.snapshot(),
    }
  }

  #progress(line: string): void {
    this.#post({ type: 'progress', line })
  }

  /** Wall seconds since the shard started, for progress lines. */
  #seconds(): string {
    return ((performance.now() - this.#t0) / 1000).toFixed(1)
  }
}

/** Scavenges taken together (SCAVENGE_TOGETHER_AT); without --expose-gc there is nothing to coordinate. */
class Scavenger {
  readonly #gc = (globalThis as { gc?: (o: { type: 'minor' }) => void }).gc
  readonly #newSpace = getHeapSpaceStatistics().findIndex((x) => x.space_name === 'new_space')
  /** Scavenges taken together so far. */
  count = 0
  /** The window before which the last one ran. */
  #at = 0

  /** Is the young generation full enough to ask every shard to scavenge? */
  wanted(): boolean {
    if (this.#gc === undefined || this.#newSpace < 0) return false
    const x = getHeapSpaceStatistics()[this.#newSpace]
    return x !== undefined && x.space_used_size / Math.max(1, x.space_used_size + x.space_available_size) >= SCAVENGE_TOGETHER_AT
  }

  /** Scavenges now (before window w) if a shard asked to in `report`. */
  onNews(report: WindowReport, w: number): void {
    // A request made before the last scavenge together (in the lag windows it took to act on
    // an earlier one) measured a young generation since emptied.
    if (this.#gc === undefined || report.window < this.#at || !report.news.some((x) => x.wantsScavenge)) return
    this.#gc({ type: 'minor' })
    this.count++
    this.#at = w
  }
}

/** How long this shard's windows took: those over 1 ms, and the longest. */
class WindowTimes {
  long = 0
  longMs = 0
  maxMs = 0

  note(ms: number): void {
    if (ms <= 1) return
    this.long++
    this.longMs += ms
    if (ms > this.maxMs) this.maxMs = ms
  }
}
