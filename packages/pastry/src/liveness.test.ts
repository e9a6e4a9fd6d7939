import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Id } from '@epost/core'
import type { NodeHandle } from '@epost/core'
import { HandleMap, handleKey } from './liveness.js'

describe('HandleMap', () => {
  it('behaves as a Map keyed by id and address together, forged and moved handles included', () => {
    // A few ids, each at a few addresses: the real node's handle, a forged one, a restarted one.
    const ids = ['01', '02', '03'].map((x) => Id.fromHex(x.repeat(16)))
    const handle = fc.tuple(fc.nat(2), fc.constantFrom('sim:a', 'sim:b', 'sim:c')).map(([i, address]): NodeHandle => ({ id: ids[i] as Id, address }))
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
    )
  })
})
