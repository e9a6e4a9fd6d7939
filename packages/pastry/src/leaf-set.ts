import { rankRange } from '@epost/core'
import type { Id, KeyRange, NodeHandle } from '@epost/core'

/**
 * The L/2 nodes closest clockwise and the L/2 closest counter-clockwise (FreePastry keeps one
 * ordered set per side; a node can sit on both sides when the ring has fewer than L others).
 */
export class LeafSet {
  readonly self: NodeHandle
  readonly half: number
  #cw: NodeHandle[] = []
  #ccw: NodeHandle[] = []
  /** Ids of members (either side) and the distinct member list, rebuilt on change. */
  #ids = new Set<string>()
  #members: NodeHandle[] = []
  #wholeRing = true
  #version = 0

  /** Bumped on every change (lets callers cache what they derive from the members). */
  get version(): number {
    return this.#version
  }

  constructor(self: NodeHandle, size: number) {
    this.self = self
    this.half = Math.max(1, size >> 1)
  }

  get cw(): readonly NodeHandle[] {
    return this.#cw
  }

  get ccw(): readonly NodeHandle[] {
    return this.#ccw
  }

  /** Distinct members, clockwise side first. Do not modify the returned array. */
  members(): readonly NodeHandle[] {
    return this.#members
  }

  get size(): number {
    return this.#members.length
  }

  has(id: Id): boolean {
    return this.#ids.has(id.hex)
  }

  #changed(): void {
    this.#version++
    const out = [...this.#cw]
    const ids = new Set(out.map((h) => h.id.hex))
    for (const h of this.#ccw) {
      if (ids.has(h.id.hex)) continue
      ids.add(h.id.hex)
      out.push(h)
    }
    this.#members = out
    this.#ids = ids
    // The sides meet when both are short or some node sits on both (ring smaller than L).
    this.#wholeRing = (this.#cw.length < this.half && this.#ccw.length < this.half) || out.length < this.#cw.length + this.#ccw.length
  }

  /** Would `id` enter the leaf set (is it closer than a current member on some side, or is a side short)? */
  wants(id: Id): boolean {
    if (this.has(id) || id.equals(this.self.id)) return false
    if (this.#cw.length < this.half || this.#ccw.length < this.half) return true
    const self = this.self.id
    const farCw = (this.#cw[this.#cw.length - 1] as NodeHandle).id
    if (self.cwDistance(id) < self.cwDistance(farCw)) return true
    const farCcw = (this.#ccw[this.#ccw.length - 1] as NodeHandle).id
    return self.ccwDistance(id) < self.ccwDistance(farCcw)
  }

  /** Adds `h` where it belongs; returns the nodes that left the leaf set entirely (evicted). */
  add(h: NodeHandle): { added: boolean; evicted: NodeHandle[] } {
    if (h.id.equals(this.self.id) || this.has(h.id)) return { added: false, evicted: [] }
    const before = this.members()
    const a = this.#insert(this.#cw, h, (x) => this.self.id.cwDistance(x))
    const b = this.#insert(this.#ccw, h, (x) => this.self.id.ccwDistance(x))
    if (!a && !b) return { added: false, evicted: [] }
    this.#changed()
    const evicted = before.filter((o) => !this.has(o.id))
    return { added: true, evicted }
  }

  remove(id: Id): boolean {
    const n = this.#cw.length + this.#ccw.length
    this.#cw = this.#cw.filter((h) => !h.id.equals(id))
    this.#ccw = this.#ccw.filter((h) => !h.id.equals(id))
    if (this.#cw.length + this.#ccw.length === n) return false
    this.#changed()
    return true
  }

  /**
   * True when the two sides meet (a node is on both, or both are short): the ring is smaller
   * than the leaf set and this node knows all of it. One short side alone proves nothing: a
   * member that just died leaves a gap until repair, and the node must not then claim the whole
   * ring.
   */
  get knowsWholeRing(): boolean {
    return this.#wholeRing
  }

  /** Is `key` within the arc the leaf set spans (from the farthest ccw to the farthest cw member)? */
  covers(key: Id): boolean {
    if (this.knowsWholeRing) return true
    const lo = this.#ccw[this.#ccw.length - 1] ?? this.self
    const hi = this.#cw[this.#cw.length - 1] ?? this.self
    return key.isBetween(lo.id, hi.id)
  }

  /** Self and members, sorted by distance to `key` (closest first), filtered by `usable`. */
  closestTo(key: Id, usable: (h: NodeHandle) => boolean = () => true): NodeHandle[] {
    const all = [this.self, ...this.members().filter(usable)]
    return all.sort((a, b) => (key.isCloser(a.id, b.id) ? -1 : key.isCloser(b.id, a.id) ? 1 : 0))
  }

  /**
   * The range of keys for which `node` (self or a member) is among the `rank + 1` closest nodes,
   * or undefined when the leaf set does not reach far enough around `node` to tell.
   */
  range(node: NodeHandle, rank: number): KeyRange | undefined {
    if (this.knowsWholeRing) {
      const all = [this.self, ...this.members()].sort((a, b) => a.id.compare(b.id))
      return rankRange(all, all.findIndex((h) => h.id.equals(node.id)), rank, true)
    }
    const ring = [...this.#ccw].reverse().concat([this.self], this.#cw)
    return rankRange(ring, ring.findIndex((h) => h.id.equals(node.id)), rank, false)
  }

  #fits(side: NodeHandle[], id: Id, dist: (x: Id) => bigint): boolean {
    if (side.length < this.half) return true
    return dist(id) < dist((side[side.length - 1] as NodeHandle).id)
  }

  #insert(side: NodeHandle[], h: NodeHandle, dist: (x: Id) => bigint): boolean {
    if (!this.#fits(side, h.id, dist)) return false
    const d = dist(h.id)
    let i = 0
    while (i < side.length && dist((side[i] as NodeHandle).id) < d) i++
    side.splice(i, 0, h)
    if (side.length > this.half) side.pop()
    return true
  }
}
