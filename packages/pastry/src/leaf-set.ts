import { ID_BITS, rankRange } from '@epost/core'
import type { Id, KeyRange, NodeHandle } from '@epost/core'

/** What add() returns for a node that did not enter (shared: most offers do not). */
const NOT_ADDED: { added: false; evicted: readonly NodeHandle[] } = Object.freeze({ added: false, evicted: Object.freeze([]) })

/**
 * The L/2 nodes closest clockwise and the L/2 closest counter-clockwise (FreePastry keeps one
 * ordered set per side; a node can sit on both sides when the ring has fewer than L others).
 *
 * A side shorter than L/2 means one of two things: the ring is that small, or a member just died
 * and repair has not refilled the side yet. `known` (the routing table's nodes) tells them apart:
 * a short side takes a node beyond its far end only if no node we know lies between the two
 * (else that node is the next one, and the newcomer belongs elsewhere), and both sides short mean
 * the whole ring only if we know of no node outside the leaf set.
 */
export class LeafSet {
  readonly self: NodeHandle
  readonly half: number
  /** Other nodes this node knows of, beyond the leaf set (the routing table's entries). */
  readonly known: () => readonly NodeHandle[]
  #cw: NodeHandle[] = []
  #ccw: NodeHandle[] = []
  /** The distinct member list, rebuilt on change. */
  #members: NodeHandle[] = []
  /** The members' fingerprints (Id.fingerprint), in the order of #members. */
  #tops = new Int32Array(0)
  /** Some node sits on both sides. */
  #overlap = false
  #version = 0

  /** Bumped on every change (lets callers cache what they derive from the members). */
  get version(): number {
    return this.#version
  }

