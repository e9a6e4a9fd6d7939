import type { Id } from './id.js'

/**
 * What a node proves itself with: its CA-signed node certificate (which binds the CA-drawn node
 * id to the node's Ed25519 key) and the ability to sign with that key. Implemented by
 * @epost/crypto; used by transports for mutual authentication.
 */
export interface NodeCredentials {
  readonly id: Id
  /** The encoded node certificate, sent to peers at connect. */
  readonly certificate: Uint8Array
  /** Ed25519 signature with the certified key. */
  sign(message: Uint8Array): Uint8Array
}

/** A certificate that checked out: the id it certifies and the key that must sign for it. */
export interface VerifiedPeer {
  id: Id
  publicKey: Uint8Array
}

/**
 * Checks peers' node certificates against the organisation's CA key. Throws an EpostError with
 * code EPOST_CRYPTO_BAD_CERTIFICATE for a certificate that is malformed, expired or not signed by
 * the CA.
 */
export interface CertificateVerifier {
  verifyNodeCertificate(certificate: Uint8Array): VerifiedPeer
  /** Ed25519 verification of `signature` over `message` by `publicKey`. */
  verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean
}
