import type { Id } from '@epost/core'
import type { Admission, Connection } from './connection.js'

export interface PoolEvents {
  /** `loser` lost the one-connection-per-pair rule to `winner`; close it. */
  replaced(loser: Connection, winner: Connection): void
  /** `victim` was the least recently used idle connection and made room; close it. */
  evicted(victim: Connection): void
}

/**
 * The authenticated connections, at most one per peer and at most `maxConns` in all.
 *
 * - One per pair: when a second connection to a peer authenticates (both nodes dialed at once),
 *   both ends keep the one dialed by the node with the smaller id (ties: the newer one), so they
 *   agree without talking about it.
 * - Cap: admitting beyond `maxConns` evicts the least recently used idle connection (nothing
 *   queued, nobody waiting to send); if every connection is busy, the new one is refused
 *   (EPOST_TRANSPORT_CONN_LIMIT for a dial, close code 4005 for an inbound peer).
 * - Addresses: where each peer is, for the PEER_MISMATCH check. A dialed address is verified by
 *   the handshake; an inbound peer's address is its own (signed) claim and yields to a dialed one.
 */
export class Pool {
  readonly #maxConns: number
  readonly #events: PoolEvents
  readonly #byId = new Map<string, Connection>()
  readonly #byAddress = new Map<string, Connection>()

  constructor(maxConns: number, events: PoolEvents) {
    this.#maxConns = maxConns
    this.#events = events
  }

  get size(): number {
    return this.#byId.size
  }

  get(id: Id): Connection | undefined {
    return this.#byId.get(id.hex)
  }

  /** The connection whose peer is (or claims to be) at `address`, and whether that is verified. */
  atAddress(address: string): Connection | undefined {
    return this.#byAddress.get(address)
  }

  connections(): IterableIterator<Connection> {
    return this.#byId.values()
  }

  /** Could one more connection be admitted now (room, or an idle one to evict)? */
  hasRoom(): boolean {
    return this.#byId.size < this.#maxConns || this.#lruIdle(undefined) !== undefined
  }

  admit(conn: Connection): Admission {
    const peer = conn.peer
    if (peer === undefined) return 'duplicate'
    const key = peer.id.hex
    let existing = this.#byId.get(key)
    if (existing !== undefined && !existing.isOpen) {
      // Closing already (its close event is on the way): it does not count as held.
      this.#remove(existing)
      existing = undefined
    }
    if (existing !== undefined && existing !== conn) {
      if (!prefer(conn, existing, peer.id)) return 'duplicate'
      this.#remove(existing)
      this.#insert(key, conn)
      this.#events.replaced(existing, conn)
      return 'kept'
    }
    if (this.#byId.size >= this.#maxConns) {
      const victim = this.#lruIdle(conn)
      if (victim === undefined) return 'full'
      this.#remove(victim)
      this.#events.evicted(victim)
    }
    this.#insert(key, conn)
    return 'kept'
  }

  /** Forgets a connection that closed (no-op if it had been replaced already). */
  remove(conn: Connection): void {
    this.#remove(conn)
  }

  #insert(key: string, conn: Connection): void {
    this.#byId.set(key, conn)
    const address = conn.claimedAddress()
    const there = this.#byAddress.get(address)
    if (there === undefined || !there.outbound || conn.outbound) this.#byAddress.set(address, conn)
  }

  #remove(conn: Connection): void {
    const peer = conn.peer
    if (peer !== undefined && this.#byId.get(peer.id.hex) === conn) this.#byId.delete(peer.id.hex)
    const address = conn.claimedAddress()
    if (this.#byAddress.get(address) === conn) this.#byAddress.delete(address)
  }

  #lruIdle(except: Connection | undefined): Connection | undefined {
    let best: Connection | undefined
    for (const c of this.#byId.values()) {
      if (c === except || !c.idle) continue
      if (best === undefined || c.lastActivityMs < best.lastActivityMs) best = c
    }
    return best
  }
}

/**
 * Should `fresh` replace `held` (both to the same peer)? Keep the one dialed by the smaller id;
 * if the same node dialed both, the newer one (the older is probably half-dead).
 */
function prefer(fresh: Connection, held: Connection, peer: Id): boolean {
  const dialerOf = (c: Connection): 'us' | 'peer' => (c.outbound ? 'us' : 'peer')
  if (dialerOf(fresh) === dialerOf(held)) return true
  // Different dialers: we dialed one, the peer the other. `weAreSmaller` is the same question
  // asked from either end, so both ends pick the same connection.
  const weAreSmaller = fresh.localId.compare(peer) < 0
  const freshDialedBySmaller = fresh.outbound === weAreSmaller
  return freshDialedBySmaller
}
