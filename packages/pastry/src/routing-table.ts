import type { Id, NodeHandle } from '@epost/core'
import { ID_BITS } from '@epost/core'

/** The fingerprint of an empty spare slot: no id's (fingerprints are non-negative). */
const EMPTY_TOP = -1

export interface TableEntry {
  handle: NodeHandle
  /** Measured round-trip time in ms; Infinity until measured. */
  rtt: number
}

/**
 * Rows of 2^b cells; row r, column c holds a node that shares r digits with this node and has
 * digit c next. Each cell keeps the proximally closest candidate seen (PNS). Rows are allocated
 * lazily: a 10,000-node ring fills about four of them.
 */
export class RoutingTable {
  readonly self: NodeHandle
  readonly b: number
  readonly rows: number
  readonly cols: number
  readonly #rows: Array<Array<TableEntry | undefined> | undefined>
  /** Bumped whenever a row's entries or their whole-ms RTTs change (lets callers cache its wire form). */
  readonly #versions: number[]
  #count = 0
  #taken = 0
  /** The entries' handles, kept until an entry changes (the leaf set scans them on every add while a side is short). */
  #handles: NodeHandle[] | undefined
  /**
   * Spares per row, allocated with the row's first: `spares` slots per cell, the handle, its id's
   * fingerprint (EMPTY_TOP in an empty slot: a scan compares small integers, and reads an id only
   * when they match) and when we last heard of it (-Infinity in an empty slot). Flat arrays: a
   * table holds hundreds; the fingerprints, 28-bit, in an Int32Array (half a Float64Array's cache
   * lines: a hop scans three cells of them).
   */
  readonly spareSlots: number
  readonly #spareHandles: Array<Array<NodeHandle | undefined> | undefined>
  readonly #spareSeen: Array<Float64Array | undefined>
  readonly #spareTops: Array<Int32Array | undefined>

  /** `spares`: other nodes kept per cell beside its entry (see noteSpare). */
  constructor(self: NodeHandle, b: number, spares = 0) {
    this.self = self
    this.b = b
    this.rows = ID_BITS / b
    this.cols = 1 << b
    this.spareSlots = spares
    this.#spareHandles = new Array<Array<NodeHandle | undefined> | undefined>(this.rows)
    this.#spareSeen = new Array<Float64Array | undefined>(this.rows)
    this.#spareTops = new Array<Int32Array | undefined>(this.rows)
    this.#rows = new Array<Array<TableEntry | undefined> | undefined>(this.rows)
    this.#versions = new Array<number>(this.rows).fill(0)
  }

  /** Changes with row `row`'s entries or their RTTs (rounded to whole ms). */
  version(row: number): number {
    return this.#versions[row] ?? 0
  }

