import type { LatencyModel, Point } from '@epost/transport/sim'

/** Side of a grid cell in the model's coordinates (both built-in models span about 1 or 2). */
const CELL = 1 / 16
/** Coordinates a cell key packs (higher dimensions still work, through the distance check). */
const KEY_DIMS = 3
const KEY_SPAN = 1 << 10
/** Below this many entries a plain scan is cheaper than walking empty cells. */
const SCAN_BELOW = 512

/**
 * The simulator's answer to "which live node is nearest to this place?" (a joiner's bootstrap).
 * For models whose latency grows with Euclidean distance it keeps the points in a grid and
 * searches outward shell by shell, so a join costs a few cells rather than a scan of the ring;
 * other models fall back to the scan. Entries whose `keep` test fails are dropped as they are met.
 */
export class NearestIndex<T> {
  readonly #model: LatencyModel
  readonly #keep: (item: T) => boolean
  readonly #cells = new Map<number, Array<{ item: T; at: Point }>>()
  /** Every entry, for models the grid cannot serve. */
  readonly #all: Array<{ item: T; at: Point }> = []
  /** Entries in the grid (dead ones leave as searches meet them). */
  #inGrid = 0
  /** Largest |cell coordinate| of any entry: bounds how far a search walks. */
  #maxAbs = 0

  constructor(model: LatencyModel, keep: (item: T) => boolean) {
    this.#model = model
    this.#keep = keep
  }

  add(item: T, at: Point): void {
    if (this.#model.euclidean !== true) {
      this.#all.push({ item, at })
      return
    }
    this.#inGrid++
    const c = cellOf(at)
    const key = keyOf(c)
    let list = this.#cells.get(key)
    if (list === undefined) this.#cells.set(key, (list = []))
    list.push({ item, at })
    for (const x of c) this.#maxAbs = Math.max(this.#maxAbs, Math.abs(x))
  }

  /** The kept item with the least latency from `here`, or undefined when none is left. */
  nearest(here: Point): T | undefined {
    if (this.#model.euclidean !== true) return this.#scan(this.#all, here).item
    if (this.#inGrid < SCAN_BELOW) return this.#scanGrid(here)
    const c = cellOf(here)
    const dims = Math.min(c.length, KEY_DIMS)
    let best: T | undefined
    let bestDist = Infinity
    const last = this.#maxAbs + Math.max(0, ...c.map(Math.abs)) + 1
    for (let shell = 0; shell <= last; shell++) {
      // Every point in this shell is at least (shell - 1) cells away.
      if ((shell - 1) * CELL > bestDist) break
      forShell(c, dims, shell, (key) => {
        const list = this.#cells.get(key)
        if (list === undefined) return
        const r = this.#scanCell(key, list, here)
        if (r.item !== undefined && r.dist < bestDist) {
          bestDist = r.dist
          best = r.item
        }
      })
    }
    return best
  }

  /** Few entries left: every cell, rather than walking shells of mostly empty ones. */
  #scanGrid(here: Point): T | undefined {
    let best: T | undefined
    let bestDist = Infinity
    // Deleting the entry being visited is safe while iterating a Map.
    for (const [key, list] of this.#cells) {
      const r = this.#scanCell(key, list, here)
      if (r.item !== undefined && r.dist < bestDist) {
        bestDist = r.dist
        best = r.item
      }
    }
    return best
  }

  #scanCell(key: number, list: Array<{ item: T; at: Point }>, here: Point): { item: T | undefined; dist: number } {
    const before = list.length
    const r = this.#scan(list, here, true)
    this.#inGrid -= before - list.length
    if (list.length === 0) this.#cells.delete(key)
    return r
  }

  /** The nearest kept entry of `list` by latency (Euclidean distance breaks ties), pruning the rest. */
  #scan(list: Array<{ item: T; at: Point }>, here: Point, euclid = false): { item: T | undefined; dist: number } {
    let best: T | undefined
    let bestLat = Infinity
    let bestDist = Infinity
    let kept = 0
    for (let i = 0; i < list.length; i++) {
      const p = list[i] as { item: T; at: Point }
      if (!this.#keep(p.item)) continue
      list[kept++] = p
      const lat = this.#model.latencyMs(here, p.at)
      const dist = euclid ? distance(here, p.at) : 0
      if (lat < bestLat || (lat === bestLat && dist < bestDist)) {
        bestLat = lat
        bestDist = dist
        best = p.item
      }
    }
    list.length = kept
    return { item: best, dist: euclid ? bestDist : bestLat }
  }
}

function cellOf(p: Point): number[] {
  return p.map((x) => Math.floor(x / CELL))
}

function keyOf(c: readonly number[]): number {
  let k = 0
  for (let d = 0; d < KEY_DIMS; d++) k = k * KEY_SPAN + (((c[d] ?? 0) % KEY_SPAN) + KEY_SPAN) % KEY_SPAN
  return k
}

/** Calls `visit` with the key of every cell at Chebyshev distance exactly `shell` from `c`. */
function forShell(c: readonly number[], dims: number, shell: number, visit: (key: number) => void): void {
  const cur = [...c]
  const walk = (d: number, onEdge: boolean): void => {
    if (d === dims) {
      if (onEdge || shell === 0) visit(keyOf(cur))
      return
    }
    const base = c[d] as number
    for (let o = -shell; o <= shell; o++) {
      // Inner coordinates need not be on the edge if an outer one already is.
      if (!onEdge && d === dims - 1 && Math.abs(o) !== shell) continue
      cur[d] = base + o
      walk(d + 1, onEdge || Math.abs(o) === shell)
    }
    cur[d] = base
  }
  walk(0, false)
}

function distance(a: Point, b: Point): number {
  let s = 0
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number)
    s += d * d
  }
  return Math.sqrt(s)
}
