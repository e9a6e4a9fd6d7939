import { EpostError, Lifecycle, SENT, createMetrics, handleToWire, silentLogger } from '@epost/core'
import { schema } from '@epost/codec'
import type { Application, Clock, Counter, Endpoint, Id, Logger, Metrics, NodeHandle, Overlay, Rng, Startable, Transport } from '@epost/core'
import { isEpostError } from '@epost/core'
import * as C from './constants.js'
import { LeafSet } from './leaf-set.js'
import { Liveness } from './liveness.js'
import { pastryProtocol } from './messages.js'
import type { MessageBody, PastryMessage, PastryMessageName } from './messages.js'
import { RoutingTable } from './routing-table.js'
import { WireRows } from './pns.js'
import { Membership } from './membership.js'
import { Prober } from './prober.js'
import type { ProbeExtra } from './prober.js'
import { createEndpoint } from './endpoint.js'
import { JoinApp, JOIN_PROTOCOL } from './join.js'
import { Maintenance } from './maintenance.js'
import { Router } from './router.js'
import { RoutingRule } from './routing-rule.js'
import type { PastryComponents, PastryInit } from './init.js'

type Handler = (from: NodeHandle, body: never) => void

/**
 * A Pastry node (Rowstron & Druschel; MSPastry's per-hop acks; FreePastry's consistent join).
 * It runs the same way over the simulator and over WebSockets: everything it knows of time,
 * randomness and the network comes in through its components.
 */
export class PastryNode implements Overlay, Startable {
  readonly localHandle: NodeHandle
  readonly leafSet: LeafSet
  readonly table: RoutingTable
  readonly liveness: Liveness
  readonly b: number
  readonly #transport: Transport
  readonly #clock: Clock
  readonly #rng: Rng
  readonly #log: Logger
  readonly #opts: Required<Omit<PastryInit, 'rtoInitialMs' | 'rtoMinMs' | 'rtoMaxMs'>>
  readonly #lifecycle: Lifecycle
  readonly #apps = new Map<string, Application>()
  readonly #prober: Prober
  #wireCache: { version: number; wire: [Uint8Array, string[]] } | undefined
  readonly #wireRows: WireRows
  readonly #maintenance: Maintenance
  readonly #router: Router
  readonly #join: JoinApp
  readonly #bootstraps: NodeHandle[] = []
  readonly #rule: RoutingRule

  /** The bootstrap nodes this node joined through (partition checks go back to them). */
  get bootstraps(): readonly NodeHandle[] {
    return this.#bootstraps
  }
  #ready = false
  /** Counters asked for on every send and probe, by message name or probe reason (#counter). */
  readonly #sent = new Map<string, Counter>()
  readonly #checkCounters = new Map<string, Counter>()
  readonly #m: { malformed: Counter; control: Counter }
  /** @internal who is in the leaf set and the table (candidates, PNS, repair): for the join and maintenance. */
  readonly membership: Membership
  readonly metrics: Metrics

