import type { CertificateVerifier, Id, NodeCredentials, Rng } from '@epost/core'
import { createCertificateVerifier, createNodeCredentials, issueNodeCertificate, signingKeyPairFromSeed } from '@epost/crypto'
import type { SigningKeyPair } from '@epost/crypto'

/** A test certificate authority: the organisation's CA key, drawn from a seed. */
export interface TestCa {
  keyPair: SigningKeyPair
  verifier: CertificateVerifier
  /** Issues credentials for a new node; the CA draws its id from `rng` (or takes `nodeId`). */
  issue(rng: Rng, nodeId?: Id): NodeCredentials
}

const YEAR_MS = 365 * 24 * 3600 * 1000

export function createTestCa(rng: Rng, now: () => number = Date.now): TestCa {
  const keyPair = signingKeyPairFromSeed(rng.bytes(32))
  return {
    keyPair,
    verifier: createCertificateVerifier(keyPair.publicKey, { now: () => Math.floor(now()) }),
    issue(nodeRng, nodeId) {
      const nodeKeys = signingKeyPairFromSeed(nodeRng.bytes(32))
      const issuedAt = Math.floor(now())
      const cert = issueNodeCertificate(
        keyPair,
        { publicKey: nodeKeys.publicKey, issuedAt, expiresAt: issuedAt + YEAR_MS, ...(nodeId === undefined ? {} : { nodeId }) },
        (n) => nodeRng.bytes(n),
      )
      return createNodeCredentials(nodeKeys, cert)
    },
  }
}
