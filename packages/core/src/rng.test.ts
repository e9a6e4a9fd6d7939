import { describe, expect, it } from 'vitest'
import { Rng } from './rng.js'

describe('Rng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = new Rng(42)
    const b = new Rng(42)
    const c = new Rng(43)
    const xs = Array.from({ length: 8 }, () => a.nextUint32())
    expect(Array.from({ length: 8 }, () => b.nextUint32())).toEqual(xs)
    expect(Array.from({ length: 8 }, () => c.nextUint32())).not.toEqual(xs)
  })

  it('forks independent, reproducible streams', () => {
    const a = new Rng('seed').fork('node-1')
    const b = new Rng('seed').fork('node-1')
    const c = new Rng('seed').fork('node-2')
    expect(a.next()).toBe(b.next())
    expect(a.next()).not.toBe(c.next())
  })

  it('draws uniform integers and exponentials with the right mean', () => {
    const r = new Rng(7)
    const counts = new Array<number>(10).fill(0)
    let sum = 0
    const n = 50_000
    for (let i = 0; i < n; i++) {
      const v = r.int(10)
      counts[v] = (counts[v] as number) + 1
      sum += r.exponential(30)
    }
    for (const c of counts) expect(Math.abs(c - n / 10)).toBeLessThan(n / 10 / 10)
    expect(sum / n).toBeGreaterThan(28.5)
    expect(sum / n).toBeLessThan(31.5)
  })

  it('fills bytes of any length and shuffles into a permutation', () => {
    const r = new Rng(1)
    expect(r.bytes(7)).toHaveLength(7)
    const xs = r.shuffle([1, 2, 3, 4, 5, 6])
    expect([...xs].sort()).toEqual([1, 2, 3, 4, 5, 6])
    expect(() => r.pick([])).toThrow(RangeError)
  })
})
