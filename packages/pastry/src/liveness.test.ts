import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Id, Rng, VirtualClock } from '@epost/core'
import type { NodeHandle } from '@epost/core'
import { HandleMap, IdMap, Liveness, handleKey } from './liveness.js'

const SEED = Number(process.env['EPOST_TEST_SEED'] ?? 20261207)

describe('IdMap', () => {
  it('behaves as a Map keyed by id, ids that share the map key and equal ids as other objects included', () => {
    // The first three share their top 32 bits (so the map's key, the fingerprint); the last two are one id as two objects.
    const ids = ['01'.repeat(16), '01'.repeat(4) + '02'.repeat(12), '01'.repeat(4) + '03'.repeat(12), '03'.repeat(16), '03'.repeat(16)].map((x) => Id.fromHex(x))
    const op = fc.tuple(fc.constantFrom('set', 'delete', 'get'), fc.nat(ids.length - 1), fc.nat())
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const m = new IdMap<{ id: Id; n: number }>((v) => v.id)
        const model = new Map<string, number>()
        for (const [kind, i, n] of ops) {
          const id = ids[i] as Id
          if (kind === 'set') {
            m.set(id, { id, n })
            model.set(id.hex, n)
          } else if (kind === 'delete') {
            m.delete(id)
            model.delete(id.hex)
          }
          expect(m.get(id)?.n).toBe(model.get(id.hex))
          expect(m.size).toBe(model.size)
          expect([...m.values()].map((v) => v.n).sort()).toEqual([...model.values()].sort())
        }
      }),
      { seed: 9, numRuns: 500 },
    )
  })
})

describe(`IdMap keys (seed ${SEED})`, () => {
  it('keeps random ids apart by their fingerprints: none goes to the slower collision map', () => {
    // A key narrower than the fingerprint would still be correct (the test above), only slow:
    // with 10 bits of key, about 400 of these 1,000 ids would collide.
    const rng = new Rng(SEED)
    const m = new IdMap<Id>((id) => id)
    for (let i = 0; i < 1000; i++) {
      const id = Id.random((n) => rng.bytes(n))
      m.set(id, id)
    }
    expect(m.size).toBe(1000)
    // Two of 1,000 random ids share 28 bits with chance 0.2 %; three collisions, about never.
    expect(m.collided).toBeLessThanOrEqual(2)
  })
})

describe('HandleMap', () => {
  it('behaves as a Map keyed by id and address together, forged and moved handles included', () => {
    // A few ids, each at a few addresses: the real node's handle, a forged one, a restarted one;
    // the first two share their top 32 bits (so the map's key, the fingerprint), and one id comes as two objects.
    const ids = ['01'.repeat(16), '01'.repeat(4) + '02'.repeat(12), '03'.repeat(16), '03'.repeat(16)].map((x) => Id.fromHex(x))
    const handle = fc.tuple(fc.nat(3), fc.constantFrom('sim:a', 'sim:b', 'sim:c')).map(([i, address]): NodeHandle => ({ id: ids[i] as Id, address }))
    const op = fc.tuple(fc.constantFrom('set', 'delete', 'get'), handle, fc.nat())
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const m = new HandleMap<number>()
        const model = new Map<string, number>()
        for (const [kind, h, value] of ops) {
          if (kind === 'set') {
            m.set(h, value)
            model.set(handleKey(h), value)
          } else if (kind === 'delete') {
            m.delete(h)
            model.delete(handleKey(h))
          }
          expect(m.get(h)).toBe(model.get(handleKey(h)))
          expect(m.has(h)).toBe(model.has(handleKey(h)))
        }
      }),
      { seed: 5, numRuns: 500 },
    )
  })

  it('forgets a handle that moved from the others to the first place', () => {
    const id = Id.fromHex('07'.repeat(16))
    const a = { id, address: 'sim:a' }
    const b = { id, address: 'sim:b' }
    const m = new HandleMap<number>()
    m.set(a, 1)
    m.set(b, 2)
    m.delete(a)
    m.set(b, 3)
    expect(m.get(b)).toBe(3)
    m.delete(b)
    expect(m.get(b)).toBeUndefined()
  })
})

describe('Liveness', () => {
  it('keeps each peer apart, ids that share their map key included', () => {
    const clock = new VirtualClock()
    const live = new Liveness(clock)
    const a = { id: Id.fromHex('01'.repeat(16)), address: 'sim:a' }
    const twin = { id: Id.fromHex('01'.repeat(4) + '02'.repeat(12)), address: 'sim:t' }
    const b = { id: Id.fromHex('03'.repeat(16)), address: 'sim:b' }
    live.observeRtt(a, 10)
    live.observeRtt(twin, 50)
    live.markDead(twin)
    live.heard(b)
    expect([live.rtt(a.id), live.rtt(twin.id), live.rtt(b.id)]).toEqual([10, 50, undefined])
    expect([live.status(a.id), live.status(twin.id), live.status(b.id)]).toEqual(['alive', 'dead', 'alive'])
    expect(live.usable(twin.id)).toBe(false)
    expect(live.deadWithin(twin.id, 1)).toBe(true)
    expect(live.deadWithin(a.id, 1)).toBe(false)
    // The same id as another object is the same peer.
    expect(live.rtt(Id.fromHex(twin.id.hex))).toBe(50)
    expect(live.dead(5)).toEqual([twin])
    expect(live.tracked).toBe(3)
  })
})
