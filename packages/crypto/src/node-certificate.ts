import { ID_BYTES, Id } from '@epost/core'
import { concatBytes, utf8 } from './bytes.js'
import { SIGNATURE_BYTES, SIGNING_PUBLIC_KEY_BYTES } from './constants.js'
import {
  CERTIFICATE_VERSION,
  U64_BYTES,
  asCertificateCheck,
  badCertificate,
  checkKey,
  checkTimes,
  checkValidAt,
  readU64,
  viewOf,
  writeU64,
} from './certificate-fields.js'
import { expectBytes } from './errors.js'
import { draw, randomBytes as csprng } from './random.js'
import type { RandomBytes } from './random.js'
import { sign, verify } from './sign.js'
import type { SigningKeyPair } from './sign.js'

/**
 * A node certificate binds a ring position, drawn at random by the CA (nobody chooses where they
 * land), to the node's Ed25519 key. Layout (129 bytes, big-endian):
 *
 *   0 version (1) | 1 nodeId (16) | 17 publicKey (32) | 49 issuedAt u64 ms | 57 expiresAt u64 ms
 *   65 signature (64) = Ed25519_CA('epost-node-cert-v1' || bytes 0..65)
 */
export interface NodeCertificate {
  version: 1
  nodeId: Id
  publicKey: Uint8Array
  issuedAt: number
  expiresAt: number
  signature: Uint8Array
}

export interface NodeCertificateSubject {
  publicKey: Uint8Array
  /** Normally absent: the CA draws the id at random. */
  nodeId?: Id
  issuedAt: number
  expiresAt: number
}

/** Verification time; `Date.now` unless given (simulations pass their virtual clock). */
export interface CertificateCheckOptions {
  now?: () => number
}

const NODE_CERT_TAG = utf8('epost-node-cert-v1')
const BODY_BYTES = 1 + ID_BYTES + SIGNING_PUBLIC_KEY_BYTES + 2 * U64_BYTES
export const NODE_CERTIFICATE_BYTES = BODY_BYTES + SIGNATURE_BYTES

function encodeBody(c: Omit<NodeCertificate, 'signature'>): Uint8Array {
  if (c.version !== CERTIFICATE_VERSION) throw badCertificate(`unsupported node certificate version ${String(c.version)}`)
  if (!(c.nodeId instanceof Id)) throw badCertificate('nodeId must be an Id')
  checkKey(c.publicKey, 'the node public key', SIGNING_PUBLIC_KEY_BYTES)
  checkTimes(c.issuedAt, c.expiresAt)
  const body = new Uint8Array(BODY_BYTES)
  const view = viewOf(body)
  body[0] = c.version
  body.set(c.nodeId.bytes, 1)
  body.set(c.publicKey, 1 + ID_BYTES)
  writeU64(view, 1 + ID_BYTES + SIGNING_PUBLIC_KEY_BYTES, c.issuedAt)
  writeU64(view, 1 + ID_BYTES + SIGNING_PUBLIC_KEY_BYTES + U64_BYTES, c.expiresAt)
  return body
}

/** The CA signs a node certificate; the node id is drawn from `randomBytes` (CSPRNG) when absent. */
export function issueNodeCertificate(ca: SigningKeyPair, subject: NodeCertificateSubject, randomBytes: RandomBytes = csprng): NodeCertificate {
  const nodeId = subject.nodeId ?? Id.random((n) => draw(randomBytes, n))
  const unsigned = {
    version: CERTIFICATE_VERSION,
    nodeId,
    publicKey: Uint8Array.from(expectBytes(subject.publicKey, 'the node public key', 'EPOST_CRYPTO_BAD_KEY', SIGNING_PUBLIC_KEY_BYTES)),
    issuedAt: subject.issuedAt,
    expiresAt: subject.expiresAt,
  } as const
  const body = encodeBody(unsigned)
  return { ...unsigned, signature: sign(ca.privateKey, concatBytes(NODE_CERT_TAG, body)) }
}

export function encodeNodeCertificate(c: NodeCertificate): Uint8Array {
  const body = encodeBody(c)
  return concatBytes(body, checkKey(c.signature, 'the certificate signature', SIGNATURE_BYTES))
}

/** Parses the fixed layout (does not check the signature); EPOST_CRYPTO_BAD_CERTIFICATE on malformed input. */
export function decodeNodeCertificate(bytes: Uint8Array): NodeCertificate {
  return asCertificateCheck('node certificate', () => decodeNodeCertificateUnchecked(bytes))
}

function decodeNodeCertificateUnchecked(bytes: Uint8Array): NodeCertificate {
  if (!(bytes instanceof Uint8Array)) throw badCertificate('a node certificate must be a Uint8Array')
  if (bytes.length !== NODE_CERTIFICATE_BYTES) {
    throw badCertificate(`a node certificate is ${NODE_CERTIFICATE_BYTES} bytes, got ${bytes.length}`)
  }
  if (bytes[0] !== CERTIFICATE_VERSION) throw badCertificate(`unsupported node certificate version ${String(bytes[0])}`)
  const view = viewOf(bytes)
  let o = 1
  const nodeId = Id.fromBytes(bytes.subarray(o, o + ID_BYTES))
  o += ID_BYTES
  const publicKey = bytes.slice(o, o + SIGNING_PUBLIC_KEY_BYTES)
  o += SIGNING_PUBLIC_KEY_BYTES
  const issuedAt = readU64(view, o, 'issuedAt')
  const expiresAt = readU64(view, o + U64_BYTES, 'expiresAt')
  o += 2 * U64_BYTES
  checkTimes(issuedAt, expiresAt)
  return { version: CERTIFICATE_VERSION, nodeId, publicKey, issuedAt, expiresAt, signature: bytes.slice(o) }
}

/**
 * Decodes (if needed) and checks a node certificate: CA signature, 32-byte key, validity window.
 * Returns the certificate; throws EPOST_CRYPTO_BAD_CERTIFICATE otherwise.
 */
export function verifyNodeCertificate(caPublicKey: Uint8Array, certificate: Uint8Array | NodeCertificate, options: CertificateCheckOptions = {}): NodeCertificate {
  return asCertificateCheck('node certificate', () => {
    const c = certificate instanceof Uint8Array ? decodeNodeCertificate(certificate) : certificate
    const body = encodeBody(c)
    checkKey(c.signature, 'the certificate signature', SIGNATURE_BYTES)
    if (!verify(caPublicKey, concatBytes(NODE_CERT_TAG, body), c.signature)) {
      throw badCertificate('the node certificate is not signed by this CA')
    }
    checkValidAt(c.issuedAt, c.expiresAt, (options.now ?? Date.now)())
    return c
  })
}
