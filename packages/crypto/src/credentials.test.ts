import { isEpostError } from '@epost/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { toHex } from './bytes.js'
import { createCertificateVerifier, createNodeCredentials } from './credentials.js'
import { encodeNodeCertificate, issueNodeCertificate } from './node-certificate.js'
import { generateSigningKeyPair, verify } from './sign.js'

const ca = generateSigningKeyPair()
const T0 = 1_000_000
const HOUR = 3_600_000

function setup() {
  const keyPair = generateSigningKeyPair()
  const certificate = issueNodeCertificate(ca, { publicKey: keyPair.publicKey, issuedAt: T0, expiresAt: T0 + HOUR })
  return { keyPair, certificate }
}

describe('node credentials and the certificate verifier', () => {
  it('a node proves its id: the peer verifies the certificate and a signature over its nonce', () => {
    const { keyPair, certificate } = setup()
    const creds = createNodeCredentials(keyPair, certificate)
    expect(creds.id.equals(certificate.nodeId)).toBe(true)
    expect(toHex(creds.certificate)).toBe(toHex(encodeNodeCertificate(certificate)))

    let now = T0 + 10
    const verifier = createCertificateVerifier(ca.publicKey, { now: () => now })
    const peer = verifier.verifyNodeCertificate(creds.certificate)
    expect(peer.id.equals(certificate.nodeId)).toBe(true)
    expect(toHex(peer.publicKey)).toBe(toHex(keyPair.publicKey))

    const nonce = new Uint8Array(32).fill(9)
    const sig = creds.sign(nonce)
    expect(verifier.verifySignature(peer.publicKey, nonce, sig)).toBe(true)
    expect(verifier.verifySignature(peer.publicKey, new Uint8Array(32), sig)).toBe(false)
    expect(verifier.verifySignature(new Uint8Array(3), nonce, sig)).toBe(false)

    now = T0 + HOUR // the verifier reads the clock at every call
    expect(() => verifier.verifyNodeCertificate(creds.certificate)).toThrowError(expect.objectContaining({ code: 'EPOST_CRYPTO_BAD_CERTIFICATE' }))
  })

  it('a certificate from another CA is refused', () => {
    const { certificate } = setup()
    const other = createCertificateVerifier(generateSigningKeyPair().publicKey, { now: () => T0 + 1 })
    expect(() => other.verifyNodeCertificate(encodeNodeCertificate(certificate))).toThrowError(
      expect.objectContaining({ code: 'EPOST_CRYPTO_BAD_CERTIFICATE' }),
    )
  })

  it('uses Date.now by default', () => {
    const keyPair = generateSigningKeyPair()
    const now = Date.now()
    const fresh = issueNodeCertificate(ca, { publicKey: keyPair.publicKey, issuedAt: now, expiresAt: now + HOUR })
    const old = issueNodeCertificate(ca, { publicKey: keyPair.publicKey, issuedAt: T0, expiresAt: T0 + HOUR })
    const verifier = createCertificateVerifier(ca.publicKey)
    expect(() => verifier.verifyNodeCertificate(encodeNodeCertificate(fresh))).not.toThrow()
    expect(() => verifier.verifyNodeCertificate(encodeNodeCertificate(old))).toThrow()
  })

  it('refuses credentials whose key pair does not match the certificate or itself', () => {
    const { keyPair, certificate } = setup()
    const other = generateSigningKeyPair()
    expect(() => createNodeCredentials(other, certificate)).toThrowError(expect.objectContaining({ code: 'EPOST_CRYPTO_BAD_CERTIFICATE' }))
    expect(() => createNodeCredentials({ publicKey: keyPair.publicKey, privateKey: other.privateKey }, certificate)).toThrowError(
      expect.objectContaining({ code: 'EPOST_CRYPTO_BAD_KEY' }),
    )
    expect(() => createNodeCredentials({ publicKey: keyPair.publicKey, privateKey: new Uint8Array(5) }, certificate)).toThrowError(
      expect.objectContaining({ code: 'EPOST_CRYPTO_BAD_KEY' }),
    )
  })

  it('credentials sign verifiably and keep their own copy of the key', () => {
    const { keyPair, certificate } = setup()
    const creds = createNodeCredentials(keyPair, certificate)
    keyPair.privateKey.fill(0)
    const m = new Uint8Array([1, 2, 3])
    expect(verify(certificate.publicKey, m, creds.sign(m))).toBe(true)
  })

  it('refuses a bad CA key up front', () => {
    expect(() => createCertificateVerifier(new Uint8Array(31))).toThrowError(expect.objectContaining({ code: 'EPOST_CRYPTO_BAD_KEY' }))
  })

  it('verifyNodeCertificate throws only EPOST_CRYPTO_BAD_CERTIFICATE on arbitrary input', () => {
    const verifier = createCertificateVerifier(ca.publicKey, { now: () => T0 + 1 })
    fc.assert(
      fc.property(fc.anything(), (value) => {
        try {
          verifier.verifyNodeCertificate(value as Uint8Array)
          expect.unreachable('garbage verified')
        } catch (err) {
          expect(isEpostError(err, 'EPOST_CRYPTO_BAD_CERTIFICATE')).toBe(true)
        }
      }),
      { numRuns: 300 },
    )
  })
})
