import { EpostError, abortError } from './errors.js'

export interface Timer {
  cancel(): void
}

/**
 * Time as every component sees it. Production code never calls Date.now or setTimeout directly:
 * with a VirtualClock the same code runs thousands of nodes in one process, deterministically.
 */
export interface Clock {
  /** Milliseconds since an arbitrary epoch. */
  now(): number
  setTimeout(fn: () => void, ms: number): Timer
  setInterval(fn: () => void, ms: number): Timer
  /** Resolves after `ms`; rejects with EPOST_ABORTED if the signal fires first. */
  sleep(ms: number, options?: { signal?: AbortSignal }): Promise<void>
  /** A signal that aborts with EPOST_TIMEOUT after `ms` of this clock's time. */
  timeoutSignal(ms: number): AbortSignal
}

function sleepOn(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted === true) return Promise.reject(abortError(signal))
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      timer.cancel()
      reject(abortError(signal))
    }
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

function timeoutSignalOn(clock: Clock, ms: number): AbortSignal {
  const ctl = new AbortController()
  clock.setTimeout(() => ctl.abort(new EpostError('EPOST_TIMEOUT', `timed out after ${ms} ms`)), ms)
  return ctl.signal
}

/** Wall-clock time and Node's timers. Timers are unref'd so they never keep a process alive. */
export class RealClock implements Clock {
  now(): number {
    return performance.timeOrigin + performance.now()
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const t = setTimeout(fn, Math.max(0, ms))
    t.unref()
    return { cancel: () => clearTimeout(t) }
  }

  setInterval(fn: () => void, ms: number): Timer {
    const t = setInterval(fn, Math.max(1, ms))
    t.unref()
    return { cancel: () => clearInterval(t) }
  }

  sleep(ms: number, options?: { signal?: AbortSignal }): Promise<void> {
    return sleepOn(this, ms, options?.signal)
  }

  timeoutSignal(ms: number): AbortSignal {
    return timeoutSignalOn(this, ms)
  }
}

function noop(): void {}

/** The heap is compacted only past this many cancelled timers (small heaps are cheap anyway). */
const COMPACT_MIN = 4096

/**
 * A timer in the queue, and the handle its creator cancels it by: one object per timer (a
 * simulation makes millions, mostly timeouts that get cancelled).
 */
class Scheduled implements Timer {
  at: number
  seq: number
  fn: () => void
  /** Will not fire again: cancelled, or a one-shot timer that fired. */
  done = false
  readonly interval: number
  readonly #onCancel: () => void

  constructor(at: number, seq: number, fn: () => void, interval: number, onCancel: () => void) {
    this.at = at
    this.seq = seq
    this.fn = fn
    this.interval = interval
    this.#onCancel = onCancel
  }

  cancel(): void {
    if (this.done) return
    // The entry stays in the heap until its time comes (or the heap is compacted); what the
    // callback holds need not.
    this.done = true
    this.fn = noop
    this.#onCancel()
  }
}

/**
 * Simulated time with a deterministic timer queue: timers fire in (time, insertion order).
 * `advance`/`runFor`/`runUntilIdle` fire timers and let promise continuations settle between
 * instants, so async production code behaves as it would in real time.
 */
export class VirtualClock implements Clock {
  #now: number
  #seq = 0
  readonly #heap = new TimerHeap()
  /** Cancelled timers still in the heap (they leave it at their time, or when it is compacted). */
  #cancelled = 0
  /** Timers fired so far (a measure of simulated work). */
  fired = 0
  readonly #resolution: number

  /**
   * `resolutionMs`: timers fire on this grid of virtual time, at the first grid instant at or
   * after their due time (never early), as Node's own timers count whole milliseconds. Timers due
   * within one grid step then fire in one instant, which a large simulation runs far fewer of.
   * 0 (the default) fires each timer at its exact time.
   */
  constructor(startMs = 0, options: { resolutionMs?: number } = {}) {
    this.#now = startMs
    const r = options.resolutionMs ?? 0
    if (!(r >= 0 && Number.isFinite(r))) throw new RangeError(`resolutionMs must be a finite number >= 0, got ${r}`)
    this.#resolution = r
  }

  now(): number {
    return this.#now
  }

