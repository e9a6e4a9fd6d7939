import type { Clock, NodeHandle, Rng, Timer } from '@epost/core'
import * as C from './constants.js'
import { joinRequestBody } from './join.js'
import type { LeafSet } from './leaf-set.js'
import type { Liveness } from './liveness.js'
import type { Membership } from './membership.js'
import type { MessageBody, PastryMessageName } from './messages.js'
import type { RoutingTable } from './routing-table.js'

/** What the periodic tasks need of their node. */
export interface MaintenanceHost {
  readonly localHandle: NodeHandle
  readonly leafSet: LeafSet
  readonly table: RoutingTable
  readonly liveness: Liveness
  readonly ready: boolean
  readonly bootstraps: readonly NodeHandle[]
  /** Liveness check with retries; declares the node dead if it stays silent. */
  check(h: NodeHandle, wantLeafSet: boolean, reason: string): Promise<MessageBody<'probeReply'> | undefined>
  probe(h: NodeHandle, wantLeafSet: boolean): Promise<MessageBody<'probeReply'> | undefined>
  /** Where candidates go, and how a row is asked for (its entries become candidates). */
  readonly membership: Pick<Membership, 'offer' | 'fetchRow'>
  sendControl<N extends PastryMessageName>(to: NodeHandle, name: N, body: unknown): void
  /** Hands messages held too long by a node that is still not ready to a ready neighbour. */
  releaseStaleHeld(): void
}

export interface MaintenanceIntervals {
  leafProbeIntervalMs: number
  rowExchangeIntervalMs: number
  partitionCheckIntervalMs: number
}

/**
 * The periodic work that keeps a node's state true while nodes come and go: leaf-set probing
 * (with leaf-set exchange with the immediate neighbours), routing-table probing and row
 * exchange (PNS), partition healing, and the release of stale held messages. One timer per task,
 * each period jittered by ±10 %.
 */
export class Maintenance {
  readonly #host: MaintenanceHost
  readonly #clock: Clock
  readonly #rng: Rng
  readonly #intervals: MaintenanceIntervals
  readonly #timers = new Map<string, Timer>()
  #running = false
  #probeRound = 0
  #rowCursor = 0
  /** Row exchange: often while cells keep being taken. */
  readonly #rows: Trickle
  /** Partition checks: often while nodes are declared dead, or dead ones answer. */
  readonly #partitions: Trickle
  /** Dead nodes that answered a partition check. */
  #revived = 0

  constructor(host: MaintenanceHost, clock: Clock, rng: Rng, intervals: MaintenanceIntervals) {
    this.#host = host
    this.#clock = clock
    this.#rng = rng
    this.#intervals = intervals
    this.#rows = new Trickle(intervals.rowExchangeIntervalMs, C.ROW_EXCHANGE_BACKOFF, () => host.table.taken)
    this.#partitions = new Trickle(intervals.partitionCheckIntervalMs, C.PARTITION_CHECK_BACKOFF, () => host.liveness.deaths + this.#revived)
  }

