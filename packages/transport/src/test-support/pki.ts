import type { CertificateVerifier, NodeCredentials } from '@epost/core'
import { createCertificateVerifier, createNodeCredentials, encodeNodeCertificate, generateSigningKeyPair, issueNodeCertificate } from '@epost/crypto'
import type { SigningKeyPair } from '@epost/crypto'

const DAY_MS = 86_400_000

export interface TestNode {
  credentials: NodeCredentials
  keyPair: SigningKeyPair
}

export interface TestPki {
  ca: SigningKeyPair
  verifier: CertificateVerifier
  /** A node certified by this CA; validity defaults to yesterday..tomorrow. */
  node(options?: { issuedAt?: number; expiresAt?: number }): TestNode
}

/** A throwaway CA with real Ed25519 keys and certificates (@epost/crypto). */
export function testPki(): TestPki {
  const ca = generateSigningKeyPair()
  return {
    ca,
    verifier: createCertificateVerifier(ca.publicKey),
    node(options = {}) {
      const keyPair = generateSigningKeyPair()
      const now = Date.now()
      const cert = issueNodeCertificate(ca, { publicKey: keyPair.publicKey, issuedAt: options.issuedAt ?? now - DAY_MS, expiresAt: options.expiresAt ?? now + DAY_MS })
      return { keyPair, credentials: createNodeCredentials(keyPair, cert) }
    },
  }
}

/** Raw encoded certificate of a test node (for forging handshakes). */
export { encodeNodeCertificate }
