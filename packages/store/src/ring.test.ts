import { ID_MAX, ID_ZERO, Id } from '@epost/core'
import { describe, expect, it } from 'vitest'
import { arcIntervals, fullRing } from './ring.js'

describe('ring ranges', () => {
  it('fullRing covers every key, clockwise from where it starts', () => {
    expect(fullRing()).toEqual({ from: ID_ZERO, to: ID_MAX })
    const x = Id.fromBigInt(1234n)
    const r = fullRing(x)
    expect(r.to.equals(Id.fromBigInt(1233n))).toBe(true)
    for (const k of [ID_ZERO, ID_MAX, x, x.add(-1n), x.add(1n)]) expect(k.isBetween(r.from, r.to)).toBe(true)
  })

  it('splits a wrapping arc into two ascending intervals', () => {
    const a = Id.fromBigInt(10n)
    const b = Id.fromBigInt(20n)
    expect(arcIntervals({ from: a, to: b })).toEqual([[a, b]])
    expect(arcIntervals({ from: a, to: a })).toEqual([[a, a]])
    expect(arcIntervals({ from: b, to: a })).toEqual([
      [b, ID_MAX],
      [ID_ZERO, a],
    ])
  })
})
