import { describe, expect, it } from 'vitest'
import { concatBytes, equalBytes, fromHex, toHex, toUint8Array } from './bytes.js'

describe('byte helpers', () => {
  it('hex round-trips and rejects non-hex with a typed error', () => {
    expect(toHex(fromHex('00ff10'))).toBe('00ff10')
    for (const bad of ['0', 'zz', 'abc', 42]) {
      expect(() => fromHex(bad as string)).toThrowError(expect.objectContaining({ code: 'EPOST_INVALID_ARGUMENT' }))
    }
    expect(() => toHex('x' as never)).toThrowError(expect.objectContaining({ code: 'EPOST_INVALID_ARGUMENT' }))
  })

  it('concatenates and compares', () => {
    expect(toHex(concatBytes(fromHex('01'), new Uint8Array(0), fromHex('0203')))).toBe('010203')
    expect(() => concatBytes(fromHex('01'), 'x' as never)).toThrowError(expect.objectContaining({ code: 'EPOST_INVALID_ARGUMENT' }))
    expect(equalBytes(fromHex('0102'), fromHex('0102'))).toBe(true)
    expect(equalBytes(fromHex('0102'), fromHex('0103'))).toBe(false)
    expect(equalBytes(fromHex('0102'), fromHex('01'))).toBe(false)
    expect(equalBytes(fromHex('01'), 'x' as never)).toBe(false)
  })

  it('never hands out a view of node’s shared Buffer pool', () => {
    const pooled = Buffer.from('abc') // small Buffers live in an 8 KiB pool
    const out = toUint8Array(pooled)
    expect(out.buffer.byteLength).toBe(3)
    expect(Buffer.isBuffer(out)).toBe(false)
  })
})
