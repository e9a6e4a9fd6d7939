/**
 * The channel between the shards of a parallel simulation: shared memory and one barrier per
 * window of virtual time.
 *
 * Each shard owns an outbox in two halves. In window w it writes its frames for other shards, and
 * a few numbers every shard needs (WindowNews), into half w % 2, publishes w, and waits until
 * every other shard has published w; then it reads their halves. One barrier a window suffices:
 * a shard writes half w % 2 again only in window w + 2, after every other shard published w + 1,
 * which each did only after reading window w.
 */
import { availableParallelism } from 'node:os'

/** What a shard tells the others at the end of a window, besides its frames. */
export interface WindowNews {
  /** Its earliest pending timer (Infinity: none). */
  nextLocal: number
  /** Nodes (global indices) of its own that became ready in the window. */
  ready: number[]
  /** Lookups delivered at its nodes so far. */
  delivered: number
  /** Frames its nodes sent so far. */
  sent: number
  /** It failed: every shard stops. */
  failed: boolean
  /** Its young generation is nearly full: every shard scavenges at this barrier (shard.ts). */
  wantsScavenge: boolean
}

/** A frame from another shard. */
export interface InboundFrame {
  at: number
  from: number
  to: number
  data: Uint8Array
}

/** What every shard published for one window, in shard order. */
export interface WindowReport {
  news: WindowNews[]
  /** Earliest arrival of any frame sent between shards in the window (Infinity: none). */
  minArrival: number
}

const HEADER = 64
/**
 * Loads of another shard's counter before a barrier sleeps. Shards reach barriers within
 * microseconds of each other, and a sleeping thread takes about 50 µs to wake; but with more
 * shards than cores a spinning shard holds the core the one it waits for needs, so it sleeps at once.
 */
const SPIN = 1_000_000
const FRAME_HEADER = 24
/** Control words: one published-window counter per shard, then the abort flag. */
const ABORT = 0

export interface ExchangeBuffers {
  control: SharedArrayBuffer
  outboxes: SharedArrayBuffer[]
}

/** Bytes per outbox half: a window's frames between shards are a few KB; a burst must fit too. */
export const OUTBOX_HALF_BYTES = 32 * 1024 * 1024

export function createExchangeBuffers(shards: number, halfBytes = OUTBOX_HALF_BYTES): ExchangeBuffers {
  return {
    control: new SharedArrayBuffer(4 * (shards + 1)),
    outboxes: Array.from({ length: shards }, () => new SharedArrayBuffer(2 * halfBytes)),
  }
}

/** Tells every shard waiting at a barrier to give up (a shard or the main thread failed). */
export function abortExchange(buffers: ExchangeBuffers): void {
  const control = new Int32Array(buffers.control)
  Atomics.store(control, ABORT, 1)
  for (let i = 0; i < control.length; i++) Atomics.notify(control, i)
}

export class ShardExchange {
  readonly shard: number
  readonly shards: number
  readonly #control: Int32Array
  readonly #out: Array<{ bytes: Uint8Array; view: DataView }>
  readonly #half: number
  #window = 0
  /** Where the next frame goes in this window's half, and what it holds so far. */
  #offset = HEADER
  #frames = 0
  #minArrival = Infinity

  readonly #spin: number

  constructor(buffers: ExchangeBuffers, shard: number) {
    this.shard = shard
    this.#spin = buffers.outboxes.length <= availableParallelism() ? SPIN : 0
    this.shards = buffers.outboxes.length
    this.#control = new Int32Array(buffers.control)
    this.#out = buffers.outboxes.map((b) => ({ bytes: new Uint8Array(b), view: new DataView(b) }))
    this.#half = (buffers.outboxes[0]?.byteLength ?? 0) / 2
  }

