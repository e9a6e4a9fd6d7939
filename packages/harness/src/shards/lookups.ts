import { Id } from '@epost/core'
import type { Clock, DeliveredMessage, Endpoint, Rng } from '@epost/core'
import type { PastryNode } from '@epost/pastry'
import type { LatencyModel, Point } from '@epost/transport/sim'
import { LOOKUP_PROTOCOL } from '../lookups.js'
import { closestOnRing } from '../ring-order.js'

/** Per first delivery at a shard: lookup number, hops, route latency, direct latency, at the right root or not, when. */
export interface ShardDeliveries {
  index: number[]
  hops: number[]
  latency: number[]
  direct: number[]
  correct: boolean[]
  at: number[]
}

/**
 * The lookups of a sharded routing run as one shard sees them. Every shard draws the whole
 * sequence (source and key of each) from the same seeded stream, so all agree on it; the shard of
 * a lookup's source routes it, and the shard where it is delivered records it against the oracle:
 * the node numerically closest to the key (no node leaves in this experiment, so that is fixed).
 */
export class ShardLookups {
  readonly deliveries: ShardDeliveries = { index: [], hops: [], latency: [], direct: [], correct: [], at: [] }
  readonly #ids: readonly Id[]
  readonly #places: readonly Point[]
  readonly #model: LatencyModel
  readonly #rng: Rng
  readonly #clock: Clock
  readonly #total: number
  readonly #keys: Id[] = []
  readonly #sources: number[] = []
  readonly #sentAt: number[] = []
  readonly #endpoints = new Map<number, Endpoint>()
  readonly #delivered = new Set<number>()
  /** Every node's id in ring order, with the node's number. */
  readonly #ring: Array<{ id: Id; index: number }>

  constructor(ids: readonly Id[], places: readonly Point[], model: LatencyModel, rng: Rng, clock: Clock, total: number) {
    this.#ids = ids
    this.#places = places
    this.#model = model
    this.#rng = rng
    this.#clock = clock
    this.#total = total
    this.#ring = ids.map((id, index) => ({ id, index })).sort((a, b) => a.id.compare(b.id))
  }

  /** Lookups delivered at this shard's nodes (first deliveries). */
  get delivered(): number {
    return this.#delivered.size
  }

  /** Routes lookups from node `index` (one of this shard's) and records those delivered at it. */
  attach(index: number, node: PastryNode): void {
    this.#endpoints.set(index, node.register(LOOKUP_PROTOCOL, { deliver: (m) => this.#onDeliver(index, m) }))
  }

  /** Draws the next `count` lookups (at most the total) and routes those whose source is here. */
  issue(count: number): void {
    const batch = Math.min(count, this.#total - this.#keys.length)
    for (let j = 0; j < batch; j++) {
      const source = this.#rng.int(this.#ids.length)
      const key = Id.random((k) => this.#rng.bytes(k))
      const idx = this.#keys.length
      this.#keys.push(key)
      this.#sources.push(source)
      this.#sentAt.push(this.#clock.now())
      const ep = this.#endpoints.get(source)
      if (ep === undefined) continue
      const payload = new Uint8Array(4)
      new DataView(payload.buffer).setUint32(0, idx)
      ep.route(key, payload)
    }
  }

  #onDeliver(at: number, msg: DeliveredMessage): void {
    if (msg.payload.length !== 4) return
    const idx = new DataView(msg.payload.buffer, msg.payload.byteOffset, 4).getUint32(0)
    if (idx >= this.#keys.length || this.#delivered.has(idx)) return
    this.#delivered.add(idx)
    const now = this.#clock.now()
    const d = this.deliveries
    d.index.push(idx)
    d.hops.push(msg.hops)
    d.latency.push(now - (this.#sentAt[idx] as number))
    d.direct.push(Math.round(this.#model.latencyMs(this.#places[this.#sources[idx] as number] as Point, this.#places[at] as Point)))
    d.correct.push(closestOnRing(this.#ring, this.#keys[idx] as Id, 1)[0]?.index === at)
    d.at.push(now)
  }
}
