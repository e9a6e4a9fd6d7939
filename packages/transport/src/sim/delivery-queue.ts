import type { Clock } from '@epost/core'

/** Frames due at one instant, in send order. Pooled, so the arrays keep their capacity. */
interface Bucket<N> {
  at: number
  readonly from: N[]
  readonly to: N[]
  readonly data: Uint8Array[]
  readonly fire: () => void
}

const FREE_BUCKETS_KEPT = 256

/**
 * Frames in flight, grouped by delivery instant: one clock timer per distinct instant rather than
 * one per frame, and no per-frame object (three array slots). Frames due at the same instant are
 * delivered in send order, so a run is a pure function of the seed.
 */
export class DeliveryQueue<N> {
  readonly #clock: Clock
  readonly #deliver: (from: N, to: N, data: Uint8Array) => void
  readonly #buckets = new Map<number, Bucket<N>>()
  readonly #free: Array<Bucket<N>> = []
  #inFlight = 0

  constructor(clock: Clock, deliver: (from: N, to: N, data: Uint8Array) => void) {
    this.#clock = clock
    this.#deliver = deliver
  }

  /** Frames scheduled and not yet delivered or dropped. */
  get inFlight(): number {
    return this.#inFlight
  }

  push(at: number, from: N, to: N, data: Uint8Array): void {
    let b = this.#buckets.get(at)
    if (b === undefined) {
      b = this.#free.pop() ?? this.#bucket()
      b.at = at
      this.#buckets.set(at, b)
      this.#clock.setTimeout(b.fire, at - this.#clock.now())
    }
    b.from.push(from)
    b.to.push(to)
    b.data.push(data)
    this.#inFlight++
  }

  #bucket(): Bucket<N> {
    const b: Bucket<N> = { at: 0, from: [], to: [], data: [], fire: () => this.#fire(b) }
    return b
  }

  #fire(b: Bucket<N>): void {
    this.#buckets.delete(b.at)
    const n = b.to.length
    try {
      for (let i = 0; i < n; i++) {
        this.#inFlight--
        this.#deliver(b.from[i] as N, b.to[i] as N, b.data[i] as Uint8Array)
      }
    } finally {
      b.from.length = 0
      b.to.length = 0
      b.data.length = 0
      if (this.#free.length < FREE_BUCKETS_KEPT) this.#free.push(b)
    }
  }
}
