import { describe, expect, it } from 'vitest'
import { Id } from '@epost/core'
import { BlockCache } from './cache.js'

describe('BlockCache', () => {
  it('keeps at most its byte budget, evicting the least recently used', () => {
    const c = new BlockCache(100)
    const id = (n: number): Id => Id.fromBigInt(BigInt(n))
    c.set(id(1), new Uint8Array(40))
    c.set(id(2), new Uint8Array(40))
    expect(c.get(id(1))).toBeDefined() // 1 is now the most recent
    c.set(id(3), new Uint8Array(40))
    expect(c.get(id(2))).toBeUndefined()
    expect(c.get(id(1))).toBeDefined()
    expect(c.get(id(3))).toBeDefined()
    expect(c.bytes).toBe(80)
    c.set(id(4), new Uint8Array(101)) // larger than the whole budget: not cached
    expect(c.get(id(4))).toBeUndefined()
  })
})