  /**
   * Hands on messages held too long while the node is still joining: runs from the start of the
   * join (start() runs the rest once the node is ready).
   */
  startHeldRelease(): void {
    this.#running = true
    if (!this.#timers.has('held')) this.#every('held', () => C.HOLD_TIMEOUT_MS, () => this.#host.releaseStaleHeld())
  }

  start(): void {
    if (this.#timers.has('leaf-set')) return
    this.startHeldRelease()
    this.#every('leaf-set', () => this.#intervals.leafProbeIntervalMs, () => this.#probeLeafSet())
    this.#every('rows', () => this.#rows.period, () => this.#exchangeRow())
    this.#every('table', () => C.TABLE_PROBE_INTERVAL_MS, () => this.#probeTable())
    this.#every('partition', () => this.#partitions.period, () => this.#checkPartition())
  }

  stop(): void {
    this.#running = false
    for (const t of this.#timers.values()) t.cancel()
    this.#timers.clear()
  }

  /** Asks the proximally nearest entry of `row` for its copy of the row. */
  #refineRow(row: number): void {
    let best: { handle: NodeHandle; rtt: number } | undefined
    for (const e of this.#host.table.row(row)) if (best === undefined || e.rtt < best.rtt) best = e
    if (best !== undefined) this.#host.membership.fetchRow(best.handle, row)
  }

  /** Runs `fn` every `period()` ms (asked afresh each time), jittered by ±10 %. */
  #every(name: string, period: () => number, fn: () => void): void {
    const schedule = (): void => {
      this.#timers.set(
        name,
        this.#clock.setTimeout(
          () => {
            if (!this.#running) return
            fn()
            schedule()
          },
          period() * (0.9 + 0.2 * this.#rng.next()),
        ),
      )
    }
    schedule()
  }

  /**
   * Probes the leaf set: the immediate neighbours every round, asking for their leaf sets
   * (FreePastry's periodic leaf-set protocol: enough to learn of joins and failures on both
   * sides), and every FULL_LEAF_PROBE_EVERY-th round every member not heard from since the last
   * full round (members probe each other, so one probe a pair per round is enough).
   */
  #probeLeafSet(): void {
    const host = this.#host
    const neighbours = new Set([host.leafSet.cw[0]?.id.hex, host.leafSet.ccw[0]?.id.hex])
    const all = this.#probeRound++ % C.FULL_LEAF_PROBE_EVERY === 0
    const quiet = this.#clock.now() - this.#intervals.leafProbeIntervalMs * C.FULL_LEAF_PROBE_EVERY
    for (const h of host.leafSet.members()) {
      const neighbour = neighbours.has(h.id.hex)
      if (!neighbour && (!all || host.liveness.lastHeard(h.id) > quiet)) continue
      void host.check(h, neighbour, 'leafset').then((r) => {
        if (r?.leafSet !== undefined) host.membership.offer(r.leafSet)
      })
    }
  }

  /**
   * Routing-table entries are checked on use (a silent hop is suspected and probed), and every
   * TABLE_PROBE_INTERVAL_MS those not heard from in that time are probed, so that crashed entries
   * are replaced before messages have to be rerouted around them. Traffic counts as a sign of life.
   */
  #probeTable(): void {
    const host = this.#host
    const stale = this.#clock.now() - C.TABLE_PROBE_INTERVAL_MS
    for (const e of host.table.entries()) {
      if (host.leafSet.has(e.handle.id) || host.liveness.lastHeard(e.handle.id) > stale) continue
      void host.check(e.handle, false, 'table')
    }
  }

  /**
   * Pastry §2.5: ask the nearest entry of one row, round robin, for its copy of that row;
   * candidates closer than our entries replace them (PNS). The period adapts (see
   * ROW_EXCHANGE_INTERVAL_MS).
   */
  #exchangeRow(): void {
    // Often while the table improves (after a join, while the ring grows or churns), rarely once
    // exchanges stop bringing closer entries.
    this.#rows.step()
    const last = this.#host.table.lastRow
    if (last < 0) return
    this.#refineRow(this.#rowCursor++ % (last + 1))
  }

  /**
   * Partition healing (FreePastry's PartitionHandler): probe a node we declared dead, or a
   * bootstrap we no longer know; if it answers, it may be on the other side of a healed
   * partition, and a join request through it for our own id brings back the nodes nearest to us
   * there. The check runs every partitionCheckIntervalMs while nodes are being declared dead (a
   * partition declares the whole other side dead) or a dead one turns out alive; otherwise its
   * period doubles, up to PARTITION_CHECK_BACKOFF times, so that a quiet ring does not send a join
   * request through its bootstrap every minute for ever.
   */
  #checkPartition(): void {
    const host = this.#host
    this.#partitions.step()
    if (!host.ready) return
    const known = (h: NodeHandle): boolean => host.leafSet.has(h.id) || host.table.has(h.id)
    const dead = host.liveness.dead(C.MAX_REMEMBERED_DEAD)
    const candidates = [...dead, ...host.bootstraps.filter((h) => !known(h))]
    if (candidates.length === 0) return
    const h = this.#rng.pick(candidates)
    void host.probe(h, true).then((r) => {
      if (r === undefined || !r.ready) return
      if (dead.includes(h)) this.#revived++
      host.liveness.heard(h)
      host.membership.offer([h, ...(r.leafSet ?? [])])
      host.sendControl(h, 'joinRequest', joinRequestBody(host.localHandle))
    })
  }
}

/**
 * A Trickle-style period: the base while `events` (a count that only grows) has moved since the
 * last step (or since construction), doubling at each quiet step up to `backoff` times the base.
 */
class Trickle {
  period: number
  readonly #base: number
  readonly #backoff: number
  readonly #events: () => number
  #seen: number

  constructor(base: number, backoff: number, events: () => number) {
    this.#base = base
    this.#backoff = backoff
    this.#events = events
    this.#seen = events()
    this.period = base
  }

  /** Called at each run of the task: sets the period until the next. */
  step(): void {
    const n = this.#events()
    this.period = n !== this.#seen ? this.#base : Math.min(this.period * 2, this.#base * this.#backoff)
    this.#seen = n
  }
}
