import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Id, RING_SIZE, inRange } from '@epost/core'
import type { NodeHandle } from '@epost/core'
import { LeafSet } from './leaf-set.js'

const h = (v: bigint): NodeHandle => ({ id: Id.fromBigInt(v), address: `sim:${v}` })
const arbIds = fc.uniqueArray(fc.bigInt({ min: 0n, max: RING_SIZE - 1n }), { minLength: 2, maxLength: 60 })

describe('LeafSet', () => {
  it('keeps the L/2 closest on each side, evicting the farther ones', () => {
    const ls = new LeafSet(h(1000n), 4)
    for (const v of [1001n, 1002n, 1003n, 999n, 998n, 997n]) ls.add(h(v))
    expect(ls.cw.map((x) => x.id.value)).toEqual([1001n, 1002n])
    expect(ls.ccw.map((x) => x.id.value)).toEqual([999n, 998n])
    expect(ls.wants(Id.fromBigInt(1003n))).toBe(false)
    expect(ls.wants(Id.fromBigInt(1000n))).toBe(false)
    expect(ls.add(h(1001n)).added).toBe(false)
    expect(ls.add(h(1003n)).added).toBe(false)
  })

  it('has() and members() agree with the sides, for ids whose fingerprints collide and for a ring smaller than L', () => {
    // Small values share the fingerprint 0 (the id's top 28 bits), so has() must confirm a
    // fingerprint match by the id itself; with few nodes a member sits on both sides and is
    // listed once.
    const clustered = fc.uniqueArray(fc.bigInt({ min: 0n, max: 4096n }), { minLength: 2, maxLength: 40 })
    fc.assert(
      fc.property(fc.oneof(clustered, arbIds), fc.integer({ min: 2, max: 16 }), (vs, size) => {
        const [self, ...others] = vs as [bigint, ...bigint[]]
        const ls = new LeafSet(h(self), size)
        for (const v of others) ls.add(h(v))
        const onSides = new Set([...ls.cw, ...ls.ccw].map((x) => x.id.value))
        expect(ls.members().map((x) => x.id.value).sort()).toEqual([...onSides].sort())
        expect([...ls.memberTops()]).toEqual(ls.members().map((x) => x.id.fingerprint))
        for (const v of vs) expect(ls.has(Id.fromBigInt(v))).toBe(onSides.has(v))
      }),
    )
  })

  it('reports evictions and removals', () => {
    const ls = new LeafSet(h(1000n), 2)
    ls.add(h(990n))
    ls.add(h(1010n))
    expect(ls.members().map((x) => x.id.value)).toEqual([1010n, 990n])
    const { added, evicted } = ls.add(h(1005n))
    expect(added).toBe(true)
    expect(evicted.map((x) => x.id.value)).toEqual([1010n])
    expect(ls.remove(Id.fromBigInt(1005n))).toBe(true)
    expect(ls.remove(Id.fromBigInt(1005n))).toBe(false)
  })

  it('does not claim the whole ring when one side is short after a removal', () => {
    const ls = new LeafSet(h(1000n), 4)
    for (const v of [1010n, 1020n, 990n, 980n]) ls.add(h(v))
    ls.remove(Id.fromBigInt(1020n))
    expect(ls.knowsWholeRing).toBe(false)
    expect(ls.covers(Id.fromBigInt(RING_SIZE / 2n))).toBe(false)
    expect(ls.covers(Id.fromBigInt(1005n))).toBe(true)
    expect(ls.covers(Id.fromBigInt(1011n))).toBe(false)
  })

  it('after a death, a short side does not take a node from the far side of the ring while other nodes are known', () => {
    // A large ring: the routing table knows a node half a ring away.
    const far = h(RING_SIZE / 2n)
    const ls = new LeafSet(h(1000n), 4, () => [far])
    for (const v of [1010n, 1020n, 990n, 980n]) ls.add(h(v))
    ls.remove(Id.fromBigInt(1020n))
    // 970 lies beyond the ccw side: it is not the next node clockwise (the known node is nearer).
    expect(ls.wants(Id.fromBigInt(970n))).toBe(false)
    // The known node is what blocks it (membership checks it: alive, it is the next node).
    expect(ls.blocker(Id.fromBigInt(970n))?.id.value).toBe(RING_SIZE / 2n)
    expect(ls.blocker(Id.fromBigInt(1015n))).toBeUndefined()
    expect(ls.add(h(970n)).added).toBe(false)
    expect(ls.cw.map((x) => x.id.value)).toEqual([1010n])
    expect(ls.covers(far.id)).toBe(false)
    // The true next node clockwise is taken.
    expect(ls.add(h(1030n)).added).toBe(true)
    expect(ls.cw.map((x) => x.id.value)).toEqual([1010n, 1030n])
    // A death on each side: both sides short, and still not the whole ring.
    ls.remove(Id.fromBigInt(1030n))
    ls.remove(Id.fromBigInt(980n))
    expect(ls.knowsWholeRing).toBe(false)
    expect(ls.covers(far.id)).toBe(false)
    expect(ls.covers(Id.fromBigInt(995n))).toBe(true)
    // Knowing no other node, the same sides are a small ring seen whole.
    const small = new LeafSet(h(1000n), 4)
    for (const v of [1010n, 990n]) small.add(h(v))
    expect(small.knowsWholeRing).toBe(true)
    expect(small.add(h(970n)).added).toBe(true)
    expect(small.covers(far.id)).toBe(true)
  })

  it('covers the whole ring while the ring is smaller than the leaf set, then only its span', () => {
    const ls = new LeafSet(h(1000n), 4)
    ls.add(h(1010n))
    expect(ls.knowsWholeRing).toBe(true)
    expect(ls.covers(Id.fromBigInt(RING_SIZE / 2n))).toBe(true)
    for (const v of [1020n, 990n, 980n]) ls.add(h(v))
    expect(ls.knowsWholeRing).toBe(false)
    expect(ls.covers(Id.fromBigInt(985n))).toBe(true)
    expect(ls.covers(Id.fromBigInt(1020n))).toBe(true)
    expect(ls.covers(Id.fromBigInt(1021n))).toBe(false)
    expect(ls.covers(Id.fromBigInt(979n))).toBe(false)
  })

  it('when every node knows every other, the closest member is the true root', () => {
    fc.assert(
      fc.property(arbIds, fc.bigInt({ min: 0n, max: RING_SIZE - 1n }), (ids, k) => {
        const key = Id.fromBigInt(k)
        const nodes = ids.map(h)
        const root = key.closest(nodes)
        for (const self of nodes) {
          const ls = new LeafSet(self, 8)
          for (const o of nodes) ls.add(o)
          if (!ls.covers(key)) continue
          expect(ls.closestTo(key)[0]?.id.equals(root?.id as Id)).toBe(true)
        }
      }),
      { numRuns: 100 },
    )
  })

  it('ranges of rank 0 partition the ring among the nodes that know the whole ring', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.bigInt({ min: 0n, max: RING_SIZE - 1n }), { minLength: 2, maxLength: 6 }), fc.bigInt({ min: 0n, max: RING_SIZE - 1n }), (ids, k) => {
        const nodes = ids.map(h)
        const key = Id.fromBigInt(k)
        const root = key.closest(nodes) as NodeHandle
        const self = nodes[0] as NodeHandle
        const ls = new LeafSet(self, 16)
        for (const o of nodes) ls.add(o)
        for (const n of nodes) {
          const r = ls.range(n, 0)
          expect(r).toBeDefined()
          expect(inRange(key, r as NonNullable<typeof r>)).toBe(n === root)
        }
      }),
      { numRuns: 300 },
    )
  })
})
