import { x25519 as curvesX25519 } from '@noble/curves/ed25519.js'
import { Rng, isEpostError } from '@epost/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { implementations } from './backends/index.js'
import { fromHex, toHex } from './bytes.js'
import { boxKeyPairFromSeed, boxPublicKey, generateBoxKeyPair, openBox, sealBox, x25519SharedSecret } from './box.js'
import { SEALED_BOX_OVERHEAD_BYTES } from './constants.js'

const { node, noble } = implementations
const text = (s: string) => new TextEncoder().encode(s)

// RFC 7748 §5.2 and §6.1, typed in from the RFC text.
const RFC7748_FUNCTION = [
  {
    scalar: 'a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4',
    u: 'e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c',
    out: 'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552',
  },
  {
    scalar: '4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d',
    u: 'e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493',
    out: '95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957',
  },
]
const ALICE = {
  privateKey: '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a',
  publicKey: '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
}
const BOB = {
  privateKey: '5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb',
  publicKey: 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f',
}
const SHARED = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742'

describe('X25519 (RFC 7748)', () => {
  it('§5.2 function vectors, on both backends and through the API', () => {
    for (const v of RFC7748_FUNCTION) {
      expect(toHex(x25519SharedSecret(fromHex(v.scalar), fromHex(v.u)))).toBe(v.out)
      expect(toHex(node.x25519(fromHex(v.scalar), fromHex(v.u)))).toBe(v.out)
      expect(toHex(noble.x25519(fromHex(v.scalar), fromHex(v.u)))).toBe(v.out)
    }
  })

  it('§5.2 iterated vectors: 1 and 1000 iterations', () => {
    let k = fromHex('09' + '00'.repeat(31))
    let u: Uint8Array = Uint8Array.from(k)
    const results: string[] = []
    for (let i = 1; i <= 1000; i++) {
      const next = x25519SharedSecret(k, u)
      u = k
      k = next
      if (i === 1) {
        results.push(toHex(k))
        expect(toHex(noble.x25519(fromHex('09' + '00'.repeat(31)), fromHex('09' + '00'.repeat(31))))).toBe(toHex(k))
      }
    }
    results.push(toHex(k))
    expect(results).toEqual([
      '422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079',
      '684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51',
    ])
  })

  it('§6.1 Diffie-Hellman: public keys and the shared secret', () => {
    const alice = boxKeyPairFromSeed(fromHex(ALICE.privateKey))
    const bob = boxKeyPairFromSeed(fromHex(BOB.privateKey))
    expect(toHex(alice.publicKey)).toBe(ALICE.publicKey)
    expect(toHex(bob.publicKey)).toBe(BOB.publicKey)
    expect(toHex(noble.x25519PublicKey(fromHex(ALICE.privateKey)))).toBe(ALICE.publicKey)
    expect(toHex(x25519SharedSecret(alice.privateKey, bob.publicKey))).toBe(SHARED)
    expect(toHex(x25519SharedSecret(bob.privateKey, alice.publicKey))).toBe(SHARED)
    expect(toHex(noble.x25519(bob.privateKey, alice.publicKey))).toBe(SHARED)
  })

  it('node:crypto and @noble derive the same public keys and shared secrets', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (a, b) => {
        const pa = node.x25519PublicKey(a)
        const pb = node.x25519PublicKey(b)
        expect(toHex(noble.x25519PublicKey(a))).toBe(toHex(pa))
        expect(toHex(curvesX25519.getPublicKey(b))).toBe(toHex(pb))
        const s = node.x25519(a, pb)
        expect(toHex(noble.x25519(b, pa))).toBe(toHex(s))
        expect(toHex(node.x25519(b, pa))).toBe(toHex(s))
      }),
      { numRuns: 40 },
    )
  })

  it('refuses low-order public keys with EPOST_CRYPTO_BAD_KEY', () => {
    const { privateKey } = generateBoxKeyPair()
    for (const low of ['00'.repeat(32), '01' + '00'.repeat(31), 'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800']) {
      expect(() => x25519SharedSecret(privateKey, fromHex(low))).toThrowError(expect.objectContaining({ code: 'EPOST_CRYPTO_BAD_KEY' }))
    }
    expect(() => x25519SharedSecret(privateKey, new Uint8Array(31))).toThrowError(expect.objectContaining({ code: 'EPOST_CRYPTO_BAD_KEY' }))
    expect(() => boxPublicKey(new Uint8Array(33))).toThrowError(expect.objectContaining({ code: 'EPOST_CRYPTO_BAD_KEY' }))
  })
})