  get #base(): number {
    return ((this.#window + 1) & 1) * this.#half
  }

  /** Queues a frame for node `to` (global index) of another shard, due at `at`. */
  send(at: number, from: number, to: number, data: Uint8Array): void {
    const { bytes, view } = this.#out[this.shard] as { bytes: Uint8Array; view: DataView }
    const o = this.#base + this.#offset
    const end = this.#offset + FRAME_HEADER + ((data.length + 7) & ~7)
    if (end > this.#half) throw new Error(`shard ${this.shard}: more than ${this.#half} bytes of frames to other shards in one window; raise OUTBOX_HALF_BYTES`)
    view.setFloat64(o, at, true)
    view.setUint32(o + 8, from, true)
    view.setUint32(o + 12, to, true)
    view.setUint32(o + 16, data.length, true)
    bytes.set(data, o + FRAME_HEADER)
    this.#offset = end
    this.#frames++
    if (at < this.#minArrival) this.#minArrival = at
  }

  /**
   * Ends the window: publishes this shard's news and frames, waits for every other shard's, and
   * hands each frame the others sent to `inbound` (with more than two shards, some are for a third).
   */
  exchange(news: WindowNews, inbound: (f: InboundFrame) => void): WindowReport {
    const w = this.#window + 1
    const me = this.#out[this.shard] as { bytes: Uint8Array; view: DataView }
    const base = this.#base
    const readyBytes = 4 * news.ready.length
    if (this.#offset + readyBytes > this.#half) throw new Error(`shard ${this.shard}: more than ${this.#half} bytes of frames and news to other shards in one window; raise OUTBOX_HALF_BYTES`)
    // The ready list goes after the frames.
    const readyAt = this.#offset
    for (let i = 0; i < news.ready.length; i++) me.view.setUint32(base + readyAt + 4 * i, news.ready[i] as number, true)
    me.view.setUint32(base, this.#frames, true)
    me.view.setUint32(base + 4, news.ready.length, true)
    me.view.setUint32(base + 8, readyAt, true)
    me.view.setUint32(base + 12, news.failed ? 1 : 0, true)
    me.view.setFloat64(base + 16, news.nextLocal, true)
    me.view.setFloat64(base + 24, this.#minArrival, true)
    me.view.setFloat64(base + 32, news.delivered, true)
    me.view.setFloat64(base + 40, news.sent, true)
    me.view.setUint32(base + 48, news.wantsScavenge ? 1 : 0, true)
    Atomics.store(this.#control, 1 + this.shard, w)
    Atomics.notify(this.#control, 1 + this.shard)

    const all: WindowNews[] = []
    let minArrival = Infinity
    for (let s = 0; s < this.shards; s++) {
      if (s !== this.shard) this.#await(s, w)
      const { bytes, view } = this.#out[s] as { bytes: Uint8Array; view: DataView }
      const frames = view.getUint32(base, true)
      const readies = view.getUint32(base + 4, true)
      const readyOffset = view.getUint32(base + 8, true)
      const ready = new Array<number>(readies)
      for (let i = 0; i < readies; i++) ready[i] = view.getUint32(base + readyOffset + 4 * i, true)
      all.push({
        failed: view.getUint32(base + 12, true) === 1,
        nextLocal: view.getFloat64(base + 16, true),
        delivered: view.getFloat64(base + 32, true),
        sent: view.getFloat64(base + 40, true),
        wantsScavenge: view.getUint32(base + 48, true) === 1,
        ready,
      })
      const m = view.getFloat64(base + 24, true)
      if (m < minArrival) minArrival = m
      if (s === this.shard) continue
      let o = HEADER
      for (let i = 0; i < frames; i++) {
        const len = view.getUint32(base + o + 16, true)
        // Copied out: the half is written again two windows on.
        const data = Buffer.allocUnsafe(len)
        data.set(bytes.subarray(base + o + FRAME_HEADER, base + o + FRAME_HEADER + len))
        inbound({ at: view.getFloat64(base + o, true), from: view.getUint32(base + o + 8, true), to: view.getUint32(base + o + 12, true), data })
        o += FRAME_HEADER + ((len + 7) & ~7)
      }
    }
    this.#window = w
    this.#offset = HEADER
    this.#frames = 0
    this.#minArrival = Infinity
    return { news: all, minArrival }
  }

  /** Milliseconds spent waiting for other shards at barriers, and how many barriers slept. */
  waitedMs = 0
  slept = 0
  longWaits = 0
  longWaitedMs = 0

  #await(s: number, w: number): void {
    const c = this.#control
    if (Atomics.load(c, 1 + s) >= w) return
    const t = performance.now()
    try {
      this.#block(c, s, w)
    } finally {
      const d = performance.now() - t
      this.waitedMs += d
      if (d > 1) {
        this.longWaits++
        this.longWaitedMs += d
      }
    }
  }

  #block(c: Int32Array, s: number, w: number): void {
    // Shards finish their windows at about the same time: spin briefly before sleeping.
    for (let i = 0; i < this.#spin; i++) if (Atomics.load(c, 1 + s) >= w) return
    this.slept++
    for (;;) {
      const seen = Atomics.load(c, 1 + s)
      if (seen >= w) return
      if (Atomics.load(c, ABORT) !== 0) throw new Error('the parallel simulation was aborted')
      Atomics.wait(c, 1 + s, seen, 1000)
    }
  }
}
