import type { Clock, Id, NodeHandle } from '@epost/core'
import { MAX_TRACKED_PEERS, RTO_INITIAL_MS, RTO_MAX_MS, RTO_MIN_MS } from './constants.js'

export type PeerStatus = 'alive' | 'suspected' | 'dead'

/**
 * One per peer, and a node tracks hundreds: every field is set in the constructor, and srtt is
 * NaN (not undefined) until measured, so each numeric field keeps one representation and V8
 * updates it in place.
 */
class PeerState {
  readonly id: Id
  handle: NodeHandle
  status: PeerStatus = 'alive'
  /** Smoothed RTT and its variation (RFC 6298); srtt is NaN until first measured. */
  srtt = Number.NaN
  rttvar = 0
  lastHeard = -Infinity
  deadAt = -Infinity

  constructor(handle: NodeHandle) {
    this.handle = handle
    this.id = handle.id
  }
}

export interface LivenessOptions {
  rtoInitialMs: number
  rtoMinMs: number
  rtoMaxMs: number
}

/**
 * What this node believes about each peer it has talked to: alive, suspected (a probe or hop went
 * unanswered), or dead; and the measured round trip that drives timeouts and proximity choices.
 */
export class Liveness {
  readonly #clock: Clock
  readonly #peers = new IdMap<PeerState>((p) => p.id)
  /** The peer looked up last: a frame's handling asks about its sender several times in a row. */
  #last: PeerState | undefined
  readonly #opts: LivenessOptions
  #deaths = 0
  /** (id, address) pairs that failed authentication: someone gave us a handle that lies. */
  readonly #forged = new Set<string>()

