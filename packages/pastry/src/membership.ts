import type { Counter, Logger, NodeHandle, Rng } from '@epost/core'
import * as C from './constants.js'
import { LeafSet } from './leaf-set.js'
import type { Liveness } from './liveness.js'
import type { MessageBody } from './messages.js'
import type { ProbeExtra } from './prober.js'
import { CellHolds, UNBOUNDED, rowBounds, worthProbing } from './pns.js'
import type { RttBounds } from './pns.js'
import type { RoutingTable } from './routing-table.js'

type ProbeReply = MessageBody<'probeReply'>

/** What membership needs of its node: its state, and the request/reply exchanges on the wire. */
export interface MembershipHost {
  readonly localHandle: NodeHandle
  readonly leafSet: LeafSet
  readonly table: RoutingTable
  readonly liveness: Liveness
  readonly ready: boolean
  probe(h: NodeHandle, wantLeafSet: boolean, timeoutMs?: number, extra?: ProbeExtra): Promise<ProbeReply | undefined>
  /** Liveness check with retries; declares `h` dead (Membership.declareDead) if it stays silent. */
  check(h: NodeHandle, wantLeafSet: boolean, reason: string): Promise<ProbeReply | undefined>
  /** Is a liveness check of `h` running? */
  checking(h: NodeHandle): boolean
  hello(h: NodeHandle): Promise<NodeHandle[] | undefined>
  /** A nonce for `h` to echo straight back, and whether it did in time (its RTT is then measured). */
  expectEcho(h: NodeHandle): { nonce: number; measured: Promise<true | undefined> }
  /** Remembers `h` as a spare of its routing-table cell (a shortcut when it lies next to a key). */
  noteSpare(h: NodeHandle, cell?: { row: number; col: number }): void
  /** A leaf-set member was declared dead (the death rate bounds how long spares are trusted). */
  leafDeath(): void
  /** A member left the leaf set because it died (after the removal): the neighbours, or with `wasNeighbour` all members, are told. */
  leafSetLostMember(wasNeighbour: boolean): void
  /** The applications' `update` upcall. */
  notify(h: NodeHandle, joined: boolean): void
}

export interface MembershipCounters {
  /** Candidates not probed because they could not win, or would win by little (PNS). */
  pruned: Counter
  /** Candidates probed by a join. */
  joinProbes: Counter
  deaths: Counter
}

/**
 * Who is in the leaf set and the routing table: candidates come in (from leaf sets, rows, join
 * replies, announcements), are probed where they would improve either, and are admitted once
 * they answer and are ready; the dead leave, and what they leave behind is repaired. Proximity
 * neighbour selection (which candidates are worth a probe, one per cell at a time) lives here.
 */
export class Membership {
  readonly #host: MembershipHost
  readonly #rng: Rng
  readonly #m: MembershipCounters
  readonly #log: Logger
  readonly #leafSetSize: number
  readonly #holds: CellHolds

  constructor(host: MembershipHost, rng: Rng, counters: MembershipCounters, log: Logger, leafSetSize: number) {
    this.#host = host
    this.#rng = rng
    this.#m = counters
    this.#log = log
    this.#leafSetSize = leafSetSize
    this.#holds = new CellHolds(host.table.cols, (candidates, bounds) => this.offer(candidates, bounds))
  }

  /**
   * Candidates heard of from others. Each must answer a probe over an authenticated connection,
   * say it is ready, and then it is admitted where it improves the leaf set or the routing table
   * (the probe also measures the RTT that proximity neighbour selection compares).
   * `bounds[i]`, when known, bounds the RTT to candidate i (the triangle inequality through the
   * node that told us of it): a candidate not worth probing against its cell's entry is not probed.
   */
  offer(candidates: readonly NodeHandle[], bounds?: readonly RttBounds[]): void {
    for (let i = 0; i < candidates.length; i++) this.#offerOne(candidates[i] as NodeHandle, bounds?.[i] ?? UNBOUNDED, false)
  }