  #touch(row: number): void {
    this.#versions[row] = (this.#versions[row] ?? 0) + 1
  }

  get size(): number {
    return this.#count
  }

  /** Candidates that took a cell so far (an empty one, or from a farther entry). */
  get taken(): number {
    return this.#taken
  }

  /** The cell a node belongs in, or undefined for this node itself. */
  cellOf(id: Id): { row: number; col: number } | undefined {
    const row = this.self.id.sharedPrefixLength(id, this.b)
    if (row >= this.rows) return undefined
    return { row, col: id.digit(row, this.b) }
  }

  get(row: number, col: number): TableEntry | undefined {
    return this.#rows[row]?.[col]
  }

  /** Entries of one row (at most 2^b - 1). */
  row(row: number): TableEntry[] {
    const r = this.#rows[row]
    return r === undefined ? [] : (r.filter((e) => e !== undefined) as TableEntry[])
  }

  /** Index of the last row that holds an entry, or -1. */
  get lastRow(): number {
    for (let r = this.rows - 1; r >= 0; r--) if (this.#rows[r]?.some((e) => e !== undefined) === true) return r
    return -1
  }

  has(id: Id): boolean {
    const cell = this.cellOf(id)
    return cell !== undefined && this.get(cell.row, cell.col)?.handle.id.equals(id) === true
  }

  /** Would `id` (with round trip `rtt`) improve its cell? */
  wants(id: Id, rtt = Infinity): boolean {
    const cell = this.cellOf(id)
    if (cell === undefined) return false
    const cur = this.get(cell.row, cell.col)
    if (cur === undefined) return true
    if (cur.handle.id.equals(id)) return rtt < cur.rtt
    return rtt < cur.rtt
  }

  /**
   * Offers a candidate: it takes an empty cell, or replaces the occupant if it is closer in the
   * network. Returns the entry it displaced, if any.
   */
  consider(handle: NodeHandle, rtt = Infinity): { taken: boolean; displaced?: NodeHandle } {
    const cell = this.cellOf(handle.id)
    if (cell === undefined) return { taken: false }
    let r = this.#rows[cell.row]
    if (r === undefined) {
      r = new Array<TableEntry | undefined>(this.cols)
      this.#rows[cell.row] = r
    }
    const cur = r[cell.col]
    if (cur === undefined) {
      this.#dropSpare(handle.id, cell.row, cell.col)
      r[cell.col] = { handle, rtt }
      this.#count++
      this.#taken++
      this.#handles = undefined
      this.#touch(cell.row)
      return { taken: true }
    }
    if (cur.handle.id.equals(handle.id)) {
      if (rtt < Infinity) this.#setRtt(cur, cell.row, rtt)
      return { taken: false }
    }
    if (rtt < cur.rtt) {
      this.#dropSpare(handle.id, cell.row, cell.col)
      r[cell.col] = { handle, rtt }
      this.#taken++
      this.#handles = undefined
      this.#touch(cell.row)
      return { taken: true, displaced: cur.handle }
    }
    return { taken: false }
  }

  /** Updates the measured RTT of an entry already in the table. */
  setRtt(id: Id, rtt: number): void {
    const cell = this.cellOf(id)
    if (cell === undefined) return
    const e = this.get(cell.row, cell.col)
    if (e !== undefined && e.handle.id.equals(id)) this.#setRtt(e, cell.row, rtt)
  }

  #setRtt(e: TableEntry, row: number, rtt: number): void {
    if (Math.round(rtt) !== Math.round(e.rtt)) this.#touch(row)
    e.rtt = rtt
  }

  /**
   * Remembers `h` as another node of its cell, heard of at `now`: the router may go straight to
   * it when it lies next to a key (docs/architecture.md, "spares"). A full cell forgets the spare
   * heard of least recently. The cell's entry is not a spare. `cell`: `h`'s cell, if the caller
   * has it already (candidates are noted by the thousand).
   */
  noteSpare(h: NodeHandle, now: number, cell = this.cellOf(h.id)): void {
    const k = this.spareSlots
    if (k === 0 || cell === undefined || this.get(cell.row, cell.col)?.handle.id.equals(h.id) === true) return
    let handles = this.#spareHandles[cell.row]
    let seen = this.#spareSeen[cell.row]
    let tops = this.#spareTops[cell.row]
    if (handles === undefined || seen === undefined || tops === undefined) {
      handles = this.#spareHandles[cell.row] = new Array<NodeHandle | undefined>(this.cols * k).fill(undefined)
      seen = this.#spareSeen[cell.row] = new Float64Array(this.cols * k).fill(-Infinity)
      tops = this.#spareTops[cell.row] = new Int32Array(this.cols * k).fill(EMPTY_TOP)
    }
    const top = h.id.fingerprint
    const base = cell.col * k
    let slot = base
    for (let i = base; i < base + k; i++) {
      if (tops[i] === top) {
        const x = handles[i] as NodeHandle
        if (x === h || x.id.equals(h.id)) {
          handles[i] = h
          seen[i] = now
          return
        }
      }
      if ((seen[i] as number) < (seen[slot] as number)) slot = i
    }
    handles[slot] = h
    seen[slot] = now
    tops[slot] = top
  }

  /** Of the spares of cell (row, col) heard of since `since` and `usable`, the one closest to `key`. */
  closestSpare(row: number, col: number, key: Id, since: number, usable: (h: NodeHandle) => boolean): NodeHandle | undefined {
    const handles = this.#spareHandles[row]
    const seen = this.#spareSeen[row]
    const tops = this.#spareTops[row]
    if (handles === undefined || seen === undefined || tops === undefined) return undefined
    let best: NodeHandle | undefined
    let bestTop = 0
    const base = col * this.spareSlots
    for (let i = base; i < base + this.spareSlots; i++) {
      if ((seen[i] as number) < since) continue
      // Compared by the fingerprints kept beside the handles: a spare that loses on them is
      // never read (each handle read is a cache miss in a big ring), and an Id only on a close call.
      const top = tops[i] as number
      const c = best === undefined ? -1 : key.closerTop(top, bestTop)
      if (c > 0) continue
      const h = handles[i]
      if (h === undefined || (c === 0 && !key.isCloser(h.id, (best as NodeHandle).id)) || !usable(h)) continue
      best = h
      bestTop = top
    }
    return best
  }

  /** The spares of cell (row, col), least recently heard of first (for inspection and tests). */
  spares(row: number, col: number): NodeHandle[] {
    const handles = this.#spareHandles[row]
    const seen = this.#spareSeen[row]
    if (handles === undefined || seen === undefined) return []
    const slots: number[] = []
    for (let i = col * this.spareSlots; i < (col + 1) * this.spareSlots; i++) if (handles[i] !== undefined) slots.push(i)
    return slots.sort((a, b) => (seen[a] as number) - (seen[b] as number)).map((i) => handles[i] as NodeHandle)
  }

  #dropSpare(id: Id, row: number, col: number): void {
    const handles = this.#spareHandles[row]
    const seen = this.#spareSeen[row]
    const tops = this.#spareTops[row]
    if (handles === undefined || seen === undefined || tops === undefined) return
    const top = id.fingerprint
    for (let i = col * this.spareSlots; i < (col + 1) * this.spareSlots; i++) {
      if (tops[i] === top && handles[i]?.id.equals(id) === true) {
        handles[i] = undefined
        seen[i] = -Infinity
        tops[i] = EMPTY_TOP
      }
    }
  }

  /** Removes `id` from the table (its cell's entry or a spare); true if it was the entry. */
  remove(id: Id): boolean {
    const cell = this.cellOf(id)
    if (cell === undefined) return false
    this.#dropSpare(id, cell.row, cell.col)
    const r = this.#rows[cell.row]
    const e = r?.[cell.col]
    if (r === undefined || e === undefined || !e.handle.id.equals(id)) return false
    r[cell.col] = undefined
    this.#count--
    this.#handles = undefined
    this.#touch(cell.row)
    return true
  }

  *entries(): IterableIterator<TableEntry> {
    for (const r of this.#rows) {
      if (r === undefined) continue
      for (const e of r) if (e !== undefined) yield e
    }
  }

  /** The entries' handles, row by row. Do not modify the returned array (it is kept until an entry changes). */
  handles(): readonly NodeHandle[] {
    if (this.#handles === undefined) {
      const out: NodeHandle[] = []
      for (const r of this.#rows) {
        if (r === undefined) continue
        for (const e of r) if (e !== undefined) out.push(e.handle)
      }
      this.#handles = out
    }
    return this.#handles
  }
}