  constructor(clock: Clock, opts: Partial<LivenessOptions> = {}) {
    this.#clock = clock
    this.#opts = {
      rtoInitialMs: opts.rtoInitialMs ?? RTO_INITIAL_MS,
      rtoMinMs: opts.rtoMinMs ?? RTO_MIN_MS,
      rtoMaxMs: opts.rtoMaxMs ?? RTO_MAX_MS,
    }
  }

  #find(id: Id): PeerState | undefined {
    const last = this.#last
    if (last !== undefined && last.id === id) return last
    const p = this.#peers.get(id)
    if (p !== undefined) this.#last = p
    return p
  }

  #get(h: NodeHandle): PeerState {
    let p = this.#find(h.id)
    if (p === undefined) {
      if (this.#peers.size >= MAX_TRACKED_PEERS) this.#evictOne()
      p = new PeerState(h)
      this.#peers.set(h.id, p)
      this.#last = p
    }
    return p
  }

  #evictOne(): void {
    let oldest: PeerState | undefined
    for (const p of this.#peers.values()) if (oldest === undefined || p.lastHeard < oldest.lastHeard) oldest = p
    if (oldest === undefined) return
    this.#peers.delete(oldest.id)
    if (this.#last === oldest) this.#last = undefined
  }

  status(id: Id): PeerStatus | undefined {
    return this.#find(id)?.status
  }

  /** Neither suspected nor dead. */
  usable(id: Id): boolean {
    const s = this.#find(id)?.status
    return s === undefined || s === 'alive'
  }

  /** Was declared dead less than `ms` ago. */
  deadWithin(id: Id, ms: number): boolean {
    const p = this.#find(id)
    return p !== undefined && p.status === 'dead' && this.#clock.now() - p.deadAt < ms
  }

  /** When a frame last came from `id` (-Infinity if never). */
  lastHeard(id: Id): number {
    return this.#find(id)?.lastHeard ?? -Infinity
  }

  rtt(id: Id): number | undefined {
    const srtt = this.#find(id)?.srtt
    return srtt === undefined || Number.isNaN(srtt) ? undefined : srtt
  }

  /** Retransmission timeout toward `id` (srtt + 4 rttvar, bounded). */
  rto(id: Id): number {
    const p = this.#find(id)
    if (p === undefined || Number.isNaN(p.srtt)) return this.#opts.rtoInitialMs
    return Math.min(this.#opts.rtoMaxMs, Math.max(this.#opts.rtoMinMs, p.srtt + 4 * p.rttvar))
  }

  /** A frame came from `h` over an authenticated connection: it is alive. Returns whether it was not. */
  heard(h: NodeHandle): boolean {
    const p = this.#get(h)
    const revived = p.status !== 'alive'
    p.status = 'alive'
    p.lastHeard = this.#clock.now()
    return revived
  }

  observeRtt(h: NodeHandle, rtt: number): void {
    const p = this.#get(h)
    if (Number.isNaN(p.srtt)) {
      p.srtt = rtt
      p.rttvar = rtt / 2
    } else {
      p.rttvar = 0.75 * p.rttvar + 0.25 * Math.abs(p.srtt - rtt)
      p.srtt = 0.875 * p.srtt + 0.125 * rtt
    }
  }

  /**
   * The transport found that `h.address` does not belong to `h.id`: the handle is forged (or
   * stale). The pair is never used again, and nothing that happens to it (silence, failed
   * probes) counts against the node that really has that id.
   */
  markForged(h: NodeHandle): void {
    if (this.#forged.size >= MAX_TRACKED_PEERS) this.#forged.clear()
    this.#forged.add(handleKey(h))
  }

  forged(h: NodeHandle): boolean {
    return this.#forged.size > 0 && this.#forged.has(handleKey(h))
  }

  suspect(h: NodeHandle): void {
    if (this.forged(h)) return
    const p = this.#get(h)
    if (p.status === 'alive') p.status = 'suspected'
  }

  markDead(h: NodeHandle): void {
    if (this.forged(h)) return
    const p = this.#get(h)
    this.#deaths++
    p.status = 'dead'
    p.deadAt = this.#clock.now()
  }

  /** Peers declared dead, most recent first (partition healing probes these). */
  dead(limit: number): NodeHandle[] {
    return [...this.#peers.values()]
      .filter((p) => p.status === 'dead')
      .sort((a, b) => b.deadAt - a.deadAt)
      .slice(0, limit)
      .map((p) => p.handle)
  }

  /** Peers declared dead so far (a count that only grows). */
  get deaths(): number {
    return this.#deaths
  }

  get tracked(): number {
    return this.#peers.size
  }
}

/** A handle's identity as a map key: its id and address together (a forged handle shares only the id). */
export function handleKey(h: NodeHandle): string {
  return `${h.id.hex}@${h.address}`
}

/**
 * A map keyed by id, found by the id's fingerprint: a small-integer Map key that V8 hashes without
 * reading the id's hex string (in a big simulation each such read is a cache miss). The value's
 * own id (`idOf`) is checked on every hit, usually the same Id object; an id whose key another
 * id already holds is kept apart, by hex.
 */
export class IdMap<V> {
  readonly #idOf: (v: V) => Id
  readonly #byKey = new Map<number, V>()
  readonly #collided = new Map<string, V>()

  constructor(idOf: (v: V) => Id) {
    this.#idOf = idOf
  }

  get size(): number {
    return this.#byKey.size + this.#collided.size
  }

  /** Entries kept by hex string because another id has their key (rare: ids differ in their fingerprints). */
  get collided(): number {
    return this.#collided.size
  }

  get(id: Id): V | undefined {
    const v = this.#byKey.get(idKey(id))
    if (v !== undefined && this.#idOf(v).equals(id)) return v
    return this.#collided.size === 0 ? undefined : this.#collided.get(id.hex)
  }

  /** Sets the value for `id`, which must be the value's own id. */
  set(id: Id, value: V): void {
    const key = idKey(id)
    const v = this.#byKey.get(key)
    // An id kept among the collided stays there (one place per id).
    if ((v === undefined && (this.#collided.size === 0 || !this.#collided.has(id.hex))) || (v !== undefined && this.#idOf(v).equals(id))) this.#byKey.set(key, value)
    else this.#collided.set(id.hex, value)
  }

  delete(id: Id): void {
    const key = idKey(id)
    const v = this.#byKey.get(key)
    if (v !== undefined && this.#idOf(v).equals(id)) this.#byKey.delete(key)
    else this.#collided.delete(id.hex)
  }

  *values(): IterableIterator<V> {
    yield* this.#byKey.values()
    yield* this.#collided.values()
  }
}

/**
 * A map keyed by handle (id and address together, as handleKey): by id first, since nearly every
 * id comes with one address, so a lookup builds no key string; a second address for an id (a
 * forged handle, or a restarted node) gets a slot of its own.
 */
export class HandleMap<V> {
  readonly #byId = new IdMap<{ id: Id; address: string; value: V }>((e) => e.id)
  readonly #others = new Map<string, V>()

  get(h: NodeHandle): V | undefined {
    const e = this.#byId.get(h.id)
    if (e !== undefined && e.address === h.address) return e.value
    return this.#others.size === 0 ? undefined : this.#others.get(handleKey(h))
  }

  has(h: NodeHandle): boolean {
    return this.get(h) !== undefined
  }

  set(h: NodeHandle, value: V): void {
    const e = this.#byId.get(h.id)
    if (e !== undefined && e.address === h.address) e.value = value
    // A handle already kept among the others stays there (one place per handle).
    else if (e === undefined && (this.#others.size === 0 || !this.#others.has(handleKey(h)))) this.#byId.set(h.id, { id: h.id, address: h.address, value })
    else this.#others.set(handleKey(h), value)
  }

  delete(h: NodeHandle): void {
    const e = this.#byId.get(h.id)
    if (e !== undefined && e.address === h.address) this.#byId.delete(h.id)
    else this.#others.delete(handleKey(h))
  }
}

/** The id's fingerprint (its top FINGERPRINT_BITS bits, a small integer): an IdMap's key (two ids may share it). */
function idKey(id: Id): number {
  return id.fingerprint
}

