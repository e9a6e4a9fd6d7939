import { handleToWire } from '@epost/core'
import type { Application, Clock, Counter, Id, Logger, NodeHandle, Timer } from '@epost/core'
import * as C from './constants.js'
import type { LeafSet } from './leaf-set.js'
import type { Liveness } from './liveness.js'
import type { MessageBody, PastryMessageName } from './messages.js'

/** What the router needs of its node. */
export interface RouterHost {
  readonly localHandle: NodeHandle
  readonly leafSet: LeafSet
  readonly liveness: Liveness
  readonly ready: boolean
  readonly running: boolean
  nextHop(key: Id, exclude?: ReadonlySet<string>): NodeHandle | undefined
  application(protocol: string): Application | undefined
  check(h: NodeHandle, wantLeafSet: boolean, reason: string): Promise<MessageBody<'probeReply'> | undefined>
  sendControl<N extends PastryMessageName>(to: NodeHandle, name: N, body: unknown, onFail?: () => void): void
}

export interface RouterCounters {
  sent: Counter
  forwarded: Counter
  delivered: Counter
  rerouted: Counter
  dropped: Counter
  held: Counter
}

/** A routed message as it travels. */
export interface RoutedMessage {
  key: Id
  source: NodeHandle
  hops: number
  app: string
  payload: Uint8Array
  /** The node this hop got it from. */
  from: NodeHandle
  /** When this node got it (held messages time out from here). */
  at: number
}

interface Custody {
  msg: RoutedMessage
  hop: NodeHandle
  attempts: number
  /** Hops this message failed at (made at the first failure: most messages never fail). */
  tried: Set<string> | undefined
  timer: Timer
}

/**
 * Moves routed messages hop by hop with per-hop acknowledgements (MSPastry): a node keeps custody
 * of a message until the next hop acks it; a silent intermediate hop is routed around at once,
 * a silent root only once the liveness check declares it dead (so a slow root never gives its key
 * a second root). A node that is not yet ready holds what it would be root for.
 */
export class Router {
  readonly #host: RouterHost
  readonly #clock: Clock
  readonly #m: RouterCounters
  readonly #log: Logger
  /** Applications delivered to even before this node is ready (the join: whoever is root answers). */
  readonly #unheld: ReadonlySet<string>
  readonly #custody = new Map<number, Custody>()
  readonly #held: RoutedMessage[] = []
  /** Held messages released for an application not registered yet (it registers once join() resolves). */
  readonly #unclaimed: RoutedMessage[] = []
  #release: Timer | undefined
  #mid = 0

  constructor(host: RouterHost, clock: Clock, counters: RouterCounters, log: Logger, unheld: ReadonlySet<string> = new Set()) {
    this.#host = host
    this.#clock = clock
    this.#m = counters
    this.#log = log
    this.#unheld = unheld
  }

  /** Starts routing an application message from this node. */
  route(key: Id, app: string, payload: Uint8Array, hint?: NodeHandle): void {
    const self = this.#host.localHandle
    this.#step({ key, source: self, hops: 0, app, payload, from: self, at: this.#clock.now() }, hint)
  }

  /** A `route` frame arrived: ack it to the sender, then take the next step. */
  onRoute(from: NodeHandle, b: MessageBody<'route'>): void {
    this.#host.sendControl(from, 'routeAck', { mid: b.mid })
    if (b.hops > C.MAX_ROUTE_HOPS) {
      // Acked (the sender should not reroute it) and dropped: a loop, or a peer playing games.
      this.#m.dropped.inc()
      this.#log.debug('routed message over the hop limit dropped', { from: from.id, hops: b.hops })
      return
    }
    this.#step({ key: b.key, source: b.source, hops: b.hops, app: b.app, payload: b.payload, from, at: this.#clock.now() })
  }

  /** An ack releases custody only if it comes from the hop the message went to (mids are sequential). */
  onAck(from: NodeHandle, b: MessageBody<'routeAck'>): void {
    const c = this.#custody.get(b.mid)
    if (c === undefined || !c.hop.id.equals(from.id)) return
    c.timer.cancel()
    this.#custody.delete(b.mid)
  }

