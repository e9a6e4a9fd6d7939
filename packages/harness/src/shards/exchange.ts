/**
 * The channel between the shards of a parallel simulation: shared memory, and a counter per shard
 * of the windows of virtual time it has finished.
 *
 * Windows are shorter than the lookahead: `lag` windows make one lookahead, so a frame sent in
 * window w arrives in window w + lag or later. A shard therefore runs window w once every other
 * shard has finished window w - lag, and reads what they sent in it then: the shards need not
 * meet at every window, and one may run up to lag - 1 windows ahead of another. A window whose
 * work lands mostly in one shard (a join's second phase, say) no longer keeps the other waiting
 * for all of it (docs/architecture.md, "Shards a window apart").
 *
 * Each shard owns an outbox of 2 * lag slots. In window w it writes its frames for other shards,
 * and a few numbers every shard needs (WindowNews), into slot w % (2 * lag), and counts w as
 * finished. Every shard reads slot w before it runs window w + lag; the owner writes that slot
 * again in window w + 2 * lag, which it starts only after every other shard finished window
 * w + lag, so after each read window w. Every shard acts on the news of window w at the start of
 * window w + lag, its own included: all see the same news at the same point of virtual time.
 */
import { availableParallelism } from 'node:os'

/** What a shard tells the others at the end of a window, besides its frames. */
export interface WindowNews {
  /** Nodes (global indices) of its own that became ready in the window. */
  ready: number[]
  /** Lookups delivered at its nodes so far. */
  delivered: number
  /** Frames its nodes sent so far. */
  sent: number
  /** It failed: every shard stops. */
  failed: boolean
  /** Its young generation is nearly full: every shard scavenges when it reads this news (shard.ts). */
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
  /** The window the news is of. */
  window: number
  news: WindowNews[]
}

const HEADER = 64
/**
 * Loads of another shard's counter before a wait sleeps. The window a shard waits for is
 * usually finished within microseconds, and a sleeping thread takes about 50 µs to wake; but with more
 * shards than cores a spinning shard holds the core the one it waits for needs, so it sleeps at once.
 */
const SPIN = 1_000_000
const FRAME_HEADER = 24
/** Control words: the abort flag, then one finished-windows counter per shard. */
const ABORT = 0

/**
 * Windows per lookahead. Two let a shard run one window ahead of another; the fourteenth session's
 * record of each window's work at 10,000 nodes says more buy little (docs/architecture.md).
 */
export const WINDOW_LAG = 2

/**
 * An error that only echoes another shard's: the shard saw another fail in its news, or was
 * aborted while waiting for one that failed. runShards reports the failure itself instead.
 */
export class ShardEcho extends Error {
  override readonly name = 'ShardEcho'
}

export interface ExchangeBuffers {
  control: SharedArrayBuffer
  outboxes: SharedArrayBuffer[]
  lag: number
}

/** Bytes per outbox slot: a window's frames between shards are a few KB; a burst must fit too. */
export const OUTBOX_SLOT_BYTES = 16 * 1024 * 1024

export function createExchangeBuffers(shards: number, lag = WINDOW_LAG, slotBytes = OUTBOX_SLOT_BYTES): ExchangeBuffers {
  if (!Number.isInteger(lag) || lag < 1) throw new RangeError(`lag is a whole number of windows, at least 1; got ${lag}`)
  return {
    control: new SharedArrayBuffer(4 * (shards + 1)),
    outboxes: Array.from({ length: shards }, () => new SharedArrayBuffer(2 * lag * slotBytes)),
    lag,
  }
}

/** Tells every shard waiting for another to give up (a shard or the main thread failed). */
export function abortExchange(buffers: ExchangeBuffers): void {
  const control = new Int32Array(buffers.control)
  Atomics.store(control, ABORT, 1)
  for (let i = 0; i < control.length; i++) Atomics.notify(control, i)
}

export class ShardExchange {
  readonly shard: number
  readonly shards: number
  /** Windows per lookahead: a frame sent in window w is read before window w + lag runs. */
  readonly lag: number
  readonly #control: Int32Array
  readonly #out: Array<{ bytes: Uint8Array; view: DataView }>
  readonly #slot: number
  readonly #slots: number
  /** The window this shard runs (or is about to). */
  #window = 0
  /** Where the next frame goes in this window's slot, and what it holds so far. */
  #offset = HEADER
  #frames = 0

  readonly #spin: number

  constructor(buffers: ExchangeBuffers, shard: number) {
    this.shard = shard
    this.#spin = buffers.outboxes.length <= availableParallelism() ? SPIN : 0
    this.shards = buffers.outboxes.length
    this.lag = buffers.lag
    this.#control = new Int32Array(buffers.control)
    this.#out = buffers.outboxes.map((b) => ({ bytes: new Uint8Array(b), view: new DataView(b) }))
    this.#slots = 2 * buffers.lag
    this.#slot = (buffers.outboxes[0]?.byteLength ?? 0) / this.#slots
  }

  /** The window this shard runs, or will run next once it has called publish. */
  get window(): number {
    return this.#window
  }

  #base(w: number): number {
    return (w % this.#slots) * this.#slot
  }

