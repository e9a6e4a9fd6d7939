import { EpostError, Lifecycle, createMetrics, handleToWire, silentLogger } from '@epost/core'
import { schema } from '@epost/codec'
import type { Application, Clock, Counter, Endpoint, Id, Logger, Metrics, NodeHandle, Overlay, Rng, Startable, Transport } from '@epost/core'
import { isEpostError } from '@epost/core'
import * as C from './constants.js'
import { LeafSet } from './leaf-set.js'
import { Liveness } from './liveness.js'
import { pastryProtocol } from './messages.js'
import type { MessageBody, PastryMessage, PastryMessageName } from './messages.js'
import { RoutingTable } from './routing-table.js'
import { CellHolds, UNBOUNDED, WireRows, rowBounds, worthProbing } from './pns.js'
import type { RttBounds } from './pns.js'
import { PendingReplies } from './pending.js'
import { createEndpoint } from './endpoint.js'
import { JoinApp, JOIN_PROTOCOL } from './join.js'
import { Maintenance } from './maintenance.js'
import { Router } from './router.js'

export interface PastryInit {
  /** Bits per digit. @default DIGIT_BITS (4) */
  b?: number
  /** Leaf set size L. @default LEAF_SET_SIZE (16) */
  leafSetSize?: number
  /** @default LEAF_PROBE_INTERVAL_MS */
  leafProbeIntervalMs?: number
  /** @default PROBE_RETRIES */
  probeRetries?: number
  /** @default ROW_EXCHANGE_INTERVAL_MS */
  rowExchangeIntervalMs?: number
  /** @default PARTITION_CHECK_INTERVAL_MS */
  partitionCheckIntervalMs?: number
  /** @default JOIN_TIMEOUT_MS */
  joinTimeoutMs?: number
  rtoInitialMs?: number
  rtoMinMs?: number
  rtoMaxMs?: number
}

