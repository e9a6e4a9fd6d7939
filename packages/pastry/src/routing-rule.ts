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

  /** The next hop toward `key`, or undefined when this node is the root. */
  nextHop(key: Id, exclude?: ReadonlySet<string>): NodeHandle | undefined {
    const { localHandle: self, leafSet, table, liveness, b } = this.#host
    const usable = (h: NodeHandle): boolean => exclude?.has(h.id.hex) !== true && liveness.usable(h.id)
    if (key.equals(self.id)) return undefined
    if (leafSet.covers(key)) {
      // Choosing the root: a merely suspected node stays a candidate (if it is slow rather than
      // dead, handing its keys to a neighbour would give them two roots); only a dead verdict,
      // or a failed attempt on this message, moves the root.
      const candidate = (h: NodeHandle): boolean => exclude?.has(h.id.hex) !== true && liveness.status(h.id) !== 'dead'
      const members = leafSet.members()
      const tops = leafSet.memberTops()
      let best = self
      let bestTop = self.id.fingerprint
      for (let i = 0; i < members.length; i++) {
        const h = members[i] as NodeHandle
        const c = key.closerTop(tops[i] as number, bestTop)
        if (c > 0 || (c === 0 && !key.isCloser(h.id, best.id)) || !candidate(h)) continue
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
      const near = this.#closestNear(key, row, col, usable)
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
  #closestNear(key: Id, row: number, col: number, usable: (h: NodeHandle) => boolean): NodeHandle | undefined {
    const { table, liveness, leafSet } = this.#host
    const now = this.#clock.now()
    const since = now - this.#spareAge.maxAge(now, leafSet.size)
    // A spare found to be a forged handle since it was noted is not tried again.
    const ok = (h: NodeHandle): boolean => usable(h) && !liveness.forged(h)
    let best = table.closestSpare(row, col, key, since, ok)
    const better = (h: NodeHandle | undefined): void => {
      if (h !== undefined && (best === undefined || key.isCloser(h.id, best.id))) best = h
    }
    for (let c = col - 1; c <= col + 1; c += 2) {
      if (c < 0 || c >= table.cols) continue
      better(table.closestSpare(row, c, key, since, ok))
      const x = table.get(row, c)?.handle
      if (x !== undefined && ok(x)) better(x)
    }
    return best
  }
}
