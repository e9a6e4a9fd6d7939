import { Rng, isEpostError } from '@epost/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { toHex } from './bytes.js'
import { CONVERGENT_MIN_PAD_BYTES, CONVERGENT_PAD_BLOCK_BYTES, CONVERGENT_SMALL_BODY_BYTES } from './constants.js'
import { convergentDecrypt, convergentEncrypt, convergentHandle, convergentKey, generateConvergenceSecret } from './convergent.js'
import { hashToId } from './hash.js'

const secret = generateConvergenceSecret()
const big = new Rng(7).bytes(CONVERGENT_SMALL_BODY_BYTES + 1000)

describe('convergent encryption', () => {
  it('is deterministic for equal (secret, plaintext): identical attachments are stored once', () => {
    const a = convergentEncrypt(secret, big)
    const b = convergentEncrypt(secret, Uint8Array.from(big))
    expect(toHex(a.ciphertext)).toBe(toHex(b.ciphertext))
    expect(toHex(a.key)).toBe(toHex(b.key))
    expect(a.handle.equals(b.handle)).toBe(true)
    expect(toHex(convergentDecrypt(a.key, a.ciphertext))).toBe(toHex(big))
  })

  it('handle = hash of the ciphertext; key = the unpadded content key', () => {
    const block = convergentEncrypt(secret, big)
    expect(block.handle.equals(hashToId(block.ciphertext))).toBe(true)
    expect(convergentHandle(block.ciphertext).equals(block.handle)).toBe(true)
    expect(toHex(convergentKey(secret, big))).toBe(toHex(block.key))
  })

  it('another organisation (secret) gets unrelated ciphertexts and cannot confirm a guess', () => {
    const other = generateConvergenceSecret()
    const a = convergentEncrypt(secret, big)
    const b = convergentEncrypt(other, big)
    expect(toHex(b.ciphertext)).not.toBe(toHex(a.ciphertext))
    expect(toHex(convergentKey(other, big))).not.toBe(toHex(a.key))
    expect(() => convergentDecrypt(b.key, a.ciphertext)).toThrowError(expect.objectContaining({ code: 'EPOST_CRYPTO_DECRYPT_FAILED' }))
  })

  it('pads small bodies with random bytes (no confirmation by insiders) up to a block multiple', () => {
    const small = new TextEncoder().encode('yes')
    const a = convergentEncrypt(secret, small)
    const b = convergentEncrypt(secret, small)
    expect(toHex(a.ciphertext)).not.toBe(toHex(b.ciphertext))
    expect(toHex(a.key)).not.toBe(toHex(convergentKey(secret, small)))
    expect((a.ciphertext.length - 16) % CONVERGENT_PAD_BLOCK_BYTES).toBe(0)
    expect(new TextDecoder().decode(convergentDecrypt(a.key, a.ciphertext))).toBe('yes')
    expect(new TextDecoder().decode(convergentDecrypt(b.key, b.ciphertext))).toBe('yes')
    // reproducible with a seeded source, deterministic with padding off
    const seeded = (n: number) => new Rng(3).bytes(n)
    expect(toHex(convergentEncrypt(secret, small, { randomBytes: seeded }).ciphertext)).toBe(toHex(convergentEncrypt(secret, small, { randomBytes: seeded }).ciphertext))
    const c = convergentEncrypt(secret, small, { padSmallBodies: false })
    expect(toHex(c.ciphertext)).toBe(toHex(convergentEncrypt(secret, small, { padSmallBodies: false }).ciphertext))
    expect(c.ciphertext.length).toBe(small.length + 4 + 16)
  })

  it('round-trips every size, padded or not; padding adds at least the minimum of random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: CONVERGENT_SMALL_BODY_BYTES + 300 }), fc.boolean(), (m, pad) => {
        const block = convergentEncrypt(secret, m, { padSmallBodies: pad })
        expect(toHex(convergentDecrypt(block.key, block.ciphertext))).toBe(toHex(m))
        const padded = pad && m.length < CONVERGENT_SMALL_BODY_BYTES
        const overhead = block.ciphertext.length - m.length - 4 - 16
        if (padded) expect(overhead).toBeGreaterThanOrEqual(CONVERGENT_MIN_PAD_BYTES)
        else expect(overhead).toBe(0)
      }),
      { numRuns: 100 },
    )
  })

  it('detects tampering and wrong keys, throwing only EPOST_CRYPTO_DECRYPT_FAILED', () => {
    const block = convergentEncrypt(secret, new TextEncoder().encode('attachment'), { padSmallBodies: false })
    fc.assert(
      fc.property(fc.integer({ min: 0, max: block.ciphertext.length * 8 - 1 }), (bit) => {
        const bad = Uint8Array.from(block.ciphertext)
        bad[bit >> 3]! ^= 1 << (bit & 7)
        expect(() => convergentDecrypt(block.key, bad)).toThrowError(expect.objectContaining({ code: 'EPOST_CRYPTO_DECRYPT_FAILED' }))
      }),
      { numRuns: 200 },
    )
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (junk) => {
        try {
          convergentDecrypt(block.key, junk)
          expect.unreachable('junk decrypted')
        } catch (err) {
          expect(isEpostError(err, 'EPOST_CRYPTO_DECRYPT_FAILED')).toBe(true)
        }
      }),
      { numRuns: 200 },
    )
  })

  it('validates the secret and key', () => {
    expect(() => convergentEncrypt(new Uint8Array(16), big)).toThrowError(expect.objectContaining({ code: 'EPOST_CRYPTO_BAD_KEY' }))
    expect(() => convergentDecrypt(new Uint8Array(31), new Uint8Array(40))).toThrowError(expect.objectContaining({ code: 'EPOST_CRYPTO_BAD_KEY' }))
    expect(() => convergentEncrypt(secret, 'body' as never)).toThrowError(expect.objectContaining({ code: 'EPOST_INVALID_ARGUMENT' }))
  })
})
