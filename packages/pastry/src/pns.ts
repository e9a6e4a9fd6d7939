import type { NodeHandle } from '@epost/core'
import { schema } from '@epost/codec'
import { MAX_QUEUED_PER_CELL, MAX_WIRE_RTT_MS } from './constants.js'
import type { RoutingTable } from './routing-table.js'

/**
 * Proximity neighbour selection helpers: rows on the wire with the sender's RTTs, the
 * triangle-inequality bounds they give and whether a candidate is worth a probe, and the
 * per-cell queue that measures one candidate at a time (docs/architecture.md, "PNS candidates
 * pruned by the triangle inequality" and "PNS also uses the upper bound").
 */

/** An RTT in the 2-byte wire form of row replies (above MAX_WIRE_RTT_MS: not measured). */
function wireRtt(rtt: number): number {
  return Number.isFinite(rtt) ? Math.min(Math.round(rtt), MAX_WIRE_RTT_MS) : MAX_WIRE_RTT_MS + 1
}

export interface WireRow {
  row: [Uint8Array, string[]]
  rtts: Uint8Array
}

/** Row `r` of `table` in wire form, with our RTT to each entry. */
export function wireRow(table: RoutingTable, r: number): WireRow {
  const row = r < table.rows ? table.row(r) : []
  const rtts = new Uint8Array(2 * row.length)
  const view = new DataView(rtts.buffer)
  for (let i = 0; i < row.length; i++) view.setUint16(2 * i, wireRtt(row[i]?.rtt ?? Infinity))
  return { row: schema.handlesToWire(row.map((e) => e.handle)), rtts }
}

/** wireRow, cached per row until the table changes the row (rows are asked for often, and change rarely). */
export class WireRows {
  readonly #table: RoutingTable
  readonly #cache = new Map<number, { version: number; wire: WireRow }>()

  constructor(table: RoutingTable) {
    this.#table = table
  }

  get(r: number): WireRow {
    const version = this.#table.version(r)
    const hit = this.#cache.get(r)
    if (hit?.version === version) return hit.wire
    const wire = wireRow(this.#table, r)
    if (r < this.#table.rows) this.#cache.set(r, { version, wire })
    return wire
  }
}

/**
 * What the triangle inequality says of our RTT to a candidate C heard of from node A:
 * |RTT(us, A) - RTT(A, C)| <= RTT(us, C) <= RTT(us, A) + RTT(A, C).
 */
export interface RttBounds {
  least: number
  most: number
}

/** Nothing known: any RTT is possible. */
export const UNBOUNDED: RttBounds = Object.freeze({ least: 0, most: Infinity })

/** The bounds on our RTT to each entry of a row sent by a node `ours` ms away (UNBOUNDED where either RTT is unknown). */
export function rowBounds(ours: number | undefined, wire: Uint8Array): RttBounds[] {
  const view = new DataView(wire.buffer, wire.byteOffset, wire.byteLength)
  const out = new Array<RttBounds>(wire.length / 2)
  for (let i = 0; i < out.length; i++) {
    const theirs = view.getUint16(2 * i)
    out[i] = ours === undefined || theirs > MAX_WIRE_RTT_MS ? UNBOUNDED : { least: Math.abs(ours - theirs), most: ours + theirs }
  }
  return out
}

/**
 * Should a candidate with `bounds` be probed for a cell whose entry is `occupant` ms away? Not
 * when it cannot win (its least RTT exceeds the entry's, beyond `slack` for rounding), nor when
 * the RTT its bounds suggest is `factor` times the entry's or more: such a candidate rarely wins,
 * and then by little (docs/architecture.md has the figures). Through a relay A that is `a` ms
 * from us and `t` from the candidate, the bounds are |a - t| and a + t; the estimate is the
 * distance the law of cosines gives on average over the angle at A, sqrt(a^2 + t^2), which is
 * sqrt((least^2 + most^2) / 2) and, for bounds that several relays tightened, lies between them.
 */
export function worthProbing(bounds: RttBounds, occupant: number, slack: number, factor: number): boolean {
  if (bounds.least - slack > occupant) return false
  // Without a bound from above (or an entry not yet measured) only the first rule applies.
  if (!Number.isFinite(bounds.most) || !Number.isFinite(occupant)) return true
  const limit = factor * occupant
  return (bounds.least * bounds.least + bounds.most * bounds.most) / 2 < limit * limit
}

/**
 * The order in which waiting candidates are measured: the middle of their bounds, least first.
 * (A rank, not the threshold estimate above: ordering them by sqrt(a^2 + t^2) instead measured
 * rdp 1.458 against 1.456 at 3,000 nodes, no better.)
 */
function estimate(b: RttBounds): number {
  return Number.isFinite(b.most) ? (b.least + b.most) / 2 : Number.MAX_VALUE
}

interface Waiting {
  h: NodeHandle
  bounds: RttBounds
}

/**
 * Routing-table cells being measured. While one candidate (or an entry admitted unmeasured) is
 * probed, other candidates for its cell wait: what the probe measures may rule them out. When
 * the hold ends they are offered again, most promising first.
 */
export class CellHolds {
  readonly #cols: number
  readonly #reoffer: (candidates: NodeHandle[], bounds: RttBounds[]) => void
  readonly #held = new Map<number, Waiting[]>()

  constructor(cols: number, reoffer: (candidates: NodeHandle[], bounds: RttBounds[]) => void) {
    this.#cols = cols
    this.#reoffer = reoffer
  }

  #key(cell: { row: number; col: number }): number {
    return cell.row * this.#cols + cell.col
  }

  held(cell: { row: number; col: number }): boolean {
    return this.#held.has(this.#key(cell))
  }

  /** Queues `h` behind the probe running for its cell; false if the cell is not held. */
  wait(cell: { row: number; col: number }, h: NodeHandle, bounds: RttBounds): boolean {
    const q = this.#held.get(this.#key(cell))
    if (q === undefined) return false
    // Heard of from several nodes: each bounds it, and together they bound it tighter.
    for (let i = 0; i < q.length; i++) {
      const same = q[i] as Waiting
      if (same.h.id.equals(h.id)) {
        same.bounds = { least: Math.max(same.bounds.least, bounds.least), most: Math.min(same.bounds.most, bounds.most) }
        return true
      }
    }
    if (q.length < MAX_QUEUED_PER_CELL) q.push({ h, bounds })
    return true
  }

  /** Holds `cell`; the returned function ends the hold and offers what waited. */
  hold(cell: { row: number; col: number }): () => void {
    const key = this.#key(cell)
    const queued: Waiting[] = []
    this.#held.set(key, queued)
    return () => {
      if (this.#held.get(key) !== queued) return
      this.#held.delete(key)
      if (queued.length === 0) return
      queued.sort((a, b) => estimate(a.bounds) - estimate(b.bounds))
      this.#reoffer(
        queued.map((x) => x.h),
        queued.map((x) => x.bounds),
      )
    }
  }
}
