import type { Clock, Counter, NodeHandle } from '@epost/core'
import * as C from './constants.js'
import { HandleMap } from './liveness.js'
import type { Liveness } from './liveness.js'
import type { MessageBody } from './messages.js'
import { PendingReplies } from './pending.js'
import type { RoutingTable } from './routing-table.js'

type ProbeReply = MessageBody<'probeReply'>

/** What a probe may ask for besides liveness: a row of the table, and telling the peer we are ready. */
export interface ProbeExtra {
  row?: number
  announce?: boolean
  rtt?: number
  /** Our leaf set in wire form, pushed to a neighbour. */
  own?: [Uint8Array, string[]]
  /** Take us into your leaf set (a joiner's probe of its would-be leaf set). */
  hello?: boolean
}

/** What the prober needs of its node. */
export interface ProberHost {
  readonly liveness: Liveness
  readonly table: RoutingTable
  isRunning(): boolean
  send(to: NodeHandle, name: 'probe' | 'hello', body: unknown, onFail: () => void): void
  /** A check gave up on `h` (Membership.declareDead). */
  declareDead(h: NodeHandle): void
  /** The counter of checks started for `reason`. */
  checks(reason: string): Counter
}

/**
 * A node's request/reply exchanges with one peer: a probe (alive? ready? its leaf set or a row,
 * and the RTT on the way), a liveness check (probes with retries, then a verdict), and a hello.
 * Replies count only from the peer asked (PendingReplies).
 */
export class Prober {
  readonly #host: ProberHost
  readonly #clock: Clock
  readonly #retries: number
  readonly #probes: PendingReplies<ProbeReply>
  readonly #hellos: PendingReplies<NodeHandle[]>
  readonly #echoes: PendingReplies<true>
  /** Liveness checks running, by handle (id and address: a forged handle must not share the real node's check). */
  readonly #checks = new HandleMap<Promise<ProbeReply | undefined>>()

  constructor(host: ProberHost, clock: Clock, retries: number) {
    this.#host = host
    this.#clock = clock
    this.#retries = retries
    this.#probes = new PendingReplies(clock)
    this.#hellos = new PendingReplies(clock)
    this.#echoes = new PendingReplies(clock)
  }

  /** Probes waiting for their reply. */
  get pending(): number {
    return this.#probes.size
  }

  /**
   * A nonce for `h` to echo (sent in our reply to its probe, now); `measured` resolves true once the
   * echo came in time and its round trip was taken as a measured RTT (onEcho), as a probe's is;
   * undefined if it did not come.
   */
  expectEcho(h: NodeHandle, timeoutMs = this.#host.liveness.rto(h.id)): { nonce: number; measured: Promise<true | undefined> } {
    this.#host.checks('echo').inc()
    const { nonce, reply } = this.#echoes.open(h.id.hex, timeoutMs)
    return { nonce, measured: reply }
  }

  /** An echo from `from`, measured; false if none from it waits under that nonce. */
  onEcho(from: NodeHandle, nonce: number): boolean {
    return this.#settleMeasured(this.#echoes, nonce, true, from)
  }

  /** Records a measured round trip to `h` (liveness and the table's copy). */
  #measured(h: NodeHandle, rtt: number): void {
    const { liveness, table } = this.#host
    liveness.observeRtt(h, rtt)
    const srtt = liveness.rtt(h.id)
    if (srtt !== undefined) table.setRtt(h.id, srtt)
  }

  /** One probe with a timeout; undefined if it went unanswered. Its RTT is measured when the reply comes (onProbeReply). */
  probe(h: NodeHandle, wantLeafSet: boolean, timeoutMs = this.#host.liveness.rto(h.id), extra?: ProbeExtra): Promise<ProbeReply | undefined> {
    if (!this.#host.isRunning()) return Promise.resolve(undefined)
    const { nonce, reply } = this.#probes.open(h.id.hex, timeoutMs)
    this.#host.send(h, 'probe', extra === undefined ? { nonce, leafSet: wantLeafSet } : { nonce, leafSet: wantLeafSet, ...extra }, () => this.#probes.settle(nonce, undefined))
    return reply
  }

  /**
   * Is `h` alive? Probes with retries (the first silence marks it suspected); after `retries`
   * more silences it is declared dead. Concurrent checks of one handle share one run (the first
   * one's `extra` goes with every probe of it).
   */
  check(h: NodeHandle, wantLeafSet: boolean, reason: string, extra?: ProbeExtra): Promise<ProbeReply | undefined> {
    const running = this.#checks.get(h)
    if (running !== undefined) return running
    const { liveness } = this.#host
    const counter = this.#host.checks(reason)
    const run = (async () => {
      try {
        const startedAt = this.#clock.now()
        let timeout = liveness.rto(h.id)
        for (let attempt = 0; attempt <= this.#retries; attempt++) {
          counter.inc()
          const r = await this.probe(h, wantLeafSet, timeout, extra)
          if (!this.#host.isRunning()) return undefined
          if (r !== undefined) return r
          // A handle that lies about its id says nothing about the node that has the id.
          if (liveness.forged(h)) return undefined
          liveness.suspect(h)
          timeout = Math.min(timeout * 2, C.RTO_MAX_MS * 2)
        }
        // Any frame from it meanwhile (a late reply included) proves it alive, only slow: a node
        // declared dead while it still serves would leave its keys with two roots.
        if (liveness.lastHeard(h.id) <= startedAt) this.#host.declareDead(h)
        return undefined
      } finally {
        // The body awaits its first probe before it can get here, so the run is in #checks by then.
        this.#checks.delete(h)
      }
    })()
    this.#checks.set(h, run)
    return run
  }

  /** Is a liveness check of `h` running? */
  checking(h: NodeHandle): boolean {
    return this.#checks.has(h)
  }

  /** Sends hello to `h`; resolves with its leaf set, or undefined if it did not answer in time. */
  hello(h: NodeHandle, timeoutMs = this.#host.liveness.rto(h.id) * 2): Promise<NodeHandle[] | undefined> {
    const { nonce, reply } = this.#hellos.open(h.id.hex, timeoutMs)
    this.#host.send(h, 'hello', { nonce }, () => this.#hellos.settle(nonce, undefined))
    return reply
  }

  /** A probe reply from `from`, measured; false if no probe to it waits under that nonce. */
  onProbeReply(from: NodeHandle, reply: ProbeReply): boolean {
    return this.#settleMeasured(this.#probes, reply.nonce, reply, from)
  }

  /**
   * Settles the request `nonce` to `from` and records its round trip, before whoever awaits the
   * reply runs (a microtask later); false if no request to `from` waits under that nonce.
   */
  #settleMeasured<T>(pending: PendingReplies<T>, nonce: number, value: T, from: NodeHandle): boolean {
    const openedAt = pending.settle(nonce, value, from.id.hex)
    if (openedAt === undefined) return false
    this.#measured(from, this.#clock.now() - openedAt)
    return true
  }

  /** A hello's answer from `from`; false if no hello to it waits under that nonce. */
  onHelloAck(from: NodeHandle, nonce: number, leafSet: NodeHandle[]): boolean {
    return this.#hellos.settle(nonce, leafSet, from.id.hex) !== undefined
  }

  /** Settles everything still waiting with undefined (the node stops). */
  stop(): void {
    this.#probes.settleAll()
    this.#hellos.settleAll()
    this.#echoes.settleAll()
  }
}