export interface PastryComponents {
  transport: Transport
  clock: Clock
  rng: Rng
  logger?: Logger
  metrics?: Metrics
}

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
  readonly #probes: PendingReplies<MessageBody<'probeReply'>>
  #wireCache: { version: number; wire: [Uint8Array, string[]] } | undefined
  readonly #probing = new Map<string, Promise<MessageBody<'probeReply'> | undefined>>()
  readonly #hellos: PendingReplies<NodeHandle[]>
  readonly #holds: CellHolds
  readonly #wireRows: WireRows
  readonly #maintenance: Maintenance
  readonly #router: Router
  readonly #join: JoinApp
  readonly #bootstraps: NodeHandle[] = []

  /** The bootstrap nodes this node joined through (partition checks go back to them). */
  get bootstraps(): readonly NodeHandle[] {
    return this.#bootstraps
  }
  #ready = false
  readonly #sent: Partial<Record<PastryMessageName, Counter>> = {}
  readonly #m: { malformed: Counter; control: Counter; deaths: Counter; pruned: Counter }
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
    }
    this.leafSet = new LeafSet(this.localHandle, this.#opts.leafSetSize)
    this.table = new RoutingTable(this.localHandle, this.b)
    this.#wireRows = new WireRows(this.table)
    this.#holds = new CellHolds(this.table.cols, (candidates, bounds) => this.offer(candidates, bounds))
    this.#probes = new PendingReplies(this.#clock)
    this.#hellos = new PendingReplies(this.#clock)
    this.liveness = new Liveness(this.#clock, { rtoInitialMs: init.rtoInitialMs, rtoMinMs: init.rtoMinMs, rtoMaxMs: init.rtoMaxMs })
    const counter = (n: string): Counter => this.metrics.counter(`epost_pastry_${n}_total`)
    this.#m = { malformed: counter('malformed'), control: counter('control_sent'), deaths: counter('peer_dead'), pruned: counter('probe_pruned') }
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
        this.#probes.settleAll()
        this.#hellos.settleAll()
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
    if (this.#apps.has(protocol)) throw new EpostError('EPOST_INVALID_ARGUMENT', `an application is already registered as '${protocol}'`)
    this.#apps.set(protocol, app)
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
      await this.#join.run(this.#bootstraps, options.signal)
    }
    this.#maintenance.start()
  }

  // ---------------------------------------------------------------- routing

  /** The next hop toward `key`, or undefined when this node is the root. */
  nextHop(key: Id, exclude?: ReadonlySet<string>): NodeHandle | undefined {
    const usable = (h: NodeHandle): boolean => exclude?.has(h.id.hex) !== true && this.liveness.usable(h.id)
    const self = this.localHandle
    if (key.equals(self.id)) return undefined
    if (this.leafSet.covers(key)) {
      // Choosing the root: a merely suspected node stays a candidate (if it is slow rather than
      // dead, handing its keys to a neighbour would give them two roots); only a dead verdict,
      // or a failed attempt on this message, moves the root.
      const candidate = (h: NodeHandle): boolean => exclude?.has(h.id.hex) !== true && this.liveness.status(h.id) !== 'dead'
      let best = self
      for (const h of this.leafSet.members()) if (candidate(h) && key.isCloser(h.id, best.id)) best = h
      return best === self ? undefined : best
    }
    const row = self.id.sharedPrefixLength(key, this.b)
    const e = this.table.get(row, key.digit(row, this.b))
    if (e !== undefined && usable(e.handle)) return e.handle
    // Rare case: any known node that shares as long a prefix and is numerically closer.
    let best: NodeHandle | undefined
    const selfDist = key.distance(self.id)
    const offer = (h: NodeHandle): void => {
      if (!usable(h) || h.id.sharedPrefixLength(key, this.b) < row) return
      if (key.distance(h.id) >= selfDist) return
      if (best === undefined || key.isCloser(h.id, best.id)) best = h
    }
    for (let r = row; r <= this.table.lastRow; r++) for (const te of this.table.row(r)) offer(te.handle)
    for (const h of this.leafSet.members()) offer(h)
    return best
  }

  /** Starts routing an application message (Endpoint.route). */
  route(key: Id, app: string, payload: Uint8Array, hint?: NodeHandle): void {
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
    let sent = this.#sent[name]
    if (sent === undefined) this.#sent[name] = sent = this.metrics.counter(`epost_pastry_sent_${name}_total`)
    sent.inc()
    this.#transport.send(to, bytes).catch((err: unknown) => {
      if (isEpostError(err, 'EPOST_TRANSPORT_PEER_MISMATCH')) {
        // The address does not belong to the id we were told: never use this handle.
        this.liveness.markDead(to)
        this.#forget(to)
      }
      onFail?.()
    })
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
      this.offer([from])
    }
    const handler = this.#handlers[msg.name] as Handler
    handler(from, msg.body as never)
  }

  /** One handler per message type (the dispatch table). */
  readonly #handlers: { [N in PastryMessageName]: (from: NodeHandle, body: MessageBody<N>) => void } = {
    route: (from, b) => this.#router.onRoute(from, b),
    routeAck: (_from, b) => this.#router.onAck(b),
    direct: (from, b) => {
      const app = this.#apps.get(b.app)
      if (app === undefined) return
      app.deliver({ key: undefined, payload: b.payload, source: from, from, hops: 1 })
    },
    probe: (from, b) => {
      if (b.announce === true) this.#onAnnounce(from, b.rtt)
      const row = b.row === undefined ? {} : this.#wireRows.get(b.row)
      this.#send(from, 'probeReply', { nonce: b.nonce, ready: this.#ready, leafSet: b.leafSet ? this.#wireLeafSet() : undefined, ...row })
    },
    probeReply: (_from, b) => void this.#probes.settle(b.nonce, b),
    hello: (from, b) => {
      this.#admit(from, false)
      this.#send(from, 'helloAck', { nonce: b.nonce, leafSet: this.#wireLeafSet() })
    },
    // An unsolicited (or late) leaf set is still news of nodes near us.
    helloAck: (_from, b) => void (this.#hellos.settle(b.nonce, b.leafSet) || this.offer(b.leafSet)),
    joinRequest: (from, b) => this.#join.onJoinRequest(from, b),
    joinReply: (from, b) => this.#join.onJoinReply(from, b),
  }

  /**
   * A ready node tells us it exists (it asked for one of our rows as it became ready): an empty
   * cell takes it at once; an occupied one only if a probe shows it is closer (PNS). The RTT it
   * measured to us only saves a probe that could not win (claiming less gains it nothing: we
   * measure before it displaces anyone).
   */
  #onAnnounce(from: NodeHandle, rtt: number | undefined): void {
    const cell = this.table.cellOf(from.id)
    if (cell !== undefined && this.table.get(cell.row, cell.col) === undefined) this.#considerForTable(from)
    if (this.leafSet.wants(from.id)) this.#admit(from, true)
    else if (!this.table.has(from.id)) this.offer([from], rtt === undefined ? undefined : [{ least: rtt, most: rtt }])
  }

  /** The leaf set in wire form, cached until it changes (most control replies carry it). */
  #wireLeafSet(): [Uint8Array, string[]] {
    if (this.#wireCache?.version !== this.leafSet.version) this.#wireCache = { version: this.leafSet.version, wire: schema.handlesToWire(this.leafSet.members()) }
    return this.#wireCache.wire
  }

  // ---------------------------------------------------------------- probing & membership

  /**
   * Asks `h` for row `row` of its table (and, with `announce`, tells it we are ready), measuring
   * the RTT on the way; the row's entries are offered as candidates. If `h` does not answer, a
   * liveness check follows.
   */
  fetchRow(h: NodeHandle, row: number, announce = false): void {
    const rtt = this.liveness.rtt(h.id)
    const extra = announce ? { row, announce, ...(rtt === undefined ? {} : { rtt: Math.round(rtt) }) } : { row }
    // An entry join admitted unmeasured: candidates for its cell wait for this measurement.
    const cell = this.table.cellOf(h.id)
    const entry = cell === undefined ? undefined : this.table.get(cell.row, cell.col)
    const release = cell !== undefined && entry?.handle.id.equals(h.id) === true && entry.rtt === Infinity && !this.#holds.held(cell) ? this.#holds.hold(cell) : undefined
    void this.probe(h, false, undefined, extra).then((r) => {
      release?.()
      if (r === undefined) void this.check(h, false, 'row')
      else if (r.row !== undefined && r.rtts !== undefined) this.offer(r.row, rowBounds(this.liveness.rtt(h.id), r.rtts))
    })
  }

  /** One probe with a timeout; undefined if it went unanswered. */
  probe(h: NodeHandle, wantLeafSet: boolean, timeoutMs = this.liveness.rto(h.id), extra: { row?: number; announce?: boolean; rtt?: number } = {}): Promise<MessageBody<'probeReply'> | undefined> {
    if (!this.#lifecycle.running) return Promise.resolve(undefined)
    const { nonce, reply } = this.#probes.open(timeoutMs)
    const sentAt = this.#clock.now()
    this.#send(h, 'probe', { nonce, leafSet: wantLeafSet, ...extra }, () => this.#probes.settle(nonce, undefined))
    return reply.then((r) => {
      if (r === undefined) return undefined
      this.liveness.observeRtt(h, this.#clock.now() - sentAt)
      const rtt = this.liveness.rtt(h.id)
      if (rtt !== undefined) this.table.setRtt(h.id, rtt)
      return r
    })
  }

  /**
   * Is `h` alive? Probes with retries (the first silence marks it suspected); after
   * probeRetries more silences it is declared dead and removed. Concurrent checks share one run.
   * @internal for Maintenance.
   */
  check(h: NodeHandle, wantLeafSet: boolean, reason: string): Promise<MessageBody<'probeReply'> | undefined> {
    const running = this.#probing.get(h.id.hex)
    if (running !== undefined) return running
    const run = (async () => {
      let timeout = this.liveness.rto(h.id)
      for (let attempt = 0; attempt <= this.#opts.probeRetries; attempt++) {
        this.metrics.counter(`epost_pastry_probe_${reason}_total`).inc()
        const r = await this.probe(h, wantLeafSet, timeout)
        if (!this.#lifecycle.running) return undefined
        if (r !== undefined) return r
        this.liveness.suspect(h)
        timeout = Math.min(timeout * 2, C.RTO_MAX_MS * 2)
      }
      this.#declareDead(h)
      return undefined
    })().finally(() => this.#probing.delete(h.id.hex))
    this.#probing.set(h.id.hex, run)
    return run
  }

  #declareDead(h: NodeHandle): void {
    if (this.liveness.status(h.id) === 'dead' && !this.leafSet.has(h.id) && !this.table.has(h.id)) return
    this.#m.deaths.inc()
    this.liveness.markDead(h)
    this.#log.debug('peer declared dead', { peer: h.id })
    this.#forget(h)
  }

  /** Removes `h` from all routing state and repairs what it leaves behind. */
  #forget(h: NodeHandle): void {
    const wasLeaf = this.leafSet.has(h.id)
    const cell = this.table.cellOf(h.id)
    if (this.table.remove(h.id) && cell !== undefined) this.#repairCell(cell.row)
    if (wasLeaf) {
      const onCw = this.leafSet.cw.some((x) => x.id.equals(h.id))
      this.leafSet.remove(h.id)
      this.#notify(h, false)
      // Refill from the farthest live member on that side (its leaf set extends ours).
      const side = onCw ? this.leafSet.cw : this.leafSet.ccw
      const far = side[side.length - 1] ?? this.leafSet.members()[0]
      if (far !== undefined) void this.check(far, true, 'repair').then((r) => r?.leafSet !== undefined && this.offer(r.leafSet))
    }
  }

  #repairCell(row: number): void {
    const others = this.table.row(row)
    if (others.length > 0) this.fetchRow(this.#rng.pick(others).handle, row)
  }

  /**
   * Candidates heard of from others. Each must answer a probe over an authenticated connection,
   * say it is ready, and then it is admitted where it improves the leaf set or the routing table
   * (the probe also measures the RTT that proximity neighbour selection compares).
   * `bounds[i]`, when known, bounds the RTT to candidate i (the triangle inequality through the
   * node that told us of it): a candidate not worth probing against its cell's entry is not probed.
   */
  offer(candidates: readonly NodeHandle[], bounds?: readonly RttBounds[]): void {
    for (let i = 0; i < candidates.length; i++) {
      const h = candidates[i] as NodeHandle
      if (this.#probing.has(h.id.hex)) continue
      const cell = this.table.cellOf(h.id)
      if (cell === undefined) continue
      const occupant = this.table.get(cell.row, cell.col)
      const inTable = occupant?.handle.id.equals(h.id) === true
      const inLeaf = this.leafSet.has(h.id)
      if (inLeaf && inTable) continue
      if (this.liveness.deadWithin(h.id, C.DEAD_QUARANTINE_MS)) continue
      // A member of the leaf set is only a candidate for the table.
      const wantsLeaf = !inLeaf && this.leafSet.wants(h.id)
      const knownRtt = this.liveness.rtt(h.id)
      const wantsTable = !inTable && (occupant === undefined || knownRtt === undefined || knownRtt < occupant.rtt)
      if (!wantsLeaf && !wantsTable) continue
      let release: (() => void) | undefined
      if (!wantsLeaf) {
        // Only the table wants it (PNS): not probed if it is not worth it, and one candidate per
        // cell is measured at a time, since what it measures may rule out the rest.
        const b = bounds?.[i] ?? UNBOUNDED
        if (occupant !== undefined && knownRtt === undefined && !worthProbing(b, occupant.rtt, C.PNS_PRUNE_SLACK_MS, C.PNS_PROBE_FACTOR)) {
          this.#m.pruned.inc()
          continue
        }
        if (this.#holds.wait(cell, h, b)) continue
        release = this.#holds.hold(cell)
      }
      void this.check(h, wantsLeaf, 'candidate').then((r) => {
        if (r?.ready === true) {
          this.#admit(h, true)
          if (wantsLeaf && r.leafSet !== undefined) this.offer(r.leafSet)
        }
        release?.()
      })
    }
  }

  /**
   * Takes `h` into the routing table (if it improves its cell) and the leaf set (if it belongs).
   * With `greet`, a node that enters our leaf set is sent a hello so that it takes us in too.
   */
  #admit(h: NodeHandle, greet: boolean): void {
    this.#considerForTable(h)
    if (this.#admitToLeafSet(h) && greet && this.#ready) void this.hello(h)
  }

  /** Offers `h` to its routing-table cell at the RTT we measured to it (unmeasured: it takes only an empty cell). */
  #considerForTable(h: NodeHandle): void {
    this.table.consider(h, this.liveness.rtt(h.id) ?? Infinity)
  }

  /** Puts `h` in the leaf set if it belongs there, with update upcalls; true if it entered. */
  #admitToLeafSet(h: NodeHandle): boolean {
    if (!this.leafSet.wants(h.id)) return false
    const { added, evicted } = this.leafSet.add(h)
    if (!added) return false
    this.#notify(h, true)
    for (const e of evicted) this.#notify(e, false)
    return true
  }

  /** Sends hello to `h`; resolves with its leaf set, or undefined if it did not answer in time. */
  hello(h: NodeHandle, timeoutMs = this.liveness.rto(h.id) * 2): Promise<NodeHandle[] | undefined> {
    const { nonce, reply } = this.#hellos.open(timeoutMs)
    this.#send(h, 'hello', { nonce }, () => this.#hellos.settle(nonce, undefined))
    return reply
  }

  #notify(h: NodeHandle, joined: boolean): void {
    for (const app of this.#apps.values()) app.update?.(h, joined)
  }

  // ---------------------------------------------------------------- join support (used by JoinApp)

  /** Sends a message of Pastry's own protocol (for the join application). */
  sendControl<N extends PastryMessageName>(to: NodeHandle, name: N, body: unknown, onFail?: () => void): void {
    this.#send(to, name, body, onFail)
  }

  /**
   * Probes each candidate for the leaf set (in parallel) and admits those that are alive and
   * ready; returns what their replies reveal. Candidates only for the routing table go into
   * empty cells unprobed: the row request sent to every entry once this node is ready measures
   * them (and a silent one is checked and dropped).
   */
  async probeAndAdmit(candidates: readonly NodeHandle[], probed: Set<string>): Promise<NodeHandle[]> {
    // The leaf set these candidates would make, were they all alive: those are probed.
    const wouldBe = new LeafSet(this.localHandle, this.#opts.leafSetSize)
    for (const h of this.leafSet.members()) wouldBe.add(h)
    for (const h of candidates) if (!h.id.equals(this.localHandle.id)) wouldBe.add(h)
    const unique: NodeHandle[] = []
    for (const h of candidates) {
      if (probed.has(h.id.hex) || h.id.equals(this.localHandle.id)) continue
      if (wouldBe.has(h.id)) {
        probed.add(h.id.hex)
        unique.push(h)
      } else if (!this.liveness.deadWithin(h.id, C.DEAD_QUARANTINE_MS)) this.#considerForTable(h)
    }
    this.metrics.counter('epost_pastry_probe_join_total').inc(unique.length)
    const replies = await Promise.all(unique.map(async (h) => ({ h, r: await this.probe(h, true) })))
    const more: NodeHandle[] = []
    for (const { h, r } of replies) {
      if (r === undefined) {
        this.liveness.suspect(h)
        continue
      }
      // A node that is itself still joining is admitted only into the leaf set: it is a
      // concurrent joiner next to us, and both must know each other before either is ready
      // (our hello makes it take us in). It holds what it would be root for until it is ready.
      if (!r.ready) {
        this.#admitToLeafSet(h)
        continue
      }
      this.#admit(h, false)
      if (r.leafSet !== undefined) more.push(...r.leafSet)
    }
    return more
  }

  /** @internal for JoinApp: the leaf set is confirmed; this node may act as a root. */
  becomeReady(): void {
    if (this.#ready) return
    this.#ready = true
    this.#log.debug('ready', { leafSet: this.leafSet.size, table: this.table.size })
    this.#router.releaseHeld()
    // Second join phase (Pastry §2.4/§2.5): each entry's copy of its row offers candidates for
    // ours, and the nearest per cell is kept. The same probe measures the entry (join admitted
    // it unprobed) and tells it we exist, so it can take us into its own table.
    for (let r = 0; r <= this.table.lastRow; r++) for (const e of this.table.row(r)) this.fetchRow(e.handle, r, !this.leafSet.has(e.handle.id))
  }

  /** @internal for Maintenance. */
  releaseStaleHeld(): void {
    this.#router.releaseStaleHeld()
  }

  /** Pending work, for tests and the simulator. */
  stats(): { pendingRoutes: number; pendingProbes: number; held: number; leafSet: number; table: number } {
    return { pendingRoutes: this.#router.inCustody, pendingProbes: this.#probes.size, held: this.#router.held, leafSet: this.leafSet.size, table: this.table.size }
  }
}

/** Factory (STYLE.md): `pastry(init)(components)`. */
export function pastry(init: PastryInit = {}): (components: PastryComponents) => PastryNode {
  return (components) => new PastryNode(init, components)
}
