import type { CertificateVerifier, NodeCredentials, VerifiedPeer } from '@epost/core'
import { equalBytes } from './bytes.js'
import { SIGNING_PRIVATE_KEY_BYTES, SIGNING_PUBLIC_KEY_BYTES } from './constants.js'
import { cryptoError, expectBytes } from './errors.js'
import { encodeNodeCertificate, verifyNodeCertificate } from './node-certificate.js'
import type { CertificateCheckOptions, NodeCertificate } from './node-certificate.js'
import { sign, signingPublicKey, verify } from './sign.js'
import type { SigningKeyPair } from './sign.js'

/**
 * What a node proves itself with (core's NodeCredentials): its encoded certificate and a signer
 * for the certified key. Refuses a key pair that does not match itself or the certificate.
 */
export function createNodeCredentials(keyPair: SigningKeyPair, certificate: NodeCertificate): NodeCredentials {
  if (typeof keyPair !== 'object' || keyPair === null) throw cryptoError('EPOST_CRYPTO_BAD_KEY', 'createNodeCredentials needs the node key pair')
  const privateKey = Uint8Array.from(expectBytes(keyPair.privateKey, 'the node private key', 'EPOST_CRYPTO_BAD_KEY', SIGNING_PRIVATE_KEY_BYTES))
  const publicKey = expectBytes(keyPair.publicKey, 'the node public key', 'EPOST_CRYPTO_BAD_KEY', SIGNING_PUBLIC_KEY_BYTES)
  if (!equalBytes(signingPublicKey(privateKey), publicKey)) {
    throw cryptoError('EPOST_CRYPTO_BAD_KEY', 'the node key pair does not match itself: its public key is not derived from its private key')
  }
  const encoded = encodeNodeCertificate(certificate)
  if (!equalBytes(certificate.publicKey, publicKey)) {
    throw cryptoError('EPOST_CRYPTO_BAD_CERTIFICATE', "the node certificate certifies another key than this node's; use the certificate issued for this key pair")
  }
  return {
    id: certificate.nodeId,
    certificate: encoded,
    sign: (message: Uint8Array) => sign(privateKey, message),
  }
}

/**
 * Checks peers' node certificates against the organisation's CA key (core's CertificateVerifier):
 * CA signature, a 32-byte key and the validity window at `options.now()` (default Date.now).
 * Throws EPOST_CRYPTO_BAD_CERTIFICATE for anything else.
 */
export function createCertificateVerifier(caPublicKey: Uint8Array, options: CertificateCheckOptions = {}): CertificateVerifier {
  const ca = Uint8Array.from(expectBytes(caPublicKey, 'the CA public key', 'EPOST_CRYPTO_BAD_KEY', SIGNING_PUBLIC_KEY_BYTES))
  const check: CertificateCheckOptions = options.now === undefined ? {} : { now: options.now }
  return {
    verifyNodeCertificate(certificate: Uint8Array): VerifiedPeer {
      const c = verifyNodeCertificate(ca, certificate, check)
      return { id: c.nodeId, publicKey: c.publicKey }
    },
    verifySignature: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => verify(publicKey, message, signature),
  }
}
