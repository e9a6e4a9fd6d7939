import { EpostError, Id } from '@epost/core'
import type { CertificateVerifier, NodeCredentials, Rng } from '@epost/core'

/**
 * Credentials for simulator tests that run without a verifier: the certificate is just the id.
 * Never accepted by a real CertificateVerifier.
 */
export function fakeCredentials(rng: Rng): NodeCredentials {
  const id = Id.random((n) => rng.bytes(n))
  return { id, certificate: id.bytes, sign: () => new Uint8Array(64) }
}

/** Accepts fakeCredentials certificates whose id is not in `revoked`. */
export function fakeVerifier(revoked: ReadonlySet<string> = new Set()): CertificateVerifier {
  return {
    verifyNodeCertificate(certificate) {
      const id = Id.fromBytes(certificate)
      if (revoked.has(id.hex)) throw new EpostError('EPOST_CRYPTO_BAD_CERTIFICATE', 'revoked')
      return { id, publicKey: new Uint8Array(32) }
    },
    verifySignature: () => true,
  }
}
