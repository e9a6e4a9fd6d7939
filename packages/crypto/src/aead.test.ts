import { hchacha } from '@noble/ciphers/chacha.js'
import { isEpostError } from '@epost/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { aeadDecrypt, aeadEncrypt, aeadOpen, aeadSeal, generateAeadKey } from './aead.js'
import { implementations } from './backends/index.js'
import { fromHex, toHex } from './bytes.js'
import { hchacha20 } from './hchacha.js'

const { node, noble } = implementations
const seq = (from: number, n: number) => Uint8Array.from({ length: n }, (_, i) => from + i)
const text = (s: string) => new TextEncoder().encode(s)

describe('HChaCha20 (draft-irtf-cfrg-xchacha §2.2.1)', () => {
  it('matches the draft vector and @noble', () => {
    const key = seq(0, 32)
    const nonce = fromHex('000000090000004a0000000031415927')
    expect(toHex(hchacha20(key, nonce))).toBe('82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc')
  })

  it('agrees with @noble/ciphers on random inputs', () => {
    const sigma = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574])
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), (key, nonce) => {
        const out = new Uint32Array(8)
        hchacha(sigma, new Uint32Array(Uint8Array.from(key).buffer), new Uint32Array(Uint8Array.from(nonce).buffer), out)
        expect(toHex(hchacha20(key, nonce))).toBe(toHex(new Uint8Array(out.buffer)))
      }),
      { numRuns: 100 },
    )
  })
})

describe('XChaCha20-Poly1305', () => {
  it('draft-irtf-cfrg-xchacha §A.3.1 vector, on both backends', () => {
    const plaintext = text("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.")
    const aad = fromHex('50515253c0c1c2c3c4c5c6c7')
    const key = seq(0x80, 32)
    const nonce = seq(0x40, 24)
    const expected =
      'bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452' +
      '2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e' +
      'c0875924c1c7987947deafd8780acf49'
    expect(toHex(aeadEncrypt(key, nonce, plaintext, aad))).toBe(expected)
    expect(toHex(noble.xchacha20poly1305Encrypt(key, nonce, plaintext, aad))).toBe(expected)
    expect(toHex(aeadDecrypt(key, nonce, fromHex(expected), aad))).toBe(toHex(plaintext))
  })

  it('node:crypto (HChaCha20 + OpenSSL ChaCha20-Poly1305) and @noble produce identical ciphertexts', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 24, maxLength: 24 }),
        fc.uint8Array({ maxLength: 2000 }),
        fc.uint8Array({ maxLength: 40 }),
        (key, nonce, plaintext, aad) => {
          const a = node.xchacha20poly1305Encrypt(key, nonce, plaintext, aad)
          expect(toHex(noble.xchacha20poly1305Encrypt(key, nonce, plaintext, aad))).toBe(toHex(a))
          expect(toHex(noble.xchacha20poly1305Decrypt(key, nonce, a, aad) ?? new Uint8Array([1]))).toBe(toHex(plaintext))
          const roomy = node.xchacha20poly1305Encrypt(key, nonce, plaintext, aad, 5)
          expect(toHex(roomy)).toBe('00'.repeat(5) + toHex(a))
          expect(toHex(noble.xchacha20poly1305Encrypt(key, nonce, plaintext, aad, 5))).toBe(toHex(roomy))
        },
      ),
      { numRuns: 100 },
    )
  })

  it('AES-256-GCM candidates agree too (measured in bench/, not used by the API)', () => {
    const key = seq(1, 32)
    const nonce = seq(9, 12)
    const m = seq(0, 300)
    const a = node.aes256gcmEncrypt(key, nonce, m, text('ad'))
    expect(toHex(noble.aes256gcmEncrypt(key, nonce, m, text('ad')))).toBe(toHex(a))
    expect(toHex(node.aes256gcmDecrypt(key, nonce, a, text('ad')) ?? new Uint8Array())).toBe(toHex(m))
    expect(node.aes256gcmDecrypt(key, nonce, a, text('xx'))).toBeUndefined()
  })
})

describe('aeadSeal / aeadOpen', () => {
  const key = generateAeadKey()

  it('round-trips any plaintext and draws a fresh nonce every time', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.uint8Array({ maxLength: 20 }), (m, aad) => {
        const sealed = aeadSeal(key, m, { aad })
        expect(toHex(aeadOpen(key, sealed, aad))).toBe(toHex(m))
      }),
      { numRuns: 100 },
    )
    const m = text('same')
    const nonces = new Set(Array.from({ length: 50 }, () => toHex(aeadSeal(key, m).subarray(0, 24))))
    expect(nonces.size).toBe(50)
  })

  it('refuses the wrong key or associated data', () => {
    const sealed = aeadSeal(key, text('secret'), { aad: text('a') })
    expect(() => aeadOpen(generateAeadKey(), sealed, text('a'))).toThrowError(expect.objectContaining({ code: 'EPOST_CRYPTO_DECRYPT_FAILED' }))
    expect(() => aeadOpen(key, sealed, text('b'))).toThrowError(expect.objectContaining({ code: 'EPOST_CRYPTO_DECRYPT_FAILED' }))
    expect(() => aeadOpen(key, sealed)).toThrowError(expect.objectContaining({ code: 'EPOST_CRYPTO_DECRYPT_FAILED' }))
  })

  it('detects every flipped bit and truncation', () => {
    const sealed = aeadSeal(key, text('attack at dawn'))
    fc.assert(
      fc.property(fc.integer({ min: 0, max: sealed.length * 8 - 1 }), (bit) => {
        const bad = Uint8Array.from(sealed)
        bad[bit >> 3]! ^= 1 << (bit & 7)
        expect(() => aeadOpen(key, bad)).toThrowError(expect.objectContaining({ code: 'EPOST_CRYPTO_DECRYPT_FAILED' }))
      }),
      { numRuns: 300 },
    )
    for (let n = 0; n < sealed.length; n++) {
      expect(() => aeadOpen(key, sealed.subarray(0, n))).toThrowError(expect.objectContaining({ code: 'EPOST_CRYPTO_DECRYPT_FAILED' }))
    }
  })

  it('random input never opens and only ever throws EpostErrors', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.anything()), fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.anything()), (junk, k) => {
        for (const attempt of [() => aeadOpen(key, junk as Uint8Array), () => aeadOpen(k as Uint8Array, junk as Uint8Array), () => aeadDecrypt(key, k as Uint8Array, junk as Uint8Array)]) {
          try {
            attempt()
            expect.unreachable('junk opened')
          } catch (err) {
            expect(isEpostError(err)).toBe(true)
          }
        }
      }),
      { numRuns: 300 },
    )
  })

  it('validates key and nonce lengths with typed errors', () => {
    expect(() => aeadSeal(new Uint8Array(16), text('x'))).toThrowError(expect.objectContaining({ code: 'EPOST_CRYPTO_BAD_KEY' }))
    expect(() => aeadEncrypt(key, new Uint8Array(12), text('x'))).toThrowError(expect.objectContaining({ code: 'EPOST_INVALID_ARGUMENT' }))
    expect(() => aeadSeal(key, text('x'), { randomBytes: () => new Uint8Array(3) })).toThrowError(expect.objectContaining({ code: 'EPOST_INVALID_ARGUMENT' }))
  })
})
