import { isEpostError } from '@epost/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { generateBoxKeyPair } from './box.js'
import { toHex } from './bytes.js'
import { generateSigningKeyPair, sign } from './sign.js'
import {
  decodeUserCertificate,
  encodeUserCertificate,
  issueUserCertificate,
  userCertificateHandle,
  verifyUserCertificate,
} from './user-certificate.js'

const ca = generateSigningKeyPair()
const signing = generateSigningKeyPair()
const encryption = generateBoxKeyPair()
const T0 = 1_700_000_000_000
const YEAR = 365 * 86_400_000
const at = (t: number) => ({ now: () => t })

function issue(address = 'alice@example.org') {
  return issueUserCertificate(ca, { address, signingKey: signing.publicKey, encryptionKey: encryption.publicKey, issuedAt: T0, expiresAt: T0 + YEAR })
}

function expectBad(fn: () => unknown): void {
  expect(fn).toThrowError(expect.objectContaining({ code: 'EPOST_CRYPTO_BAD_CERTIFICATE' }))
}

describe('user certificates', () => {
  it('bind an address to a signing key and an encryption key, and round-trip', () => {
    const cert = issue('zoë@exämple.org')
    const bytes = encodeUserCertificate(cert)
    const back = decodeUserCertificate(bytes)
    expect(back.address).toBe('zoë@exämple.org')
    expect(toHex(back.signingKey)).toBe(toHex(signing.publicKey))
    expect(toHex(back.encryptionKey)).toBe(toHex(encryption.publicKey))
    expect([back.issuedAt, back.expiresAt]).toEqual([T0, T0 + YEAR])
    expect(verifyUserCertificate(ca.publicKey, bytes, at(T0 + 1)).address).toBe('zoë@exämple.org')
    expect(verifyUserCertificate(ca.publicKey, cert, at(T0 + 1)).address).toBe('zoë@exämple.org')
  })

  it('refuses another CA, expiry, and edited fields', () => {
    const cert = issue()
    expectBad(() => verifyUserCertificate(generateSigningKeyPair().publicKey, cert, at(T0 + 1)))
    expectBad(() => verifyUserCertificate(ca.publicKey, cert, at(T0 + YEAR)))
    for (const edit of [
      { address: 'mallory@example.org' },
      { signingKey: generateSigningKeyPair().publicKey },
      { encryptionKey: generateBoxKeyPair().publicKey },
      { expiresAt: T0 + 2 * YEAR },
    ]) {
      expectBad(() => verifyUserCertificate(ca.publicKey, { ...cert, ...edit }, at(T0 + 1)))
    }
  })

  it('the signature is domain-separated: the CA signing the same body for another purpose does not count', () => {
    const cert = issue()
    const body = encodeUserCertificate(cert).subarray(0, -64)
    const withTag = (tag: string) => sign(ca.privateKey, new Uint8Array([...new TextEncoder().encode(tag), ...body]))
    expect(() => verifyUserCertificate(ca.publicKey, { ...cert, signature: withTag('epost-user-cert-v1') }, at(T0 + 1))).not.toThrow()
    expectBad(() => verifyUserCertificate(ca.publicKey, { ...cert, signature: withTag('epost-node-cert-v1') }, at(T0 + 1)))
    expectBad(() => verifyUserCertificate(ca.publicKey, { ...cert, signature: withTag('') }, at(T0 + 1)))
  })

  it('only accepts usable addresses', () => {
    for (const bad of ['', 'alice', '@example.org', 'alice@', 'al ice@example.org', 'a\n@b', 'x@' + 'y'.repeat(300)]) {
      expectBad(() => issue(bad))
    }
  })

  it('any flipped bit or truncation is refused with EPOST_CRYPTO_BAD_CERTIFICATE only', () => {
    const bytes = encodeUserCertificate(issue())
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length * 8 - 1 }), (bit) => {
        const bad = Uint8Array.from(bytes)
        bad[bit >> 3]! ^= 1 << (bit & 7)
        expectBad(() => verifyUserCertificate(ca.publicKey, bad, at(T0 + 1)))
      }),
      { numRuns: 400 },
    )
    for (let n = 0; n < bytes.length; n++) expectBad(() => verifyUserCertificate(ca.publicKey, bytes.subarray(0, n), at(T0 + 1)))
  })

  it('random bytes never decode into anything but a typed error', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 400 }), fc.anything()), (junk) => {
        try {
          decodeUserCertificate(junk as Uint8Array)
        } catch (err) {
          expect(isEpostError(err, 'EPOST_CRYPTO_BAD_CERTIFICATE')).toBe(true)
        }
        expectBad(() => verifyUserCertificate(ca.publicKey, junk as Uint8Array, at(T0 + 1)))
      }),
      { numRuns: 300 },
    )
  })

  it('handles: the hash of the name, stable and distinct', () => {
    expect(userCertificateHandle('alice@example.org').equals(userCertificateHandle('alice@example.org'))).toBe(true)
    expect(userCertificateHandle('alice@example.org').equals(userCertificateHandle('bob@example.org'))).toBe(false)
  })
})
