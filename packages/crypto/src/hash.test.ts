import { Id } from '@epost/core'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { implementations } from './backends/index.js'
import { fromHex, toHex } from './bytes.js'
import { hashToId, hmacSha256, sha256, sha256Concat } from './hash.js'
import { hkdfSha256 } from './kdf.js'

const { node, noble } = implementations
const text = (s: string) => new TextEncoder().encode(s)

describe('SHA-256', () => {
  it('FIPS 180-2 vectors', () => {
    expect(toHex(sha256(text('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    expect(toHex(sha256(new Uint8Array(0)))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    expect(toHex(sha256(text('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')))).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    )
  })

  it('node:crypto and @noble agree; sha256Concat equals hashing the concatenation', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 5 }), (parts) => {
        const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
        let o = 0
        for (const p of parts) {
          all.set(p, o)
          o += p.length
        }
        const h = toHex(nobleSha256(all))
        expect(toHex(node.sha256(all))).toBe(h)
        expect(toHex(noble.sha256(...parts))).toBe(h)
        expect(toHex(sha256Concat(parts))).toBe(h)
      }),
      { numRuns: 100 },
    )
  })

  it('hashToId is the first 128 bits of SHA-256', () => {
    const id = hashToId(text('abc'))
    expect(id).toBeInstanceOf(Id)
    expect(id.hex).toBe('ba7816bf8f01cfea414140de5dae2223')
    expect(hashToId(text('abd')).equals(id)).toBe(false)
  })

  it('throws typed errors for non-bytes', () => {
    expect(() => sha256('abc' as never)).toThrowError(expect.objectContaining({ code: 'EPOST_INVALID_ARGUMENT' }))
    expect(() => hashToId(undefined as never)).toThrowError(expect.objectContaining({ code: 'EPOST_INVALID_ARGUMENT' }))
    expect(() => sha256Concat([text('a'), 'b' as never])).toThrowError(expect.objectContaining({ code: 'EPOST_INVALID_ARGUMENT' }))
    expect(() => sha256Concat('ab' as never)).toThrowError(expect.objectContaining({ code: 'EPOST_INVALID_ARGUMENT' }))
  })
})

describe('HMAC-SHA256 and HKDF-SHA256', () => {
  it('RFC 4231 test case 2', () => {
    expect(toHex(hmacSha256(text('Jefe'), text('what do ya want for nothing?')))).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    )
  })

  it('RFC 5869 test case 1 and 3', () => {
    const ikm = new Uint8Array(22).fill(0x0b)
    const okm1 = hkdfSha256(ikm, 42, { salt: fromHex('000102030405060708090a0b0c'), info: fromHex('f0f1f2f3f4f5f6f7f8f9') })
    expect(toHex(okm1)).toBe('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865')
    const okm3 = hkdfSha256(ikm, 42)
    expect(toHex(okm3)).toBe('8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8')
  })

  it('node:crypto and @noble agree', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.uint8Array({ maxLength: 32 }), fc.uint8Array({ maxLength: 32 }), fc.integer({ min: 1, max: 200 }), (ikm, salt, info, n) => {
        const expected = toHex(hkdf(nobleSha256, ikm, salt, info, n))
        expect(toHex(hkdfSha256(ikm, n, { salt, info }))).toBe(expected)
        expect(toHex(noble.hkdfSha256(ikm, salt, info, n))).toBe(expected)
        expect(toHex(node.hmacSha256(ikm, salt, info))).toBe(toHex(noble.hmacSha256(ikm, salt, info)))
      }),
      { numRuns: 100 },
    )
  })

  it('validates lengths with typed errors', () => {
    expect(() => hkdfSha256(new Uint8Array(1), 0)).toThrowError(expect.objectContaining({ code: 'EPOST_INVALID_ARGUMENT' }))
    expect(() => hkdfSha256(new Uint8Array(1), 255 * 32 + 1)).toThrowError(expect.objectContaining({ code: 'EPOST_INVALID_ARGUMENT' }))
    expect(() => hkdfSha256('k' as never, 32)).toThrowError(expect.objectContaining({ code: 'EPOST_CRYPTO_BAD_KEY' }))
    expect(() => hkdfSha256(new Uint8Array(1), 32, { info: new Uint8Array(1025) })).toThrowError(
      expect.objectContaining({ code: 'EPOST_INVALID_ARGUMENT' }),
    )
  })
})