  /** Timers scheduled and not cancelled. */
  get pending(): number {
    return this.#heap.size - this.#cancelled
  }

  setTimeout(fn: () => void, ms: number): Timer {
    return this.#schedule(fn, Math.max(0, ms), 0)
  }

  setInterval(fn: () => void, ms: number): Timer {
    return this.#schedule(fn, Math.max(1, ms), Math.max(1, ms))
  }

  sleep(ms: number, options?: { signal?: AbortSignal }): Promise<void> {
    return sleepOn(this, ms, options?.signal)
  }

  timeoutSignal(ms: number): AbortSignal {
    return timeoutSignalOn(this, ms)
  }

  /** Fires every timer due within the next `ms` and leaves the clock at now + ms. */
  async advance(ms: number): Promise<void> {
    await this.runUntil(this.#now + ms)
  }

  async runUntil(target: number): Promise<void> {
    await this.#fireWhile((at) => at <= target)
    if (target > this.#now) this.#now = target
    await flushMicrotasks()
  }

  /** Runs until `predicate()` holds or `maxMs` of simulated time has passed; returns whether it held. */
  async runUntilTrue(predicate: () => boolean, maxMs: number): Promise<boolean> {
    const deadline = this.#now + maxMs
    for (;;) {
      await flushMicrotasks()
      if (predicate()) return true
      const top = this.#peek()
      if (top === undefined || top.at > deadline) {
        this.#now = Math.max(this.#now, deadline)
        return predicate()
      }
      this.#fireInstant(top.at)
    }
  }

  /**
   * Fires every timer due strictly before `limit` (and those their callbacks add before it),
   * letting promise continuations settle, without moving the clock past the last one fired: a
   * parallel simulator's window, after which frames from other shards may still arrive at any
   * time from `limit` on.
   */
  runBefore(limit: number): Promise<void> {
    return this.#fireWhile((at) => at < limit)
  }

  /** Fires instant after instant while the next timer is `due`, letting continuations settle between them. */
  async #fireWhile(due: (at: number) => boolean): Promise<void> {
    for (;;) {
      await flushMicrotasks()
      const top = this.#peek()
      if (top === undefined || !due(top.at)) return
      this.#fireInstant(top.at)
    }
  }

  /** When the earliest pending timer is due (Infinity when none is). */
  nextAt(): number {
    return this.#peek()?.at ?? Infinity
  }

  #fireInstant(at: number): void {
    this.#now = at
    // Fire everything due at this instant that was scheduled before we started; timers added
    // with delay 0 by these callbacks run in the next round, after microtasks settle.
    const limit = this.#seq
    for (;;) {
      const top = this.#peek()
      if (top === undefined || top.at !== at || top.seq >= limit) break
      this.#heap.pop()
      if (top.interval > 0) {
        top.at = this.#due(top.at, top.interval)
        top.seq = this.#seq++
        this.#heap.push(top)
      } else {
        // Out of the heap for good: a later cancel() has nothing to drop.
        top.done = true
      }
      this.fired++
      top.fn()
    }
  }

  #peek(): Scheduled | undefined {
    const h = this.#heap
    while (h.size > 0 && h.top().done) {
      h.pop()
      this.#cancelled--
    }
    return h.size > 0 ? h.top() : undefined
  }

  /** When a timer set now for `delay` ms fires: on the grid, if the clock has one. */
  #due(from: number, delay: number): number {
    const r = this.#resolution
    return r === 0 ? from + delay : Math.ceil((from + delay) / r) * r
  }

  #schedule(fn: () => void, delay: number, interval: number): Timer {
    const s = new Scheduled(this.#due(this.#now, delay), this.#seq++, fn, interval, this.#onCancel)
    this.#heap.push(s)
    return s
  }

  /** A timer was cancelled (Scheduled.cancel): one function for all of them. */
  readonly #onCancel = (): void => {
    if (++this.#cancelled > COMPACT_MIN && this.#cancelled * 2 > this.#heap.size) this.#compact()
  }

  /**
   * Drops cancelled timers once they are most of the heap (most timers are timeouts that get
   * cancelled: hop acks, probe replies), so the heap holds what can still fire.
   */
  #compact(): void {
    this.#heap.keep((s) => !s.done)
    this.#cancelled = 0
  }
}