describe('sealed boxes', () => {
  const bob = generateBoxKeyPair()

  it('round-trip to the recipient, with and without associated data', () => {
    for (const size of [0, 1, 100, 70_000]) {
      const m = new Rng(size).bytes(size)
      const box = sealBox(bob.publicKey, m)
      expect(box.length).toBe(size + SEALED_BOX_OVERHEAD_BYTES)
      expect(toHex(openBox(bob, box))).toBe(toHex(m))
    }
    const aad = text('notification v1')
    const box = sealBox(bob.publicKey, text('hi'), { aad })
    expect(new TextDecoder().decode(openBox(bob, box, aad))).toBe('hi')
    expect(() => openBox(bob, box)).toThrowError(expect.objectContaining({ code: 'EPOST_CRYPTO_DECRYPT_FAILED' }))
  })

  it('every box is fresh, and reproducible from a seeded source', () => {
    const m = text('same')
    expect(toHex(sealBox(bob.publicKey, m))).not.toBe(toHex(sealBox(bob.publicKey, m)))
    const a = sealBox(bob.publicKey, m, { randomBytes: (n) => new Rng(1).bytes(n) })
    const b = sealBox(bob.publicKey, m, { randomBytes: (n) => new Rng(1).bytes(n) })
    expect(toHex(a)).toBe(toHex(b))
  })

  it('only the recipient can open it', () => {
    const eve = generateBoxKeyPair()
    const box = sealBox(bob.publicKey, text('for bob'))
    expect(() => openBox(eve, box)).toThrowError(expect.objectContaining({ code: 'EPOST_CRYPTO_DECRYPT_FAILED' }))
    // a key pair whose public half is wrong fails too (the key schedule binds the recipient key)
    expect(() => openBox({ privateKey: bob.privateKey, publicKey: eve.publicKey }, box)).toThrowError(
      expect.objectContaining({ code: 'EPOST_CRYPTO_DECRYPT_FAILED' }),
    )
  })

  it('the noble backend opens what node sealed (same key schedule)', () => {
    const box = sealBox(bob.publicKey, text('cross'))
    const eph = box.subarray(0, 32)
    const shared = noble.x25519(bob.privateKey, eph)
    const salt = new Uint8Array([...eph, ...bob.publicKey])
    const okm = noble.hkdfSha256(shared, salt, text('epost-sealed-box-v1'), 56)
    const opened = noble.xchacha20poly1305Decrypt(okm.subarray(0, 32), okm.subarray(32), box.subarray(32), new Uint8Array(0))
    expect(new TextDecoder().decode(opened)).toBe('cross')
  })

  it('detects every flipped bit and truncation, throwing only EPOST_CRYPTO_DECRYPT_FAILED', () => {
    const m = text('tamper-evident notification')
    const box = sealBox(bob.publicKey, m)
    fc.assert(
      fc.property(fc.integer({ min: 0, max: box.length * 8 - 1 }), (bit) => {
        const bad = Uint8Array.from(box)
        bad[bit >> 3]! ^= 1 << (bit & 7)
        expect(() => openBox(bob, bad)).toThrowError(expect.objectContaining({ code: 'EPOST_CRYPTO_DECRYPT_FAILED' }))
      }),
      { numRuns: 300 },
    )
    fc.assert(
      fc.property(fc.integer({ min: 0, max: box.length - 1 }), (n) => {
        expect(() => openBox(bob, box.subarray(0, n))).toThrowError(expect.objectContaining({ code: 'EPOST_CRYPTO_DECRYPT_FAILED' }))
      }),
    )
  })

  it('random input never opens and never throws anything but an EpostError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.anything()), (junk) => {
        try {
          openBox(bob, junk as Uint8Array)
          expect.unreachable('junk opened')
        } catch (err) {
          expect(isEpostError(err, 'EPOST_CRYPTO_DECRYPT_FAILED')).toBe(true)
        }
      }),
      { numRuns: 300 },
    )
  })

  it('validates keys with typed errors', () => {
    expect(() => sealBox(new Uint8Array(31), text('x'))).toThrowError(expect.objectContaining({ code: 'EPOST_CRYPTO_BAD_KEY' }))
    expect(() => sealBox(new Uint8Array(32), text('x'))).toThrowError(expect.objectContaining({ code: 'EPOST_CRYPTO_BAD_KEY' }))
    expect(() => openBox(null as never, new Uint8Array(64))).toThrowError(expect.objectContaining({ code: 'EPOST_CRYPTO_BAD_KEY' }))
    expect(() => sealBox(bob.publicKey, 'text' as never)).toThrowError(expect.objectContaining({ code: 'EPOST_INVALID_ARGUMENT' }))
  })
})
