import { ed25519 as curvesEd25519 } from '@noble/curves/ed25519.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { implementations } from './backends/index.js'
import { fromHex, toHex } from './bytes.js'
import { assertSignature, generateSigningKeyPair, sign, signingKeyPairFromSeed, signingPublicKey, verify } from './sign.js'

// RFC 8032 §7.1, typed in from the RFC text.
const RFC8032 = [
  {
    name: 'TEST 1',
    secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    public: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2',
    secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    public: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3',
    secret: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    public: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
  {
    name: 'TEST SHA(abc)',
    secret: '833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42',
    public: 'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
    message:
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    signature:
      'dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704',
  },
]

const { node, noble } = implementations

describe('Ed25519 (RFC 8032 §7.1 vectors)', () => {
  for (const v of RFC8032) {
    it(`${v.name}: public key, signature and verification, on both backends`, () => {
      const seed = fromHex(v.secret)
      const message = fromHex(v.message)
      expect(toHex(signingKeyPairFromSeed(seed).publicKey)).toBe(v.public)
      expect(toHex(sign(seed, message))).toBe(v.signature)
      expect(verify(fromHex(v.public), message, fromHex(v.signature))).toBe(true)
      for (const impl of [node, noble]) {
        expect(toHex(impl.ed25519PublicKey(seed))).toBe(v.public)
        expect(toHex(impl.ed25519Sign(seed, message))).toBe(v.signature)
        expect(impl.ed25519Verify(fromHex(v.public), message, fromHex(v.signature))).toBe(true)
      }
      expect(toHex(curvesEd25519.sign(message, seed))).toBe(v.signature)
    })
  }

  it('rejects a vector signature over a different message', () => {
    const v = RFC8032[1]!
    expect(verify(fromHex(v.public), fromHex('73'), fromHex(v.signature))).toBe(false)
  })
})

describe('Ed25519 cross-check: node:crypto and @noble agree', () => {
  it('produce identical keys and signatures, and verify each other', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 512 }), (seed, message) => {
        const pub = node.ed25519PublicKey(seed)
        expect(toHex(noble.ed25519PublicKey(seed))).toBe(toHex(pub))
        const sigNode = node.ed25519Sign(seed, message)
        const sigNoble = noble.ed25519Sign(seed, message)
        expect(toHex(sigNode)).toBe(toHex(sigNoble))
        expect(noble.ed25519Verify(pub, message, sigNode)).toBe(true)
        expect(node.ed25519Verify(pub, message, sigNoble)).toBe(true)
        expect(curvesEd25519.verify(sigNode, message, pub)).toBe(true)
      }),
      { numRuns: 50 },
    )
  })

  it('agree on rejecting flipped signatures', () => {
    const { publicKey, privateKey } = generateSigningKeyPair()
    const message = new TextEncoder().encode('flip me')
    const sig = sign(privateKey, message)
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 64 * 8 - 1 }), (bit) => {
        const bad = Uint8Array.from(sig)
        bad[bit >> 3]! ^= 1 << (bit & 7)
        expect(verify(publicKey, message, bad)).toBe(false)
        expect(noble.ed25519Verify(publicKey, message, bad)).toBe(false)
      }),
      { numRuns: 100 },
    )
  })
})

describe('sign / verify', () => {
  it('generates distinct key pairs whose public key matches the seed', () => {
    const a = generateSigningKeyPair()
    const b = generateSigningKeyPair()
    expect(toHex(a.privateKey)).not.toBe(toHex(b.privateKey))
    expect(a.publicKey).toHaveLength(32)
    expect(toHex(signingPublicKey(a.privateKey))).toBe(toHex(a.publicKey))
  })

  it('is deterministic from a seed and copies it', () => {
    const seed = new Uint8Array(32).fill(7)
    const kp = signingKeyPairFromSeed(seed)
    seed.fill(8)
    expect(toHex(kp.privateKey)).toBe('07'.repeat(32))
    expect(toHex(signingKeyPairFromSeed(new Uint8Array(32).fill(7)).publicKey)).toBe(toHex(kp.publicKey))
  })

  it('signs with the current bytes of a reused private key array', () => {
    const key = new Uint8Array(32).fill(1)
    const m = new Uint8Array([1, 2, 3])
    const first = sign(key, m)
    key.fill(2) // the cached OpenSSL key must not outlive the bytes
    const second = sign(key, m)
    expect(toHex(second)).not.toBe(toHex(first))
    expect(verify(signingKeyPairFromSeed(key).publicKey, m, second)).toBe(true)
  })

  it('verifies with the current bytes of a reused public key array', () => {
    const a = generateSigningKeyPair()
    const b = generateSigningKeyPair()
    const m = new Uint8Array([4, 5, 6])
    const key = Uint8Array.from(a.publicKey)
    expect(verify(key, m, sign(a.privateKey, m))).toBe(true)
    key.set(b.publicKey) // the cached OpenSSL key must not outlive the bytes
    expect(verify(key, m, sign(a.privateKey, m))).toBe(false)
    expect(verify(key, m, sign(b.privateKey, m))).toBe(true)
  })

  it('rejects a signature by another key, and tampered messages', () => {
    const a = generateSigningKeyPair()
    const b = generateSigningKeyPair()
    const m = new TextEncoder().encode('hello')
    const sig = sign(a.privateKey, m)
    expect(verify(a.publicKey, m, sig)).toBe(true)
    expect(verify(b.publicKey, m, sig)).toBe(false)
    expect(verify(a.publicKey, new TextEncoder().encode('hellp'), sig)).toBe(false)
    expect(() => assertSignature(b.publicKey, m, sig)).toThrowError(expect.objectContaining({ code: 'EPOST_CRYPTO_BAD_SIGNATURE' }))
    expect(() => assertSignature(a.publicKey, m, sig)).not.toThrow()
  })

  it('throws typed errors for malformed keys when signing', () => {
    for (const bad of [new Uint8Array(31), new Uint8Array(33), 'key', undefined, null, [1, 2]]) {
      expect(() => sign(bad as Uint8Array, new Uint8Array(1))).toThrowError(expect.objectContaining({ code: 'EPOST_CRYPTO_BAD_KEY' }))
      expect(() => signingKeyPairFromSeed(bad as Uint8Array)).toThrowError(expect.objectContaining({ code: 'EPOST_CRYPTO_BAD_KEY' }))
    }
    expect(() => sign(new Uint8Array(32), 'text' as unknown as Uint8Array)).toThrowError(
      expect.objectContaining({ code: 'EPOST_INVALID_ARGUMENT' }),
    )
  })

  it('verify never throws on garbage: random keys, messages and signatures', () => {
    const anything = fc.oneof(fc.uint8Array({ maxLength: 80 }), fc.constantFrom(undefined, null, 'x', 42, {}, [1, 2, 3]))
    fc.assert(
      fc.property(anything, anything, anything, (pub, msg, sig) => {
        expect(verify(pub as Uint8Array, msg as Uint8Array, sig as Uint8Array)).toBe(false)
      }),
      { numRuns: 300 },
    )
    // 32/64-byte random inputs reach the backend (many keys are not curve points).
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 64, maxLength: 64 }), (pub, sig) => {
        expect(verify(pub, new Uint8Array(3), sig)).toBe(false)
      }),
      { numRuns: 300 },
    )
  })
})