  /**
   * One candidate (offer). With `announced`, `h` has just told us it is ready, in a probe we are
   * about to answer: if only the table wants it, its RTT is measured by an echo of our reply
   * (one frame) instead of a probe of our own (two), and the echo's nonce is returned for the reply.
   */
  #offerOne(h: NodeHandle, bound: RttBounds, announced: boolean): number | undefined {
    const { leafSet, table, liveness } = this.#host
    if (this.#host.checking(h)) {
      // Being checked already: the leaf set, if it wants it, takes it when that check answers
      // (dropping it here would lose it for good where the same leaf set is not offered again).
      if (!leafSet.has(h.id) && leafSet.wants(h.id)) void this.#host.check(h, true, 'candidate').then((r) => r?.ready === true && this.admit(h, true))
      return undefined
    }
    const cell = table.cellOf(h.id)
    if (cell === undefined) return undefined
    const occupant = table.get(cell.row, cell.col)
    const inTable = occupant?.handle.id.equals(h.id) === true
    const inLeaf = leafSet.has(h.id)
    if ((inLeaf && inTable) || this.#refused(h)) return undefined
    // Heard of from a live node: a spare of its cell (no probe needed: routing acks each hop
    // and routes around a spare that has gone).
    if (!inTable) this.#host.noteSpare(h, cell)
    // A member of the leaf set is only a candidate for the table.
    const wantsLeaf = !inLeaf && leafSet.wants(h.id)
    if (!inLeaf && !wantsLeaf) this.#checkBlocker(h)
    const knownRtt = liveness.rtt(h.id)
    const wantsTable = !inTable && (occupant === undefined || knownRtt === undefined || knownRtt < occupant.rtt)
    if (!wantsLeaf && !wantsTable) return undefined
    let release: (() => void) | undefined
    if (!wantsLeaf) {
      // Only the table wants it (PNS): not probed if it is not worth it, and one candidate per
      // cell is measured at a time, since what it measures may rule out the rest.
      if (occupant !== undefined && knownRtt === undefined && !worthProbing(bound, occupant.rtt, C.PNS_PRUNE_SLACK_MS, C.PNS_PROBE_FACTOR)) {
        this.#m.pruned.inc()
        return undefined
      }
      if (this.#holds.wait(cell, h, bound)) return undefined
      release = this.#holds.hold(cell)
      if (announced) {
        const { nonce, measured } = this.#host.expectEcho(h)
        void measured.then((ok) => {
          if (ok) this.admit(h, true)
          release?.()
        })
        return nonce
      }
    }
    void this.#host.check(h, wantsLeaf, 'candidate').then((r) => {
      if (r?.ready === true) {
        this.admit(h, true)
        if (wantsLeaf && r.leafSet !== undefined) this.offer(r.leafSet)
      }
      release?.()
    })
    return undefined
  }

  /**
   * Asks `h` for row `row` of its table (and, with `announce`, tells it we are ready), measuring
   * the RTT on the way; the row's entries are offered as candidates, and (below row 0) the
   * members of its leaf set are kept as spares. If `h` does not answer, a liveness check follows.
   */
  fetchRow(h: NodeHandle, row: number, announce = false): void {
    const { table, liveness } = this.#host
    const rtt = liveness.rtt(h.id)
    const extra = announce ? { row, announce, ...(rtt === undefined ? {} : { rtt: Math.round(rtt) }) } : { row }
    // An entry join admitted unmeasured: candidates for its cell wait for this measurement.
    const cell = table.cellOf(h.id)
    const entry = cell === undefined ? undefined : table.get(cell.row, cell.col)
    const release = cell !== undefined && entry?.handle.id.equals(h.id) === true && entry.rtt === Infinity && !this.#holds.held(cell) ? this.#holds.hold(cell) : undefined
    // Below row 0 the entry's leaf set lies in its cell, a region of a few dozen nodes: its
    // members become spares there (docs/architecture.md, "spares across a cell's edge").
    const wantLeafSet = row > 0
    void this.#host.probe(h, wantLeafSet, undefined, extra).then((r) => {
      release?.()
      if (r === undefined) void this.#host.check(h, false, 'row')
      else {
        if (r.row !== undefined && r.rtts !== undefined) this.offer(r.row, rowBounds(liveness.rtt(h.id), r.rtts))
        if (r.leafSet !== undefined) this.#noteSpares(r.leafSet)
      }
    })
  }

  /**
   * Second join phase (Pastry §2.4/§2.5), once the node is ready: each entry's copy of its row
   * offers candidates for ours, and the nearest per cell is kept. The same probe measures the
   * entry (join admitted it unprobed) and tells it we exist, so it can take us into its own table.
   */
  refineAfterJoin(): void {
    const { table, leafSet } = this.#host
    for (let r = 0; r <= table.lastRow; r++) for (const e of table.row(r)) this.fetchRow(e.handle, r, !leafSet.has(e.handle.id))
  }

  /**
   * A ready node tells us it exists (it asked for one of our rows as it became ready): an empty
   * cell takes it at once; an occupied one only if a probe shows it is closer (PNS). The RTT it
   * measured to us only saves a measurement that could not win (claiming less gains it nothing:
   * we measure before it displaces anyone). Returns the nonce `from` should echo, if we measure
   * it (#offerOne).
   */
  onAnnounce(from: NodeHandle, rtt: number | undefined): number | undefined {
    const { table, leafSet } = this.#host
    const cell = table.cellOf(from.id)
    if (cell !== undefined && table.get(cell.row, cell.col) === undefined) this.#considerForTable(from)
    if (leafSet.wants(from.id)) this.admit(from, true)
    else if (!table.has(from.id)) return this.#offerOne(from, rtt === undefined ? UNBOUNDED : { least: rtt, most: rtt }, true)
    return undefined
  }

  /**
   * Takes `h` into the routing table (if it improves its cell) and the leaf set (if it belongs).
   * With `greet`, a node that enters our leaf set is sent a hello so that it takes us in too.
   */
  admit(h: NodeHandle, greet: boolean): void {
    this.#considerForTable(h)
    if (this.#admitToLeafSet(h) && greet && this.#host.ready) void this.#host.hello(h)
  }

  /**
   * Probes each candidate for the leaf set (in parallel) and admits those that are alive and
   * ready; returns what their replies reveal. Candidates only for the routing table go into
   * empty cells unprobed: the row request sent to every entry once this node is ready measures
   * them (and a silent one is checked and dropped).
   */
  async probeAndAdmit(candidates: readonly NodeHandle[], probed: Set<string>): Promise<NodeHandle[]> {
    const host = this.#host
    // The leaf set these candidates would make, were they all alive: those are probed.
    const wouldBe = new LeafSet(host.localHandle, this.#leafSetSize, host.leafSet.known)
    for (const h of host.leafSet.members()) wouldBe.add(h)
    for (const h of candidates) if (!h.id.equals(host.localHandle.id)) wouldBe.add(h)
    const unique: NodeHandle[] = []
    for (const h of candidates) {
      if (probed.has(h.id.hex) || h.id.equals(host.localHandle.id)) continue
      if (wouldBe.has(h.id)) {
        probed.add(h.id.hex)
        unique.push(h)
      } else if (!host.liveness.deadWithin(h.id, C.DEAD_QUARANTINE_MS)) this.#considerForTable(h)
    }
    this.#m.joinProbes.inc(unique.length)
    // Each probe also says hello: a member that answers has taken us in (JoinApp greets the rest).
    const replies = await Promise.all(unique.map(async (h) => ({ h, r: await host.probe(h, true, undefined, { hello: true }) })))
    const more: NodeHandle[] = []
    for (const { h, r } of replies) {
      if (r === undefined) {
        host.liveness.suspect(h)
        continue
      }
      // A node that is itself still joining is admitted only into the leaf set: it is a
      // concurrent joiner next to us, and both must know each other before either is ready
      // (our hello makes it take us in). It holds what it would be root for until it is ready.
      if (!r.ready) {
        this.#admitToLeafSet(h)
        continue
      }
      this.admit(h, false)
      if (r.leafSet !== undefined) more.push(...r.leafSet)
    }
    return more
  }

  /** A liveness check gave up on `h`: it is dead, and leaves all routing state. */
  declareDead(h: NodeHandle): void {
    const { liveness, leafSet, table } = this.#host
    if (liveness.forged(h)) return
    if (liveness.status(h.id) === 'dead' && !leafSet.has(h.id) && !table.has(h.id)) return
    this.#m.deaths.inc()
    if (leafSet.has(h.id)) this.#host.leafDeath()
    liveness.markDead(h)
    this.#log.debug('peer declared dead', { peer: h.id })
    this.forget(h)
  }

  /** Removes `h` from all routing state and repairs what it leaves behind. */
  forget(h: NodeHandle): void {
    const { leafSet, table } = this.#host
    const wasLeaf = leafSet.has(h.id)
    const cell = table.cellOf(h.id)
    if (table.remove(h.id) && cell !== undefined) this.#repairCell(cell.row)
    if (wasLeaf) {
      const onCw = leafSet.cw.some((x) => x.id.equals(h.id))
      const wasNeighbour = leafSet.cw[0]?.id.equals(h.id) === true || leafSet.ccw[0]?.id.equals(h.id) === true
      leafSet.remove(h.id)
      this.#host.notify(h, false)
      // Refill from the farthest live member on that side (its leaf set extends ours).
      const side = onCw ? leafSet.cw : leafSet.ccw
      const far = side[side.length - 1] ?? leafSet.members()[0]
      if (far !== undefined) void this.#host.check(far, true, 'repair').then((r) => r?.leafSet !== undefined && this.offer(r.leafSet))
      // The others that hold it learn of the death from our leaf set (Maintenance.leafSetLostMember).
      this.#host.leafSetLostMember(wasNeighbour)
    }
  }

  #repairCell(row: number): void {
    const others = this.#host.table.row(row)
    if (others.length > 0) this.fetchRow(this.#rng.pick(others).handle, row)
  }

  /**
   * `h` would refill a short side of the leaf set but for a node we know that lies before it
   * (LeafSet.blocker). That node is checked: alive and ready, it enters the leaf set; silent, it
   * is declared dead and leaves the table, and `h` is offered again.
   */
  #checkBlocker(h: NodeHandle): void {
    const host = this.#host
    const w = host.leafSet.blocker(h.id)
    if (w === undefined || host.checking(w)) return
    void host.check(w, true, 'blocker').then((r) => {
      if (r === undefined) {
        if (!host.table.has(w.id)) this.offer([h])
        return
      }
      if (r.ready) {
        this.admit(w, true)
        if (r.leafSet !== undefined) this.offer(r.leafSet)
      }
    })
  }

  /** Nodes heard of that only serve as spares of their cells (no probe: never PNS candidates). */
  #noteSpares(hs: readonly NodeHandle[]): void {
    for (const h of hs) {
      const cell = this.#host.table.cellOf(h.id)
      if (cell !== undefined && !this.#refused(h)) this.#host.noteSpare(h, cell)
    }
  }

  /** Handles we do not take from others: a node declared dead lately, or a forged (id, address) pair. */
  #refused(h: NodeHandle): boolean {
    const { liveness } = this.#host
    return liveness.deadWithin(h.id, C.DEAD_QUARANTINE_MS) || liveness.forged(h)
  }

  /** Offers `h` to its routing-table cell at the RTT we measured to it (unmeasured: it takes only an empty cell). */
  #considerForTable(h: NodeHandle): void {
    const r = this.#host.table.consider(h, this.#host.liveness.rtt(h.id) ?? Infinity)
    if (!r.taken) this.#host.noteSpare(h)
    else if (r.displaced !== undefined) this.#host.noteSpare(r.displaced)
  }

  /** Puts `h` in the leaf set if it belongs there, with update upcalls; true if it entered. */
  #admitToLeafSet(h: NodeHandle): boolean {
    const leafSet = this.#host.leafSet
    if (!leafSet.wants(h.id)) return false
    const { added, evicted } = leafSet.add(h)
    if (!added) return false
    this.#host.notify(h, true)
    for (const e of evicted) this.#host.notify(e, false)
    return true
  }
}
