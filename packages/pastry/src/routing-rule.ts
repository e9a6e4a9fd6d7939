import type { Clock, Id, NodeHandle } from '@epost/core'
import * as C from './constants.js'
import type { LeafSet } from './leaf-set.js'
import type { Liveness } from './liveness.js'
import type { RoutingTable } from './routing-table.js'
import { SpareAge, hopThroughCell } from './spares.js'

/** The node state the routing rule reads. */
export interface RoutingRuleHost {
  readonly localHandle: NodeHandle
  readonly leafSet: LeafSet
  readonly table: RoutingTable
  readonly liveness: Liveness
  readonly b: number
}

/**
 * Pastry's routing rule (docs/pastry.md, "Routing"): the leaf set when the key is in its span, else
 * the routing-table entry for the next digit (or, next to the key, a spare of its cell or a node
 * of the cells beside it), else any known node that is closer with as long a prefix.
 */
export class RoutingRule {
  readonly #host: RoutingRuleHost
  readonly #clock: Clock
  /** How long spares are trusted (the leaf set's deaths set it). */
  readonly #spareAge: SpareAge

  constructor(host: RoutingRuleHost, clock: Clock) {
    this.#host = host
    this.#clock = clock
    this.#spareAge = new SpareAge(clock.now(), C.SPARE_MAX_AGE_MS, C.SPARE_DEATH_RISK)
  }

  /** A leaf-set member was declared dead. */
  leafDeath(): void {
    this.#spareAge.death(this.#clock.now())
  }

  /** The hops the message being routed has failed at (nextHop's argument, for the checks below). */
  #exclude: ReadonlySet<string> | undefined

  /** Neither suspected nor dead, nor failed for this message. Made once: nextHop runs per hop. */
  readonly #usable = (h: NodeHandle): boolean => this.#exclude?.has(h.id.hex) !== true && this.#host.liveness.usable(h.id)

  /** #usable, and not a handle found to be forged since it was noted (spares). */
  readonly #usableSpare = (h: NodeHandle): boolean => this.#usable(h) && !this.#host.liveness.forged(h)

  /** The next hop toward `key`, or undefined when this node is the root. */
  nextHop(key: Id, exclude?: ReadonlySet<string>): NodeHandle | undefined {
    const { localHandle: self, leafSet, table, liveness, b } = this.#host
    this.#exclude = exclude
    const usable = this.#usable
    if (key.equals(self.id)) return undefined
    if (leafSet.covers(key)) {
      // Choosing the root: a merely suspected node stays a candidate (if it is slow rather than
      // dead, handing its keys to a neighbour would give them two roots); only a dead verdict,
      // or a failed attempt on this message, moves the root.
      const members = leafSet.members()
      const tops = leafSet.memberTops()
      let best = self
      let bestTop = self.id.fingerprint
      for (let i = 0; i < members.length; i++) {
        const h = members[i] as NodeHandle
        if (!key.isCloserWith(tops[i] as number, h.id, bestTop, best.id) || exclude?.has(h.id.hex) === true || liveness.status(h.id) === 'dead') continue
        best = h
        bestTop = tops[i] as number
      }
      return best === self ? undefined : best
    }
    const row = self.id.sharedPrefixLength(key, b)
    const col = key.digit(row, b)
    const e = table.get(row, col)
    if (e !== undefined && usable(e.handle)) {
      if (table.spareSlots === 0) return e.handle
      const near = this.#closestNear(key, row, col)
      return near === undefined ? e.handle : hopThroughCell(key, e.handle, near, leafSet.estimatedRingSize())
    }
    // Rare case: any known node that shares as long a prefix and is numerically closer.
    let best: NodeHandle | undefined
    const selfDist = key.distance(self.id)
    const offer = (h: NodeHandle): void => {
      if (!usable(h) || h.id.sharedPrefixLength(key, b) < row) return
      if (key.distance(h.id) >= selfDist) return
      if (best === undefined || key.isCloser(h.id, best.id)) best = h
    }
    for (let r = row; r <= table.lastRow; r++) for (const te of table.row(r)) offer(te.handle)
    for (const h of leafSet.members()) offer(h)
    return best
  }

  /**
   * The usable node closest to `key` among the spares of its cell (row, col) and of the two cells
   * beside it, and those cells' entries: a key near the edge of its cell often has its root across the
   * edge, where the cell's own nodes would reach it only through one more hop.
   */
  #closestNear(key: Id, row: number, col: number): NodeHandle | undefined {
    const { table, leafSet } = this.#host
    const now = this.#clock.now()
    const since = now - this.#spareAge.maxAge(now, leafSet.size)
    // A spare found to be a forged handle since it was noted is not tried again.
    const ok = this.#usableSpare
    let best = table.closestSpare(row, col, key, since, ok)
    for (let c = col - 1; c <= col + 1; c += 2) {
      if (c < 0 || c >= table.cols) continue
      best = closerOf(key, best, table.closestSpare(row, c, key, since, ok))
      const x = table.get(row, c)?.handle
      if (x !== undefined && ok(x)) best = closerOf(key, best, x)
    }
    return best
  }
}

/** Of `best` and `h`, the one closer to `key` (`best` on a tie, either if the other is undefined). */
function closerOf(key: Id, best: NodeHandle | undefined, h: NodeHandle | undefined): NodeHandle | undefined {
  return h !== undefined && (best === undefined || key.isCloser(h.id, best.id)) ? h : best
}
