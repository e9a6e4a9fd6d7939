import { Id } from '@epost/core'
import type { DeliveredMessage, Endpoint } from '@epost/core'
import type { SimMember, SimRing } from './sim-ring.js'

/** The test application the experiments route with: a 4-byte lookup number as payload. */
export const LOOKUP_PROTOCOL = 'epost/sim/lookup/1'

export interface LookupRecord {
  key: Id
  source: SimMember
  sentAt: number
  /** Expected root when sent (for the record; correctness is judged at delivery). */
  deliveries: number
  deliveredAt?: number
  hops?: number
  correct?: boolean
  latencyMs?: number
  directMs?: number
}

/**
 * Registers the lookup application on ring members and keeps one record per lookup: delivered
 * or not, at the right root or not (the live ready node closest to the key at delivery time),
 * hops, and the route's latency against the direct source-to-root latency.
 */
export class LookupTracker {
  readonly records: LookupRecord[] = []
  readonly #ring: SimRing
  readonly #endpoints = new Map<string, Endpoint>()
  #outstanding = 0

  constructor(ring: SimRing) {
    this.#ring = ring
  }

  attach(member: SimMember): void {
    const node = member.node
    if (this.#endpoints.has(node.localHandle.id.hex)) return
    const ep = node.register(LOOKUP_PROTOCOL, {
      deliver: (msg: DeliveredMessage) => this.#onDeliver(member, msg),
    })
    this.#endpoints.set(node.localHandle.id.hex, ep)
  }

  /** Routes one lookup for a random key from a random live ready member. */
  issue(members: readonly SimMember[]): void {
    const ring = this.#ring
    const source = ring.rng.pick(members)
    const key = Id.random((n) => ring.rng.bytes(n))
    const i = this.records.length
    this.records.push({ key, source, sentAt: ring.clock.now(), deliveries: 0 })
    this.#outstanding++
    const payload = new Uint8Array(4)
    new DataView(payload.buffer).setUint32(0, i)
    this.#endpoints.get(source.node.localHandle.id.hex)?.route(key, payload)
  }

  #onDeliver(member: SimMember, msg: DeliveredMessage): void {
    if (msg.payload.length !== 4) return
    const i = new DataView(msg.payload.buffer, msg.payload.byteOffset, 4).getUint32(0)
    const r = this.records[i]
    if (r === undefined) return
    r.deliveries++
    if (r.deliveries > 1) return
    this.#outstanding--
    const ring = this.#ring
    const root = ring.rootOf(r.key)
    r.deliveredAt = ring.clock.now()
    r.hops = msg.hops
    r.correct = root === member
    r.latencyMs = r.deliveredAt - r.sentAt
    r.directMs = ring.network.latency(r.source.node.localHandle.address, member.node.localHandle.address)
  }

  /** Lookups not yet delivered (kept as a count: simulations poll it at every instant). */
  get outstanding(): number {
    return this.#outstanding
  }

  summary(): { lookups: number; lost: number; lostSourceCrashed: number; duplicates: number } & DeliveryFigures {
    let dups = 0
    let lostSourceCrashed = 0
    const delivered: LookupRecord[] = []
    for (const r of this.records) {
      if (r.deliveries === 0) {
        if (!r.source.alive) lostSourceCrashed++
        continue
      }
      delivered.push(r)
      dups += r.deliveries - 1
    }
    const figures = deliveryFigures(delivered)
    return { lookups: this.records.length, lost: this.records.length - figures.delivered, lostSourceCrashed, duplicates: dups, ...figures }
  }
}

/** What the delivered lookups of a run add up to. */
export interface DeliveryFigures {
  delivered: number
  /** Delivered somewhere other than the correct root. */
  wrongRoot: number
  avgHops: number
  maxHops: number
  hopHistogram: Record<string, number>
  /** Mean of route latency / direct source-to-root latency, over lookups whose direct latency is known and above 0. */
  rdp: number
}

/** Adds up delivered lookups, each counted once (the single-thread tracker and the shards both report through this). */
export function deliveryFigures(delivered: Iterable<{ hops?: number; correct?: boolean; latencyMs?: number; directMs?: number }>): DeliveryFigures {
  let n = 0
  let wrong = 0
  let hopSum = 0
  let maxHops = 0
  const hist: Record<string, number> = {}
  let rdpSum = 0
  let rdpN = 0
  for (const r of delivered) {
    n++
    if (r.correct !== true) wrong++
    const h = r.hops ?? 0
    hopSum += h
    maxHops = Math.max(maxHops, h)
    hist[String(h)] = (hist[String(h)] ?? 0) + 1
    if (r.directMs !== undefined && r.directMs > 0 && r.latencyMs !== undefined) {
      rdpSum += r.latencyMs / r.directMs
      rdpN++
    }
  }
  return { delivered: n, wrongRoot: wrong, avgHops: n === 0 ? 0 : hopSum / n, maxHops, hopHistogram: hist, rdp: rdpN === 0 ? 1 : rdpSum / rdpN }
}