  /** Queues a frame for node `to` (global index) of another shard, due at `at`. */
  send(at: number, from: number, to: number, data: Uint8Array): void {
    const { bytes, view } = this.#out[this.shard] as { bytes: Uint8Array; view: DataView }
    const o = this.#base(this.#window) + this.#offset
    const end = this.#offset + FRAME_HEADER + ((data.length + 7) & ~7)
    if (end > this.#slot) throw new Error(`shard ${this.shard}: more than ${this.#slot} bytes of frames to other shards in one window; raise OUTBOX_SLOT_BYTES`)
    view.setFloat64(o, at, true)
    view.setUint32(o + 8, from, true)
    view.setUint32(o + 12, to, true)
    view.setUint32(o + 16, data.length, true)
    bytes.set(data, o + FRAME_HEADER)
    this.#offset = end
    this.#frames++
  }

  /** Ends the current window: publishes this shard's news and the frames sent in it. */
  publish(news: WindowNews): void {
    const me = this.#out[this.shard] as { bytes: Uint8Array; view: DataView }
    const base = this.#base(this.#window)
    const readyBytes = 4 * news.ready.length
    if (this.#offset + readyBytes > this.#slot) throw new Error(`shard ${this.shard}: more than ${this.#slot} bytes of frames and news to other shards in one window; raise OUTBOX_SLOT_BYTES`)
    // The ready list goes after the frames.
    const readyAt = this.#offset
    for (let i = 0; i < news.ready.length; i++) me.view.setUint32(base + readyAt + 4 * i, news.ready[i] as number, true)
    me.view.setUint32(base, this.#frames, true)
    me.view.setUint32(base + 4, news.ready.length, true)
    me.view.setUint32(base + 8, readyAt, true)
    me.view.setUint32(base + 12, news.failed ? 1 : 0, true)
    me.view.setFloat64(base + 16, news.delivered, true)
    me.view.setFloat64(base + 24, news.sent, true)
    me.view.setUint32(base + 32, news.wantsScavenge ? 1 : 0, true)
    this.#window++
    this.#offset = HEADER
    this.#frames = 0
    Atomics.store(this.#control, 1 + this.shard, this.#window)
    Atomics.notify(this.#control, 1 + this.shard)
  }

  /**
   * Before the current window w runs: waits until every other shard has finished window w - lag,
   * hands each frame they sent in it to `inbound` (with more than two shards, some are for a
   * third), and returns every shard's news of it. Undefined for the first lag windows, which
   * nothing was sent before.
   */
  collect(inbound: (f: InboundFrame) => void): WindowReport | undefined {
    const w = this.#window - this.lag
    if (w < 0) return undefined
    const base = this.#base(w)
    const all: WindowNews[] = []
    for (let s = 0; s < this.shards; s++) {
      if (s !== this.shard) this.#await(s, w + 1)
      const { bytes, view } = this.#out[s] as { bytes: Uint8Array; view: DataView }
      const frames = view.getUint32(base, true)
      const readies = view.getUint32(base + 4, true)
      const readyOffset = view.getUint32(base + 8, true)
      const ready = new Array<number>(readies)
      for (let i = 0; i < readies; i++) ready[i] = view.getUint32(base + readyOffset + 4 * i, true)
      all.push({
        failed: view.getUint32(base + 12, true) === 1,
        delivered: view.getFloat64(base + 16, true),
        sent: view.getFloat64(base + 24, true),
        wantsScavenge: view.getUint32(base + 32, true) === 1,
        ready,
      })
      if (s === this.shard) continue
      let o = HEADER
      for (let i = 0; i < frames; i++) {
        const len = view.getUint32(base + o + 16, true)
        // Copied out: the slot is written again lag windows on.
        const data = Buffer.allocUnsafe(len)
        data.set(bytes.subarray(base + o + FRAME_HEADER, base + o + FRAME_HEADER + len))
        inbound({ at: view.getFloat64(base + o, true), from: view.getUint32(base + o + 8, true), to: view.getUint32(base + o + 12, true), data })
        o += FRAME_HEADER + ((len + 7) & ~7)
      }
    }
    return { window: w, news: all }
  }

  /** Milliseconds spent waiting for other shards, and how many waits slept. */
  waitedMs = 0
  slept = 0
  longWaits = 0
  longWaitedMs = 0

  /** Waits until shard `s` has finished `n` windows. */
  #await(s: number, n: number): void {
    const c = this.#control
    if (Atomics.load(c, 1 + s) >= n) return
    const t = performance.now()
    try {
      this.#block(c, s, n)
    } finally {
      const d = performance.now() - t
      this.waitedMs += d
      if (d > 1) {
        this.longWaits++
        this.longWaitedMs += d
      }
    }
  }

  #block(c: Int32Array, s: number, n: number): void {
    // Shards finish their windows at about the same time: spin briefly before sleeping.
    for (let i = 0; i < this.#spin; i++) if (Atomics.load(c, 1 + s) >= n) return
    this.slept++
    for (;;) {
      const seen = Atomics.load(c, 1 + s)
      if (seen >= n) return
      if (Atomics.load(c, ABORT) !== 0) throw new ShardEcho('the parallel simulation was aborted')
      Atomics.wait(c, 1 + s, seen, 1000)
    }
  }
}
