import type { Clock, Id, NodeHandle, Rng, Timer } from '@epost/core'
import * as C from './constants.js'
import { joinRequestBody } from './join.js'
import type { LeafSet } from './leaf-set.js'
import type { Liveness } from './liveness.js'
import type { Membership } from './membership.js'
import type { MessageBody, PastryMessageName } from './messages.js'
import type { ProbeExtra } from './prober.js'
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
  check(h: NodeHandle, wantLeafSet: boolean, reason: string, extra?: ProbeExtra): Promise<MessageBody<'probeReply'> | undefined>
  /** Our leaf set in wire form (pushed to the neighbours). */
  wireLeafSet(): [Uint8Array, string[]]
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
  #rowCursor = 0
  /** Row exchange: often while cells keep being taken. */
  readonly #rows: Trickle
  /** Routing-table probe rounds: how long a quiet spell lets them wait (deaths bring it back), and when the last ran. */
  readonly #tableRounds: Trickle
  #tableRanAt: number
  /** Partition checks: often while nodes are declared dead, or dead ones answer. */
  readonly #partitions: Trickle
  /** Dead nodes that answered a partition check. */
  #revived = 0
  /** What we last had from our neighbour on each side (cw, ccw). */
  readonly #sides: [NeighbourNews, NeighbourNews] = [noNews(undefined), noNews(undefined)]

  constructor(host: MaintenanceHost, clock: Clock, rng: Rng, intervals: MaintenanceIntervals) {
    this.#host = host
    this.#clock = clock
    this.#rng = rng
    this.#intervals = intervals
    this.#rows = new Trickle(intervals.rowExchangeIntervalMs, C.ROW_EXCHANGE_BACKOFF, () => host.table.taken)
    this.#tableRounds = new Trickle(C.TABLE_PROBE_INTERVAL_MS, C.TABLE_PROBE_BACKOFF, () => host.liveness.deaths)
    this.#tableRanAt = clock.now()
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
   * Probes the immediate neighbours every round, pushing our leaf set and asking for theirs
   * (FreePastry's periodic leaf-set protocol: enough to learn of joins and failures on both
   * sides). A neighbour that pushed its leaf set to us this round is not probed: one exchange a
   * pair a round tells both sides all. The other members are not probed: a leaf set that reaches
   * us shows which of them its sender no longer holds (#checkGaps), and a node whose neighbour
   * died pushes its leaf set to all its members (leafSetLostMember). So a quiet leaf set costs
   * one exchange per neighbour a round instead of one per member (docs/architecture.md,
   * "leaf-set gaps instead of full rounds").
   */
  #probeLeafSet(force = false): void {
    const { leafSet } = this.#host
    const now = this.#clock.now()
    // A neighbour pushes about once a period (jittered by ±10 %); a little more than that
    // without a push and we probe it ourselves.
    const fresh = now - 1.25 * this.#intervals.leafProbeIntervalMs
    for (const cw of [true, false]) {
      const neighbour = (cw ? leafSet.cw : leafSet.ccw)[0]
      if (neighbour === undefined) continue
      const side = this.#sides[cw ? 0 : 1]
      if (!force && side.pushedAt > fresh && side.id?.equals(neighbour.id) === true) continue
      void this.#host.check(neighbour, true, 'leafset', { own: this.#host.wireLeafSet() }).then((r) => {
        if (r?.leafSet !== undefined && this.#news(this.#side(cw, neighbour), r.leafSet)) this.#leafSetNews(neighbour, r.leafSet)
      })
    }
  }

  /**
   * A member was declared dead and has left the leaf set. The neighbours get our leaf set at
   * once; and if it was a neighbour (we are among the first to know), so does every member, each
   * of which finds it missing and checks it itself: the death reaches all that hold it in the
   * time of one check.
   */
  leafSetLostMember(wasNeighbour: boolean): void {
    if (!this.#running) return
    this.#probeLeafSet(true)
    if (!wasNeighbour) return
    const { leafSet } = this.#host
    const own = this.#host.wireLeafSet()
    for (const h of leafSet.members()) if (h !== leafSet.cw[0] && h !== leafSet.ccw[0]) void this.#host.check(h, false, 'leafnews', { own })
  }

  /** A node's probe carried its leaf set (`theirs`): news of nodes near us, and, from a neighbour, this round's exchange with it. */
  onPushedLeafSet(from: NodeHandle, theirs: readonly NodeHandle[]): void {
    const { leafSet } = this.#host
    let news = true
    for (const cw of [true, false]) {
      if ((cw ? leafSet.cw : leafSet.ccw)[0]?.id.equals(from.id) !== true) continue
      const side = this.#side(cw, from)
      side.pushedAt = this.#clock.now()
      news = this.#news(side, theirs)
    }
    if (news) this.#leafSetNews(from, theirs)
  }

  /** The record of our neighbour on the `cw` (or ccw) side, started afresh if that is no longer `h`. */
  #side(cw: boolean, h: NodeHandle): NeighbourNews {
    const i = cw ? 0 : 1
    const side = this.#sides[i]
    if (side.id?.equals(h.id) === true) return side
    return (this.#sides[i] = noNews(h.id))
  }

  /**
   * Is `theirs` news: not the leaf set this neighbour sent last time, or sent before our own
   * changed? Remembers it. (A quiet ring's exchanges change nothing.)
   */
  #news(side: NeighbourNews, theirs: readonly NodeHandle[]): boolean {
    const version = this.#host.leafSet.version
    const same = side.version === version && sameHandles(side.theirs, theirs)
    side.theirs = theirs
    side.version = version
    return !same
  }

  /** A leaf set that is news: its members are candidates, and those of ours it lacks are checked. */
  #leafSetNews(from: NodeHandle, theirs: readonly NodeHandle[]): void {
    this.#checkGaps(from, theirs)
    this.#host.membership.offer(theirs)
  }

  /**
   * `from` holds in its leaf set every live node it knows in the arc that set spans: the members
   * of ours in that arc that `theirs` lacks have died (their neighbours declared them dead) or
   * have not reached `from` yet. Each is checked (even one heard from a moment ago: it may have
   * died since, and an unchanged leaf set is not looked at again; a first version that skipped
   * those left dead members in place for good in the WebSocket ring test).
   */
  #checkGaps(from: NodeHandle, theirs: readonly NodeHandle[]): void {
    const host = this.#host
    const f = from.id
    let lo = f
    let hi = f
    for (const x of theirs) {
      if (f.nearerCw(x.id)) {
        if (f.compareCw(x.id, hi) > 0) hi = x.id
      } else if (f.compareCcw(x.id, lo) > 0) lo = x.id
    }
    for (const h of host.leafSet.members()) {
      if (h.id.equals(f) || !h.id.isBetween(lo, hi) || theirs.some((x) => x.id.equals(h.id))) continue
      void host.check(h, false, 'leafgap')
    }
  }

  /**
   * Routing-table entries are checked on use (a silent hop is suspected and probed), and those not
   * heard from since the last round are probed, so that crashed entries are replaced before
   * messages have to be rerouted around them; traffic counts as a sign of life. A round runs every
   * TABLE_PROBE_INTERVAL_MS while this node sees peers declared dead; in a quiet spell the wait
   * between rounds doubles, up to TABLE_PROBE_BACKOFF times that, and the first death seen brings
   * the next round within a period. MSPastry tunes its routing-table probing to the failure rate
   * in the same spirit.
   */
  #probeTable(): void {
    const host = this.#host
    const now = this.#clock.now()
    // Ticks come a period apart (±10 %): a quiet wait is over at the tick nearest its end; a
    // death since the last round ends it at once.
    if (!this.#tableRounds.moved && now - this.#tableRanAt + C.TABLE_PROBE_INTERVAL_MS / 2 < this.#tableRounds.period) return
    const stale = this.#tableRanAt
    this.#tableRanAt = now
    this.#tableRounds.step()
    for (const e of host.table.entries()) {
      if (host.leafSet.has(e.handle.id) || host.liveness.lastHeard(e.handle.id) >= stale) continue
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

  /** Have the events moved since the last step? */
  get moved(): boolean {
    return this.#events() !== this.#seen
  }

  /** Called at each run of the task: sets the period until the next. */
  step(): void {
    const n = this.#events()
    this.period = n !== this.#seen ? this.#base : Math.min(this.period * 2, this.#base * this.#backoff)
    this.#seen = n
  }
}

/** What we last had from a leaf-set neighbour: when it pushed its leaf set to us, and the last one it sent (and our leaf set's version then). */
interface NeighbourNews {
  readonly id: Id | undefined
  pushedAt: number
  theirs: readonly NodeHandle[]
  version: number
}

function noNews(id: Id | undefined): NeighbourNews {
  return { id, pushedAt: -Infinity, theirs: [], version: -1 }
}

/** The same handles in the same order (decoded handles usually share their objects). */
function sameHandles(a: readonly NodeHandle[], b: readonly NodeHandle[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as NodeHandle
    const y = b[i] as NodeHandle
    if (x !== y && (x.address !== y.address || !x.id.equals(y.id))) return false
  }
  return true
}