  /**
   * The node just became ready: what it held goes on its way (or is delivered here) in the next
   * turn. A message for an application not registered yet waits for it (`registered`) until
   * HOLD_TIMEOUT_MS after it came: applications register once `join()` has resolved, and
   * however long the promise chain to that point, they still get what was held for them.
   */
  releaseHeld(): void {
    this.#release ??= this.#clock.setTimeout(() => {
      this.#release = undefined
      for (const m of this.#held.splice(0)) this.#step(m, undefined, true)
    }, 0)
  }

  /** `app` was registered: what was held for it while joining is delivered now. */
  registered(app: string): void {
    if (this.#unclaimed.length === 0) return
    const mine = this.#unclaimed.filter((m) => m.app === app)
    this.#unclaimed.splice(0, this.#unclaimed.length, ...this.#unclaimed.filter((m) => m.app !== app))
    for (const m of mine) this.#deliver(m)
  }

  /**
   * A node still not ready after HOLD_TIMEOUT_MS hands what it holds to its closest ready
   * neighbour; released messages no application claimed in that time are dropped.
   */
  releaseStaleHeld(): void {
    const host = this.#host
    const now = this.#clock.now()
    const unclaimed = this.#unclaimed.length
    if (unclaimed > 0) {
      this.#unclaimed.splice(0, unclaimed, ...this.#unclaimed.filter((m) => now - m.at < C.HOLD_TIMEOUT_MS))
      this.#m.dropped.inc(unclaimed - this.#unclaimed.length)
    }
    if (host.ready || this.#held.length === 0) return
    const stale = this.#held.filter((m) => now - m.at >= C.HOLD_TIMEOUT_MS)
    if (stale.length === 0) return
    this.#held.splice(0, this.#held.length, ...this.#held.filter((m) => now - m.at < C.HOLD_TIMEOUT_MS))
    for (const m of stale) {
      const next = host.leafSet.closestTo(m.key, (h) => host.liveness.usable(h.id)).find((h) => !h.id.equals(host.localHandle.id))
      if (next !== undefined) this.#forward(m, next, 1, new Set([host.localHandle.id.hex]))
      else this.#m.dropped.inc()
    }
  }

  stop(): void {
    this.#release?.cancel()
    this.#release = undefined
    // Held messages die with the node: counted, not silently forgotten.
    this.#m.dropped.inc(this.#held.length + this.#unclaimed.length)
    this.#held.length = 0
    this.#unclaimed.length = 0
    for (const c of this.#custody.values()) c.timer.cancel()
    this.#custody.clear()
  }

  get inCustody(): number {
    return this.#custody.size
  }

  get held(): number {
    return this.#held.length
  }

  /** One step of `msg` here: forwarded, or delivered (`held`: it was held while this node joined). */
  #step(msg: RoutedMessage, hint?: NodeHandle, held = false): void {
    const host = this.#host
    let next = hint !== undefined && host.liveness.usable(hint.id) && !hint.id.equals(host.localHandle.id) ? hint : host.nextHop(msg.key)
    const app = host.application(msg.app)
    if (app?.forward !== undefined) {
      const ctx = { key: msg.key, payload: msg.payload, nextHop: next, source: msg.source, hops: msg.hops }
      if (!app.forward(ctx)) return
      next = ctx.nextHop
      msg.payload = ctx.payload
    }
    if (next === undefined) this.#deliver(msg, app, held)
    else this.#forward(msg, next, 1, undefined)
  }

  #deliver(msg: RoutedMessage, app = this.#host.application(msg.app), held = false): void {
    // The unheld (the join request) are answered by whoever is root, ready or not.
    if (!this.#host.ready && !this.#unheld.has(msg.app)) {
      if (this.#held.length >= C.MAX_HELD_MESSAGES) {
        this.#m.dropped.inc()
        return
      }
      this.#m.held.inc()
      this.#held.push(msg)
      return
    }
    if (app === undefined) {
      if (held && this.#unclaimed.length < C.MAX_HELD_MESSAGES) {
        this.#unclaimed.push(msg)
        return
      }
      this.#m.dropped.inc()
      this.#log.debug('no application for routed message', { app: msg.app })
      return
    }
    this.#m.delivered.inc()
    app.deliver({ key: msg.key, payload: msg.payload, source: msg.source, from: msg.from, hops: msg.hops })
  }

  #forward(msg: RoutedMessage, hop: NodeHandle, attempts: number, tried: Set<string> | undefined): void {
    const host = this.#host
    const mid = ++this.#mid
    const timer = this.#clock.setTimeout(() => this.#onTimeout(mid), host.liveness.rto(hop.id) * 1.5)
    this.#custody.set(mid, { msg, hop, attempts, tried, timer })
    ;(msg.hops === 0 && msg.source === host.localHandle ? this.#m.sent : this.#m.forwarded).inc()
    const body = { mid, key: msg.key.bytes, source: handleToWire(msg.source), hops: msg.hops + 1, app: msg.app, payload: msg.payload }
    host.sendControl(hop, 'route', body, () => this.#onTimeout(mid))
  }

  #onTimeout(mid: number): void {
    const c = this.#custody.get(mid)
    if (c === undefined) return
    this.#custody.delete(mid)
    c.timer.cancel()
    if (c.attempts >= C.MAX_ROUTE_ATTEMPTS) {
      this.#m.dropped.inc()
      return
    }
    const host = this.#host
    const msg: RoutedMessage = { ...c.msg, from: host.localHandle, at: this.#clock.now() }
    const tried = (c.tried ??= new Set())
    const isRoot = host.leafSet.covers(msg.key) && host.nextHop(msg.key, tried)?.id.equals(c.hop.id) === true
    host.liveness.suspect(c.hop)
    const check = host.check(c.hop, false, 'reroute')
    if (!isRoot) {
      tried.add(c.hop.id.hex)
      this.#reroute(msg, c.attempts, tried)
      return
    }
    void check.then((r) => {
      if (!host.running) return
      if (r !== undefined) {
        this.#forward(msg, c.hop, c.attempts + 1, tried)
        return
      }
      tried.add(c.hop.id.hex)
      this.#reroute(msg, c.attempts, tried)
    })
  }

  #reroute(msg: RoutedMessage, attempts: number, tried: Set<string>): void {
    this.#m.rerouted.inc()
    const next = this.#host.nextHop(msg.key, tried)
    if (next === undefined) this.#deliver(msg)
    else this.#forward(msg, next, attempts + 1, tried)
  }
}