/**
 * The timers in order of (at, seq): a 4-ary min-heap whose keys sit in flat Float64Arrays beside
 * the entries. Comparing keys reads no timer object, and a node's four children share a cache
 * line, so a big simulation (tens of thousands of pending timers) takes one cache miss per level
 * instead of two per child; and a 4-ary heap has half the levels of a binary one.
 */
class TimerHeap {
  size = 0
  #at = new Float64Array(1024)
  #seq = new Float64Array(1024)
  #items: Array<Scheduled | undefined> = new Array<Scheduled | undefined>(1024).fill(undefined)

  /** The earliest entry; only when size > 0. */
  top(): Scheduled {
    return this.#items[0] as Scheduled
  }

  push(s: Scheduled): void {
    if (this.size === this.#at.length) this.#grow()
    let i = this.size++
    const at = s.at
    const seq = s.seq
    const ats = this.#at
    const seqs = this.#seq
    const items = this.#items
    while (i > 0) {
      const p = (i - 1) >> 2
      const pa = ats[p] as number
      if (pa < at || (pa === at && (seqs[p] as number) < seq)) break
      ats[i] = pa
      seqs[i] = seqs[p] as number
      items[i] = items[p]
      i = p
    }
    ats[i] = at
    seqs[i] = seq
    items[i] = s
  }

  /** Removes the earliest entry (size must be > 0). */
  pop(): void {
    const n = --this.size
    const ats = this.#at
    const seqs = this.#seq
    const items = this.#items
    const at = ats[n] as number
    const seq = seqs[n] as number
    const last = items[n]
    items[n] = undefined
    if (n === 0) return
    let i = 0
    for (;;) {
      const first = 4 * i + 1
      if (first >= n) break
      let m = first
      let ma = ats[first] as number
      let ms = seqs[first] as number
      const end = Math.min(first + 4, n)
      for (let c = first + 1; c < end; c++) {
        const ca = ats[c] as number
        if (ca < ma || (ca === ma && (seqs[c] as number) < ms)) {
          m = c
          ma = ca
          ms = seqs[c] as number
        }
      }
      if (at < ma || (at === ma && seq < ms)) break
      ats[i] = ma
      seqs[i] = ms
      items[i] = items[m]
      i = m
    }
    ats[i] = at
    seqs[i] = seq
    items[i] = last
  }

  /** Keeps the entries `keep` accepts (sorted, which is a valid heap). */
  keep(keep: (s: Scheduled) => boolean): void {
    const kept: Scheduled[] = []
    for (let i = 0; i < this.size; i++) {
      const s = this.#items[i] as Scheduled
      if (keep(s)) kept.push(s)
    }
    kept.sort((a, b) => a.at - b.at || a.seq - b.seq)
    this.#items.fill(undefined, 0, this.size)
    this.size = kept.length
    for (let i = 0; i < kept.length; i++) {
      const s = kept[i] as Scheduled
      this.#at[i] = s.at
      this.#seq[i] = s.seq
      this.#items[i] = s
    }
  }

  #grow(): void {
    const cap = 2 * this.#at.length
    const at = new Float64Array(cap)
    at.set(this.#at)
    const seq = new Float64Array(cap)
    seq.set(this.#seq)
    this.#at = at
    this.#seq = seq
    this.#items.length = cap
    this.#items.fill(undefined, this.size)
  }
}

/** Microtask turns given to promise continuations after each instant. */
const SETTLE_TURNS = 8
/** Every this many instants, yield a full macrotask turn as well (lets I/O and timers of the host run). */
const MACROTASK_EVERY = 256
let instants = 0

/**
 * Lets promise continuations queued by the timers just fired run before time moves on: a few
 * microtask turns (chains deeper than that finish during the next instant, still in a
 * deterministic order), and now and then a real macrotask turn. Much cheaper than one
 * setImmediate per instant, which dominated large simulations.
 */
const RESOLVED = Promise.resolve()

export async function flushMicrotasks(): Promise<void> {
  // Awaiting one settled promise allocates less than `await undefined`, which wraps each time.
  for (let i = 0; i < SETTLE_TURNS; i++) await RESOLVED
  if (++instants % MACROTASK_EVERY === 0) await new Promise<void>((resolve) => setImmediate(resolve))
}
