import { describe, expect, it } from 'vitest'
import { Id, RING_SIZE } from '@epost/core'
import type { NodeHandle } from '@epost/core'
import { LeafSet } from './leaf-set.js'
import { RoutingTable } from './routing-table.js'
import { SpareAge, hopThroughCell } from './spares.js'

const h = (v: bigint): NodeHandle => ({ id: Id.fromBigInt(((v % RING_SIZE) + RING_SIZE) % RING_SIZE), address: `sim:${v}` })
const usable = (): boolean => true

describe('spares', () => {
  it('estimates the ring size from the arc the leaf set spans', () => {
    // 10,000 nodes evenly spaced: the leaf set of 16 spans 16 gaps.
    const gap = RING_SIZE / 10_000n
    const ls = new LeafSet(h(0n), 16)
    for (let i = 1n; i <= 8n; i++) {
      ls.add(h(i * gap))
      ls.add(h(-i * gap))
    }
    expect(ls.estimatedRingSize()).toBeCloseTo(10_625, -2) // 17 nodes over 16 gaps
    // A ring smaller than the leaf set: the leaf set knows all of it.
    const small = new LeafSet(h(0n), 16)
    for (const v of [RING_SIZE / 3n, (2n * RING_SIZE) / 3n]) small.add(h(v))
    expect(small.estimatedRingSize()).toBe(3)
  })

  it('goes to a spare only when it is likely the root', () => {
    const n = 10_000
    const gap = RING_SIZE / BigInt(n)
    const key = Id.fromBigInt(RING_SIZE / 2n)
    const entry = h(RING_SIZE / 2n + 3n * gap)
    const near = h(RING_SIZE / 2n - gap / 3n)
    const nearer = h(RING_SIZE / 2n + gap / 10n)
    const far = h(RING_SIZE / 2n - 2n * gap)
    expect(hopThroughCell(key, entry, near, n)).toBe(near)
    // Closer than the entry, but more than a gap from the key: the entry (it is near us).
    expect(hopThroughCell(key, entry, far, n)).toBe(entry)
    // The entry itself closer: the entry.
    expect(hopThroughCell(key, nearer, near, n)).toBe(nearer)
  })
})

describe('RoutingTable spares', () => {
  const hex = (s: string): NodeHandle => ({ id: Id.fromHex(s.padEnd(32, '0')), address: `sim:${s}` })
  const self = hex('a1b2')

  it('keeps up to its slots of other nodes per cell, the most recently heard of', () => {
    const t = new RoutingTable(self, 4, 2)
    t.consider(hex('a1c1'), 30)
    t.noteSpare(hex('a1c1'), 1) // the entry is no spare
    expect(t.spares(2, 12)).toEqual([])
    t.noteSpare(hex('a1c2'), 1)
    t.noteSpare(hex('a1c3'), 2)
    t.noteSpare(hex('a1c2'), 3) // heard of again
    t.noteSpare(hex('a1c4'), 4) // full: the least recently heard of (a1c3) goes
    expect(t.spares(2, 12).map((x) => x.address)).toEqual(['sim:a1c2', 'sim:a1c4'])
    expect(t.spares(2, 13)).toEqual([])
    // A table without spare slots keeps none.
    const none = new RoutingTable(self, 4)
    none.noteSpare(hex('a1c2'), 1)
    expect(none.spares(2, 12)).toEqual([])
  })

  it('finds the spare closest to a key among those fresh and usable', () => {
    const t = new RoutingTable(self, 4, 4)
    for (const [x, at] of [['f1', 10], ['f8', 20], ['fc', 30]] as const) t.noteSpare(hex(x), at)
    const key = hex('f9').id
    expect(t.closestSpare(0, 15, key, 0, () => true)?.address).toBe('sim:f8')
    expect(t.closestSpare(0, 15, key, 25, () => true)?.address).toBe('sim:fc')
    expect(t.closestSpare(0, 15, key, 0, (x) => x.address !== 'sim:f8')?.address).toBe('sim:fc')
    expect(t.closestSpare(0, 14, key, 0, () => true)).toBeUndefined()
  })

  it('tells an empty slot from a spare whose fingerprint is 0', () => {
    // Ids whose first 28 bits are 0 have fingerprint 0: an empty slot must not look like one.
    const t = new RoutingTable(self, 4, 4)
    t.noteSpare(hex('00000001'), 5)
    t.noteSpare(hex('00000002'), 6)
    t.noteSpare(hex('00000001'), 7) // heard of again: still one slot
    expect(t.spares(0, 0).map((x) => x.address)).toEqual(['sim:00000002', 'sim:00000001'])
    const key = hex('00000002').id
    expect(t.closestSpare(0, 0, key, Number.NEGATIVE_INFINITY, () => true)?.address).toBe('sim:00000002')
    t.remove(hex('00000002').id)
    expect(t.spares(0, 0).map((x) => x.address)).toEqual(['sim:00000001'])
    expect(t.closestSpare(0, 0, key, Number.NEGATIVE_INFINITY, () => true)?.address).toBe('sim:00000001')
  })

  it('drops a spare that is removed or takes the cell', () => {
    const t = new RoutingTable(self, 4, 4)
    t.consider(hex('f1'), 50)
    t.noteSpare(hex('f2'), 1)
    t.noteSpare(hex('f3'), 1)
    expect(t.remove(hex('f2').id)).toBe(false) // not the entry
    expect(t.spares(0, 15).map((x) => x.address)).toEqual(['sim:f3'])
    expect(t.consider(hex('f3'), 10).taken).toBe(true)
    expect(t.spares(0, 15)).toEqual([])
    expect(t.get(0, 15)?.handle.address).toBe('sim:f3')
  })
})

describe('SpareAge', () => {
  const MIN = 60_000

  it('trusts spares for the full age while no leaf-set member dies', () => {
    const a = new SpareAge(0, 10 * MIN, 0.02)
    expect(a.maxAge(120 * MIN, 16)).toBe(10 * MIN)
  })

  it('trusts them for a small share of the mean session the deaths suggest', () => {
    const a = new SpareAge(0, 10 * MIN, 0.02)
    // 16 members, 30-minute sessions: about 32 deaths in the hour.
    for (let i = 1; i <= 32; i++) a.death(i * (60 / 32) * MIN)
    expect(a.maxAge(60 * MIN, 16)).toBeCloseTo(0.02 * 30 * MIN, -3)
    // Deaths older than the window no longer count: back to the full age.
    expect(a.maxAge(200 * MIN, 16)).toBe(10 * MIN)
  })

  it('counts over the time it has watched, when that is less than the window', () => {
    const a = new SpareAge(100 * MIN, 10 * MIN, 0.02)
    a.death(105 * MIN)
    // One death in 16 members x 10 minutes: sessions of 160 minutes, 3.2 minutes of trust.
    expect(a.maxAge(110 * MIN, 16)).toBeCloseTo(3.2 * MIN, -3)
  })
})