  constructor(self: NodeHandle, size: number, known: () => readonly NodeHandle[] = () => []) {
    this.self = self
    this.half = Math.max(1, size >> 1)
    this.known = known
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

  /** The fingerprints of members(), in its order (comparisons that need not read each Id). */
  memberTops(): Int32Array {
    return this.#tops
  }

  get size(): number {
    return this.#members.length
  }

  /**
   * Asked of nearly every handle a message brings (membership offers): a scan of at most L
   * fingerprints beside each other, reading a member's Id only where one matches, costs fewer
   * cache misses than hashing the id's hex string into a set (whose string lives elsewhere).
   */
  has(id: Id): boolean {
    return listed(this.#members, this.#tops, id)
  }

  #changed(): void {
    this.#version++
    // New arrays each time: callers may hold the old ones (members() is not copied).
    const out: NodeHandle[] = []
    const tops = new Int32Array(this.#cw.length + this.#ccw.length)
    for (const side of [this.#cw, this.#ccw]) {
      for (const h of side) {
        // A node on both sides (a ring smaller than L) is listed once.
        if (listed(out, tops, h.id)) continue
        tops[out.length] = h.id.fingerprint
        out.push(h)
      }
    }
    this.#members = out
    this.#tops = out.length === tops.length ? tops : tops.slice(0, out.length)
    this.#overlap = out.length < this.#cw.length + this.#ccw.length
  }

  /** Would `id` enter the leaf set (is it closer than a current member on some side, or is a side short)? */
  wants(id: Id): boolean {
    if (this.has(id) || id.equals(this.self.id)) return false
    return this.#fits(true, id) || this.#fits(false, id)
  }

  /** Adds `h` where it belongs; returns the nodes that left the leaf set entirely (evicted). */
  add(h: NodeHandle): { added: boolean; evicted: readonly NodeHandle[] } {
    if (h.id.equals(this.self.id) || this.has(h.id)) return NOT_ADDED
    const before = this.members()
    const a = this.#insert(true, h)
    const b = this.#insert(false, h)
    if (!a && !b) return NOT_ADDED
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
   * True when the two sides meet (a node is on both), or both are short and we know of no node
   * outside the leaf set: the ring is smaller than the leaf set and this node knows all of it.
   * Short sides alone prove nothing: members that just died leave gaps until repair, and the
   * node must not then claim the whole ring.
   */
  get knowsWholeRing(): boolean {
    if (this.#overlap) return true
    if (this.#cw.length >= this.half || this.#ccw.length >= this.half) return false
    for (const h of this.known()) if (!h.id.equals(this.self.id) && !this.has(h.id)) return false
    return true
  }

  /** Is `key` within the arc the leaf set spans (from the farthest ccw to the farthest cw member)? */
  covers(key: Id): boolean {
    if (this.knowsWholeRing) return true
    const { lo, hi } = this.#ends()
    return key.isBetween(lo, hi)
  }

  /** How many nodes the ring holds, judged from the share of the ring the leaf set spans. */
  estimatedRingSize(): number {
    const n = this.size + 1
    if (this.knowsWholeRing) return n
    const { lo, hi } = this.#ends()
    const span = Number(lo.cwDistance(hi)) / 2 ** ID_BITS
    return span > 0 ? n / span : n
  }

  /** The ids at the two ends of the arc the leaf set spans (this node's where a side is empty). */
  #ends(): { lo: Id; hi: Id } {
    return { lo: (this.#ccw[this.#ccw.length - 1] ?? this.self).id, hi: (this.#cw[this.#cw.length - 1] ?? this.self).id }
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

  /**
   * The node we know of that keeps `id` off a short side: it lies between that side's far end and
   * `id`, so it (if alive) is the next node that way. It should be checked: alive, it belongs in
   * the leaf set; dead, it leaves the table and no longer blocks. Undefined if nothing blocks `id`.
   */
  blocker(id: Id): NodeHandle | undefined {
    if (this.has(id) || id.equals(this.self.id)) return undefined
    return this.#blocker(true, id) ?? this.#blocker(false, id)
  }

  /** Compares how far `a` and `b` lie from `from` going the `cw` side's way (negative: `a` is nearer). */
  #compare(cw: boolean, from: Id, a: Id, b: Id): number {
    return cw ? from.compareCw(a, b) : from.compareCcw(a, b)
  }

  /** Is `id` nearer than the far end of the `cw` (or ccw) side? */
  #within(cw: boolean, id: Id): boolean {
    const side = cw ? this.#cw : this.#ccw
    const far = side[side.length - 1]
    return far !== undefined && this.#compare(cw, this.self.id, id, far.id) < 0
  }

  /** Does `id` belong on the `cw` (or ccw) side? */
  #fits(cw: boolean, id: Id): boolean {
    if (this.#within(cw, id)) return true
    // A short side: `id` is the next node that way unless we know of one between the side's
    // far end and it (then the ring is larger than this side shows, and `id` is not next).
    return (cw ? this.#cw : this.#ccw).length < this.half && this.#blocker(cw, id) === undefined
  }

  /** On a short side, the known non-member nearest the far end between it and `id` (beyond it), if any. */
  #blocker(cw: boolean, id: Id): NodeHandle | undefined {
    const side = cw ? this.#cw : this.#ccw
    if (side.length >= this.half || this.#within(cw, id)) return undefined
    const end = side[side.length - 1]?.id ?? this.self.id
    // Measured from the far end outwards, in the side's direction.
    let best: NodeHandle | undefined
    let bestId = id
    for (const h of this.known()) {
      if (!h.id.equals(end) && this.#compare(cw, end, h.id, bestId) < 0 && !h.id.equals(this.self.id) && !this.has(h.id)) {
        best = h
        bestId = h.id
      }
    }
    return best
  }

  #insert(cw: boolean, h: NodeHandle): boolean {
    if (!this.#fits(cw, h.id)) return false
    const side = cw ? this.#cw : this.#ccw
    let i = 0
    while (i < side.length && this.#compare(cw, this.self.id, (side[i] as NodeHandle).id, h.id) < 0) i++
    side.splice(i, 0, h)
    if (side.length > this.half) side.pop()
    return true
  }
}

/** Is `id` in `members`? `tops` holds their fingerprints in the same order (it may be longer). */
function listed(members: readonly NodeHandle[], tops: Int32Array, id: Id): boolean {
  const f = id.fingerprint
  for (let i = 0; i < members.length; i++) if (tops[i] === f && (members[i] as NodeHandle).id.equals(id)) return true
  return false
}
