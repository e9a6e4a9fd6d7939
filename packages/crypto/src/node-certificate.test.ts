import { Id, Rng, isEpostError } from '@epost/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { toHex } from './bytes.js'
import {
  NODE_CERTIFICATE_BYTES,
  decodeNodeCertificate,
  encodeNodeCertificate,
  issueNodeCertificate,
  verifyNodeCertificate,
} from './node-certificate.js'
import { generateSigningKeyPair, sign, signingKeyPairFromSeed } from './sign.js'

const ca = signingKeyPairFromSeed(new Uint8Array(32).fill(0xca))
const nodeKey = signingKeyPairFromSeed(new Uint8Array(32).fill(0x01))
const T0 = 1_700_000_000_000
const DAY = 86_400_000
const at = (t: number) => ({ now: () => t })

function issue(extra: Partial<Parameters<typeof issueNodeCertificate>[1]> = {}) {
  return issueNodeCertificate(ca, { publicKey: nodeKey.publicKey, issuedAt: T0, expiresAt: T0 + DAY, ...extra })
}

function expectBad(fn: () => unknown): void {
  expect(fn).toThrowError(expect.objectContaining({ code: 'EPOST_CRYPTO_BAD_CERTIFICATE' }))
}

describe('node certificates', () => {
  it('round-trips through the fixed 129-byte layout and verifies', () => {
    const cert = issue()
    const bytes = encodeNodeCertificate(cert)
    expect(bytes).toHaveLength(NODE_CERTIFICATE_BYTES)
    expect(NODE_CERTIFICATE_BYTES).toBe(129)
    const back = decodeNodeCertificate(bytes)
    expect(back.nodeId.equals(cert.nodeId)).toBe(true)
    expect(toHex(back.publicKey)).toBe(toHex(nodeKey.publicKey))
    expect([back.version, back.issuedAt, back.expiresAt]).toEqual([1, T0, T0 + DAY])
    expect(toHex(back.signature)).toBe(toHex(cert.signature))
    expect(verifyNodeCertificate(ca.publicKey, bytes, at(T0 + 1)).nodeId.equals(cert.nodeId)).toBe(true)
    expect(verifyNodeCertificate(ca.publicKey, cert, at(T0 + 1)).nodeId.equals(cert.nodeId)).toBe(true)
  })

  it('pins the layout: a golden certificate', () => {
    const cert = issue({ nodeId: Id.fromHex('00112233445566778899aabbccddeeff') })
    const hex = toHex(encodeNodeCertificate(cert))
    expect(hex.slice(0, 2)).toBe('01')
    expect(hex.slice(2, 34)).toBe('00112233445566778899aabbccddeeff')
    expect(hex.slice(34, 98)).toBe(toHex(nodeKey.publicKey))
    expect(hex.slice(98, 114)).toBe(T0.toString(16).padStart(16, '0'))
    expect(hex.slice(114, 130)).toBe((T0 + DAY).toString(16).padStart(16, '0'))
    // Ed25519 is deterministic, so the whole certificate is too.
    expect(toHex(encodeNodeCertificate(issue({ nodeId: cert.nodeId })))).toBe(hex)
  })

  it('the CA signs the domain tag and every field, and nothing else counts', () => {
    const cert = issue()
    const body = encodeNodeCertificate(cert).subarray(0, 65)
    const withTag = (tag: string) => sign(ca.privateKey, new Uint8Array([...new TextEncoder().encode(tag), ...body]))
    expect(toHex(cert.signature)).toBe(toHex(withTag('epost-node-cert-v1')))
    for (const tag of ['', 'epost-user-cert-v1']) {
      expectBad(() => verifyNodeCertificate(ca.publicKey, { ...cert, signature: withTag(tag) }, at(T0 + 1)))
    }
  })

  it('lets the CA draw the node id: random with the CSPRNG, reproducible with a seeded Rng', () => {
    const ids = new Set(Array.from({ length: 20 }, () => issue().nodeId.hex))
    expect(ids.size).toBe(20)
    const a = issueNodeCertificate(ca, { publicKey: nodeKey.publicKey, issuedAt: T0, expiresAt: T0 + DAY }, (n) => new Rng(42).bytes(n))
    const b = issueNodeCertificate(ca, { publicKey: nodeKey.publicKey, issuedAt: T0, expiresAt: T0 + DAY }, (n) => new Rng(42).bytes(n))
    expect(a.nodeId.hex).toBe(b.nodeId.hex)
    expect(a.nodeId.hex).toBe(Id.fromBytes(new Rng(42).bytes(16)).hex)
  })

  it('refuses certificates of another CA, expired or not yet valid ones', () => {
    const bytes = encodeNodeCertificate(issue())
    expectBad(() => verifyNodeCertificate(generateSigningKeyPair().publicKey, bytes, at(T0 + 1)))
    expectBad(() => verifyNodeCertificate(ca.publicKey, bytes, at(T0 + DAY)))
    expectBad(() => verifyNodeCertificate(ca.publicKey, bytes, at(T0 - 60 * 60 * 1000)))
    // small clock skew is tolerated
    expect(() => verifyNodeCertificate(ca.publicKey, bytes, at(T0 - 1000))).not.toThrow()
  })

  it('refuses an edited certificate object (signature covers every field)', () => {
    const cert = issue()
    const edits = [
      { ...cert, nodeId: cert.nodeId.add(1n) },
      { ...cert, publicKey: generateSigningKeyPair().publicKey },
      { ...cert, issuedAt: cert.issuedAt - 1 },
      { ...cert, expiresAt: cert.expiresAt + 1 },
    ]
    for (const e of edits) expectBad(() => verifyNodeCertificate(ca.publicKey, e, at(T0 + 1)))
    expectBad(() => verifyNodeCertificate(ca.publicKey, { ...cert, publicKey: new Uint8Array(31) }, at(T0 + 1)))
    expectBad(() => verifyNodeCertificate(ca.publicKey, { ...cert, version: 2 as 1 }, at(T0 + 1)))
  })

  it('validates what it issues', () => {
    expect(() => issueNodeCertificate(ca, { publicKey: new Uint8Array(31), issuedAt: T0, expiresAt: T0 + 1 })).toThrowError(
      expect.objectContaining({ code: 'EPOST_CRYPTO_BAD_KEY' }),
    )
    expectBad(() => issue({ expiresAt: T0 }))
    expectBad(() => issue({ issuedAt: -1 }))
    expectBad(() => issue({ issuedAt: 1.5 }))
  })

  it('decodes only well-formed certificates', () => {
    const bytes = encodeNodeCertificate(issue())
    expectBad(() => decodeNodeCertificate(bytes.subarray(0, 128)))
    expectBad(() => decodeNodeCertificate(new Uint8Array([...bytes, 0])))
    expectBad(() => decodeNodeCertificate(Uint8Array.from([2, ...bytes.subarray(1)])))
    expectBad(() => decodeNodeCertificate('cert' as unknown as Uint8Array))
    const far = Uint8Array.from(bytes)
    far.fill(0xff, 49, 57) // issuedAt beyond 2^53
    expectBad(() => decodeNodeCertificate(far))
  })

  it('any flipped bit or truncation is refused with EPOST_CRYPTO_BAD_CERTIFICATE, nothing else', () => {
    const bytes = encodeNodeCertificate(issue())
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length * 8 - 1 }), (bit) => {
        const bad = Uint8Array.from(bytes)
        bad[bit >> 3]! ^= 1 << (bit & 7)
        expectBad(() => verifyNodeCertificate(ca.publicKey, bad, at(T0 + 1)))
      }),
      { numRuns: 400 },
    )
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length - 1 }), (n) => {
        expectBad(() => verifyNodeCertificate(ca.publicKey, bytes.subarray(0, n), at(T0 + 1)))
      }),
    )
  })

  it('random bytes never decode into anything but a typed error', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ minLength: 129, maxLength: 129 })), (bytes) => {
        try {
          decodeNodeCertificate(bytes)
        } catch (err) {
          expect(isEpostError(err, 'EPOST_CRYPTO_BAD_CERTIFICATE')).toBe(true)
        }
        expectBad(() => verifyNodeCertificate(ca.publicKey, bytes, at(T0 + 1)))
      }),
      { numRuns: 300 },
    )
  })
})
