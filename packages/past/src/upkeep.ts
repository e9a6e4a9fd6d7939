import { ID_BYTES, Id, inRange } from '@epost/core'
import type { BlockStore, Clock, Counter, Endpoint, KeyRange, NodeHandle, Timer } from '@epost/core'
import * as C from './constants.js'
import { addToDigest, bucketOf, differingBuckets, emptyDigest } from './digest.js'
import type { RangeDigest } from './digest.js'

/** What upkeep needs of its PAST node. */
export interface UpkeepHost {
  readonly endpoint: Endpoint
  readonly store: BlockStore
  readonly k: number
  /** Sends our digest of `range` to `peer`; resolves with the keys it holds in differing buckets. */
  sync(peer: NodeHandle, range: KeyRange, digest: RangeDigest): Promise<Id[] | undefined>
  /** Fetches a block from `peer`, verifies and stores it; resolves whether it did. */
  pull(peer: NodeHandle, key: Id): Promise<boolean>
  /** Deletes a local copy. */
  drop(key: Id): Promise<void>
}

/**
 * Keeps the k-replica invariant (PAST, FreePastry's replication manager): every round, and soon
 * after any leaf-set change, a node computes the arc of keys it must hold (those for which it is
 * among the k closest), sends each leaf-set neighbour a digest of what it holds there, and pulls
 * what a neighbour has that it lacks. Blocks outside its arc it keeps for a grace period (the new
 * replicas pull them meanwhile) and then drops. Traffic is a digest per neighbour per round plus
 * the blocks that actually moved: proportional to churn, not to the data held.
 */
export class Upkeep {
  readonly #host: UpkeepHost
  readonly #clock: Clock
  readonly #m: { rounds: Counter; pulled: Counter; dropped: Counter }
  readonly #outOfRangeSince = new Map<string, number>()
  #timer: Timer | undefined
  #soon: Timer | undefined
  #running = false
  #busy = false
  #quiet = 0
  #lastState = ''

  constructor(host: UpkeepHost, clock: Clock, m: { rounds: Counter; pulled: Counter; dropped: Counter }) {
    this.#host = host
    this.#clock = clock
    this.#m = m
  }

  start(): void {
    if (this.#running) return
    this.#running = true
    this.#schedule(C.UPKEEP_INTERVAL_MS)
  }

  stop(): void {
    this.#running = false
    this.#timer?.cancel()
    this.#soon?.cancel()
  }

  /** The leaf set changed: run a round soon (changes close together share one round). */
  poke(): void {
    if (!this.#running || this.#soon !== undefined) return
    this.#soon = this.#clock.setTimeout(() => {
      this.#soon = undefined
      void this.round(true)
    }, C.UPKEEP_DEBOUNCE_MS)
  }

  #schedule(ms: number): void {
    this.#timer = this.#clock.setTimeout(() => {
      if (!this.#running) return
      void this.round().finally(() => this.#running && this.#schedule(C.UPKEEP_INTERVAL_MS))
    }, ms)
  }

  /** One upkeep round; resolves when the pulls it started are done. `force` skips the quiet check. */
  async round(force = false): Promise<void> {
    if (this.#busy) return
    this.#busy = true
    try {
      const host = this.#host
      const ep = host.endpoint
      const range = ep.range(ep.localHandle, host.k - 1)
      if (range === undefined) return
      const mine = new Set<string>()
      const digest = emptyDigest()
      const expired: Id[] = []
      const now = this.#clock.now()
      for await (const e of host.store.scan(range)) {
        if (e.meta?.['kind'] === 'tombstone' && now - Number(e.meta['at'] ?? now) >= C.TOMBSTONE_TTL_MS) {
          expired.push(e.key)
          continue
        }
        mine.add(e.key.hex)
        addToDigest(digest, range, e.key)
      }
      // Garbage collection finishes a deletion: old tombstones go (the block they replaced is long gone).
      for (const key of expired) await host.drop(key)
      // Only the neighbours whose ranges overlap ours share keys with us.
      const peers = ep.neighborSet(64).filter((p) => {
        const r = ep.range(p, host.k - 1)
        return r === undefined || inRange(r.from, range) || inRange(range.from, r)
      })
      // Nothing changed (our keys, our range, our neighbours) since the last round: skip it,
      // except as a periodic safety net. Upkeep traffic then follows churn, not data held.
      const state = `${range.from.hex}${range.to.hex}${peers.map((p) => p.id.hex).join('')}${Buffer.from(digest.xor).toString('base64')}${digest.counts.join(',')}`
      if (!force && state === this.#lastState && ++this.#quiet < C.MAX_QUIET_ROUNDS) return
      this.#quiet = 0
      this.#lastState = state
      this.#m.rounds.inc()
      await Promise.all(
        peers.map(async (peer) => {
          const keys = await host.sync(peer, range, digest)
          for (const key of keys ?? []) {
            if (mine.has(key.hex) || !inRange(key, range)) continue
            mine.add(key.hex)
            if (await host.pull(peer, key)) this.#m.pulled.inc()
            else mine.delete(key.hex)
          }
        }),
      )
      await this.#dropOutOfRange(range)
    } finally {
      this.#busy = false
    }
  }

  async #dropOutOfRange(range: KeyRange): Promise<void> {
    const now = this.#clock.now()
    if (range.to.add(1n).equals(range.from)) return // the whole ring is ours
    const outside: KeyRange = { from: range.to.add(1n), to: range.from.add(-1n) }
    const seen = new Set<string>()
    for await (const e of this.#host.store.scan(outside)) {
      // A diverted copy is held on purpose by a node beyond the k (a replica was full).
      if (e.meta?.['diverted'] === true) continue
      seen.add(e.key.hex)
      const since = this.#outOfRangeSince.get(e.key.hex)
      if (since === undefined) this.#outOfRangeSince.set(e.key.hex, now)
      else if (now - since >= C.DROP_GRACE_MS) {
        await this.#host.drop(e.key)
        this.#outOfRangeSince.delete(e.key.hex)
        this.#m.dropped.inc()
      }
    }
    for (const k of this.#outOfRangeSince.keys()) if (!seen.has(k)) this.#outOfRangeSince.delete(k)
  }
}

/** The peer's side of a sync: its keys in `range` that fall in buckets where the digests differ. */
export async function keysToOffer(store: BlockStore, range: KeyRange, theirs: RangeDigest): Promise<Uint8Array> {
  const ours = emptyDigest()
  const keys: Id[] = []
  for await (const e of store.scan(range)) {
    addToDigest(ours, range, e.key)
    keys.push(e.key)
  }
  const diff = differingBuckets(ours, theirs)
  const offer = keys.filter((k) => diff.has(bucketOf(range, k))).slice(0, C.MAX_SYNC_KEYS)
  const out = new Uint8Array(offer.length * ID_BYTES)
  offer.forEach((k, i) => out.set(k.bytes, i * ID_BYTES))
  return out
}

export function keysFromWire(bytes: Uint8Array): Id[] {
  const out: Id[] = []
  for (let i = 0; i + ID_BYTES <= bytes.length; i += ID_BYTES) out.push(Id.fromBytes(bytes, i))
  return out
}