  constructor(init: PastryInit, components: PastryComponents) {
    this.#transport = components.transport
    this.#clock = components.clock
    this.#rng = components.rng
    this.localHandle = components.transport.localHandle
    this.#log = (components.logger ?? silentLogger).forComponent('epost:pastry').child({ node: this.localHandle.id.short() })
    this.metrics = components.metrics ?? createMetrics()
    this.b = init.b ?? C.DIGIT_BITS
    if (![1, 2, 4, 8].includes(this.b)) throw new EpostError('EPOST_INVALID_ARGUMENT', `b must be 1, 2, 4 or 8 (got ${this.b})`)
    this.#opts = {
      b: this.b,
      leafSetSize: init.leafSetSize ?? C.LEAF_SET_SIZE,
      leafProbeIntervalMs: init.leafProbeIntervalMs ?? C.LEAF_PROBE_INTERVAL_MS,
      probeRetries: init.probeRetries ?? C.PROBE_RETRIES,
      rowExchangeIntervalMs: init.rowExchangeIntervalMs ?? C.ROW_EXCHANGE_INTERVAL_MS,
      partitionCheckIntervalMs: init.partitionCheckIntervalMs ?? C.PARTITION_CHECK_INTERVAL_MS,
      joinTimeoutMs: init.joinTimeoutMs ?? C.JOIN_TIMEOUT_MS,
      cellSpares: init.cellSpares ?? C.CELL_SPARES,
    }
    this.leafSet = new LeafSet(this.localHandle, this.#opts.leafSetSize, () => this.table.handles())
    this.table = new RoutingTable(this.localHandle, this.b, this.#opts.cellSpares)
    this.#wireRows = new WireRows(this.table)
    this.liveness = new Liveness(this.#clock, { rtoInitialMs: init.rtoInitialMs, rtoMinMs: init.rtoMinMs, rtoMaxMs: init.rtoMaxMs })
    const counter = (n: string): Counter => this.metrics.counter(`epost_pastry_${n}_total`)
    this.#prober = new Prober(
      {
        liveness: this.liveness,
        table: this.table,
        isRunning: () => this.#lifecycle.running,
        send: (to, name, body, onFail) => this.#send(to, name, body, onFail),
        declareDead: (h) => this.membership.declareDead(h),
        checks: (reason) => this.#counter(this.#checkCounters, 'probe_', reason),
      },
      this.#clock,
      this.#opts.probeRetries,
    )
    this.#m = { malformed: counter('malformed'), control: counter('control_sent') }
    this.membership = new Membership(this, this.#rng, { pruned: counter('probe_pruned'), joinProbes: counter('probe_join'), deaths: counter('peer_dead') }, this.#log, this.#opts.leafSetSize)
    const routeCounters = {
      sent: counter('route_sent'),
      forwarded: counter('route_forwarded'),
      delivered: counter('route_delivered'),
      rerouted: counter('route_rerouted'),
      dropped: counter('route_dropped'),
      held: counter('held'),
    }
    this.#router = new Router(this, this.#clock, routeCounters, this.#log, new Set([JOIN_PROTOCOL]))
    this.#maintenance = new Maintenance(this, this.#clock, this.#rng, this.#opts)
    this.#rule = new RoutingRule(this, this.#clock)
    this.#join = new JoinApp(this)
    this.#apps.set(JOIN_PROTOCOL, this.#join)
    this.#lifecycle = new Lifecycle(
      async () => {
        this.#transport.onFrame((from, data) => this.#onFrame(from, data))
        await this.#transport.start()
      },
      async () => {
        this.#maintenance.stop()
        this.#router.stop()
        this.#prober.stop()
        this.#ready = false
        await this.#transport.stop()
      },
    )
  }

  get ready(): boolean {
    return this.#ready
  }

  get running(): boolean {
    return this.#lifecycle.running
  }

  get clock(): Clock {
    return this.#clock
  }

  get joinTimeoutMs(): number {
    return this.#opts.joinTimeoutMs
  }

  start(): Promise<void> {
    return this.#lifecycle.start()
  }

  stop(): Promise<void> {
    return this.#lifecycle.stop()
  }

  register(protocol: string, app: Application): Endpoint {
    if (protocol.length === 0 || protocol.length > C.MAX_APP_ID_LENGTH) throw new EpostError('EPOST_INVALID_ARGUMENT', `an application id is 1..${C.MAX_APP_ID_LENGTH} characters, got ${protocol.length}`)
    if (this.#apps.has(protocol)) throw new EpostError('EPOST_INVALID_ARGUMENT', `an application is already registered as '${protocol}'`)
    this.#apps.set(protocol, app)
    this.#router.registered(protocol)
    return createEndpoint(this, protocol)
  }

  /**
   * Joins the ring through `bootstrap` (the nearest known node; several are tried in order of
   * measured proximity), or starts a new ring when none is given. Resolves once this node is
   * ready: its leaf set is complete and its neighbours have taken it in.
   */
  async join(bootstrap: NodeHandle | readonly NodeHandle[] = [], options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.start()
    const list = Array.isArray(bootstrap) ? [...(bootstrap as readonly NodeHandle[])] : [bootstrap as NodeHandle]
    this.#bootstraps.push(...list.filter((h) => !h.id.equals(this.localHandle.id)))
    if (this.#bootstraps.length === 0) {
      this.becomeReady()
    } else {
      this.#maintenance.startHeldRelease()
      await this.#join.run(this.#bootstraps, options.signal)
    }
    this.#maintenance.start()
  }

  // ---------------------------------------------------------------- routing

  /** The next hop toward `key`, or undefined when this node is the root (RoutingRule). */
  nextHop(key: Id, exclude?: ReadonlySet<string>): NodeHandle | undefined {
    return this.#rule.nextHop(key, exclude)
  }

  /** @internal for Membership. */
  leafDeath(): void {
    this.#rule.leafDeath()
  }

  /** @internal for Membership. */
  leafSetLostMember(wasNeighbour: boolean): void {
    this.#maintenance.leafSetLostMember(wasNeighbour)
  }

  /** @internal for Membership: remembers `h` as a spare of its cell. */
  noteSpare(h: NodeHandle, cell?: { row: number; col: number }): void {
    this.table.noteSpare(h, this.#clock.now(), cell)
  }

  /** Starts routing an application message (Endpoint.route). */
  route(key: Id, app: string, payload: Uint8Array, hint?: NodeHandle): void {
    // Refused here, with a clear error: at the first hop it would fail to encode, look like a
    // silent hop, and get healthy nodes suspected.
    if (payload.length > C.MAX_PAYLOAD_BYTES) throw new EpostError('EPOST_INVALID_ARGUMENT', `a routed payload is at most ${C.MAX_PAYLOAD_BYTES} bytes, got ${payload.length}`)
    this.#router.route(key, app, payload, hint)
  }

  /** One hop straight to `to` (Endpoint.send). */
  sendDirect(to: NodeHandle, app: string, payload: Uint8Array): void {
    if (to.id.equals(this.localHandle.id)) {
      this.#apps.get(app)?.deliver({ key: undefined, payload, source: to, from: to, hops: 0 })
      return
    }
    this.#send(to, 'direct', { app, payload })
  }

  /** @internal the application registered under `protocol`, for the router. */
  application(protocol: string): Application | undefined {
    return this.#apps.get(protocol)
  }

  // ---------------------------------------------------------------- wire

  #send<N extends PastryMessageName>(to: NodeHandle, name: N, body: unknown, onFail?: () => void): void {
    let bytes: Uint8Array
    try {
      bytes = pastryProtocol.encode(name, body as never)
    } catch (err) {
      this.#log.warn('cannot encode', { name, err })
      onFail?.()
      return
    }
    if (name !== 'route' && name !== 'routeAck' && name !== 'direct') this.#m.control.inc()
    this.#counter(this.#sent, 'sent_', name).inc()
    const sending = this.#transport.send(to, bytes)
    if (sending === SENT) return
    sending.catch((err: unknown) => {
      if (isEpostError(err, 'EPOST_TRANSPORT_PEER_MISMATCH')) {
        // The address does not belong to the id we were told: never use this handle. Only a
        // handle we hold ourselves leaves our state; the node that really has the id is not
        // blamed (any peer can hand us a forged handle to get a live neighbour declared dead).
        this.liveness.markForged(to)
        if (this.#holds(to)) this.membership.forget(to)
      }
      onFail?.()
    })
  }

  /** The counter epost_pastry_<prefix><key>_total, kept in `cache` by `key`: hot paths do not build its name each time. */
  #counter(cache: Map<string, Counter>, prefix: string, key: string): Counter {
    let c = cache.get(key)
    if (c === undefined) cache.set(key, (c = this.metrics.counter(`epost_pastry_${prefix}${key}_total`)))
    return c
  }

  /** Is this very handle (id and address) in our leaf set or routing table? */
  #holds(h: NodeHandle): boolean {
    const same = (x: NodeHandle | undefined): boolean => x !== undefined && x.id.equals(h.id) && x.address === h.address
    const cell = this.table.cellOf(h.id)
    if (cell !== undefined && same(this.table.get(cell.row, cell.col)?.handle)) return true
    return same(this.leafSet.members().find((x) => x.id.equals(h.id)))
  }

  #onFrame(from: NodeHandle, data: Uint8Array): void {
    if (!this.#lifecycle.running) return
    let msg: PastryMessage
    try {
      msg = pastryProtocol.decodeBytes(data, { maxBytes: this.#transport.maxFrameBytes })
    } catch (err) {
      this.#m.malformed.inc()
      this.#log.debug('malformed frame, rejecting peer', { peer: from.id, err })
      this.#transport.reject(from.id, isEpostError(err) ? err.code : 'malformed')
      return
    }
    if (this.liveness.heard(from) && this.#ready) {
      // A node we had given up on talks to us again (a partition healed, or a false suspicion).
      this.membership.offer([from])
    }
    const handler = this.#handlers[msg.name] as Handler
    handler(from, msg.body as never)
  }

  /** One handler per message type (the dispatch table). */
  readonly #handlers: { [N in PastryMessageName]: (from: NodeHandle, body: MessageBody<N>) => void } = {
    route: (from, b) => this.#router.onRoute(from, b),
    routeAck: (from, b) => this.#router.onAck(from, b),
    direct: (from, b) => {
      const app = this.#apps.get(b.app)
      if (app === undefined) return
      app.deliver({ key: undefined, payload: b.payload, source: from, from, hops: 1 })
    },
    probe: (from, b) => {
      if (b.hello === true) this.membership.admit(from, false)
      const echo = b.announce === true ? this.membership.onAnnounce(from, b.rtt) : undefined
      if (b.own !== undefined) this.#maintenance.onPushedLeafSet(from, b.own)
      const row = b.row === undefined ? {} : this.#wireRows.get(b.row)
      this.#send(from, 'probeReply', { nonce: b.nonce, ready: this.#ready, leafSet: b.leafSet ? this.wireLeafSet() : undefined, ...row, echo })
    },
    probeReply: (from, b) => {
      if (b.echo !== undefined) this.#send(from, 'echo', { nonce: b.echo })
      this.#prober.onProbeReply(from, b)
    },
    echo: (from, b) => void this.#prober.onEcho(from, b.nonce),
    hello: (from, b) => {
      this.membership.admit(from, false)
      this.#send(from, 'helloAck', { nonce: b.nonce, leafSet: this.wireLeafSet() })
    },
    // An unsolicited (or late) leaf set is still news of nodes near us.
    helloAck: (from, b) => void (this.#prober.onHelloAck(from, b.nonce, b.leafSet) || this.membership.offer(b.leafSet)),
    joinRequest: (from, b) => this.#join.onJoinRequest(from, b),
    joinReply: (from, b) => this.#join.onJoinReply(from, b),
  }

  /** The leaf set in wire form, cached until it changes (most control replies carry it). @internal for Maintenance. */
  wireLeafSet(): [Uint8Array, string[]] {
    if (this.#wireCache?.version !== this.leafSet.version) this.#wireCache = { version: this.leafSet.version, wire: schema.handlesToWire(this.leafSet.members()) }
    return this.#wireCache.wire
  }

  // ---------------------------------------------------------------- probing & membership

  /** One probe with a timeout; undefined if it went unanswered (Prober.probe). */
  probe(h: NodeHandle, wantLeafSet: boolean, timeoutMs?: number, extra?: ProbeExtra): Promise<MessageBody<'probeReply'> | undefined> {
    return this.#prober.probe(h, wantLeafSet, timeoutMs, extra)
  }

  /** Is `h` alive? A liveness check with retries and a verdict (Prober.check). @internal for Maintenance. */
  check(h: NodeHandle, wantLeafSet: boolean, reason: string, extra?: ProbeExtra): Promise<MessageBody<'probeReply'> | undefined> {
    return this.#prober.check(h, wantLeafSet, reason, extra)
  }

  /** A nonce for `h` to echo, and whether it did (Prober.expectEcho). @internal for Membership. */
  expectEcho(h: NodeHandle): { nonce: number; measured: Promise<true | undefined> } {
    return this.#prober.expectEcho(h)
  }

  /** Sends hello to `h`; resolves with its leaf set, or undefined if it did not answer in time. */
  hello(h: NodeHandle, timeoutMs?: number): Promise<NodeHandle[] | undefined> {
    return this.#prober.hello(h, timeoutMs)
  }

  /** Is a liveness check of `h` running? @internal for Membership. */
  checking(h: NodeHandle): boolean {
    return this.#prober.checking(h)
  }

  /** The applications' update upcall. @internal for Membership. */
  notify(h: NodeHandle, joined: boolean): void {
    for (const app of this.#apps.values()) app.update?.(h, joined)
  }

  // ---------------------------------------------------------------- join support (used by JoinApp)

  /** Sends a message of Pastry's own protocol (for the join application). */
  sendControl<N extends PastryMessageName>(to: NodeHandle, name: N, body: unknown, onFail?: () => void): void {
    this.#send(to, name, body, onFail)
  }

  /** @internal for JoinApp: the leaf set is confirmed; this node may act as a root. */
  becomeReady(): void {
    if (this.#ready) return
    this.#ready = true
    this.#log.debug('ready', { leafSet: this.leafSet.size, table: this.table.size })
    this.#router.releaseHeld()
    this.membership.refineAfterJoin()
  }

  /** @internal for Maintenance. */
  releaseStaleHeld(): void {
    this.#router.releaseStaleHeld()
  }

  /** Pending work, for tests and the simulator. */
  stats(): { pendingRoutes: number; pendingProbes: number; held: number; leafSet: number; table: number } {
    return { pendingRoutes: this.#router.inCustody, pendingProbes: this.#prober.pending, held: this.#router.held, leafSet: this.leafSet.size, table: this.table.size }
  }
}

/** Factory (STYLE.md): `pastry(init)(components)`. */
export function pastry(init: PastryInit = {}): (components: PastryComponents) => PastryNode {
  return (components) => new PastryNode(init, components)
}
