import type { Id } from '@epost/core'
import { concatBytes, fromUtf8, utf8 } from './bytes.js'
import { BOX_PUBLIC_KEY_BYTES, MAX_ADDRESS_BYTES, SIGNATURE_BYTES, SIGNING_PUBLIC_KEY_BYTES } from './constants.js'
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
import { cryptoError, expectBytes } from './errors.js'
import { hashToId } from './hash.js'
import type { CertificateCheckOptions } from './node-certificate.js'
import { sign, verify } from './sign.js'
import type { SigningKeyPair } from './sign.js'

/**
 * A user certificate binds an email address to the user's Ed25519 signing key and X25519
 * encryption key. Layout (big-endian):
 *
 *   version (1) | addressLength (1) | address (UTF-8) | signingKey (32) | encryptionKey (32)
 *   | issuedAt u64 ms | expiresAt u64 ms | signature (64) = Ed25519_CA('epost-user-cert-v1' || all before it)
 *
 * The address is taken as given (any case folding is the POST layer's policy); it must be 1..254
 * bytes of UTF-8 with an '@' and no spaces or control characters.
 */
export interface UserCertificate {
  version: 1
  address: string
  signingKey: Uint8Array
  encryptionKey: Uint8Array
  issuedAt: number
  expiresAt: number
  signature: Uint8Array
}

export interface UserCertificateSubject {
  address: string
  signingKey: Uint8Array
  encryptionKey: Uint8Array
  issuedAt: number
  expiresAt: number
}

const USER_CERT_TAG = utf8('epost-user-cert-v1')
const USER_CERT_HANDLE_TAG = utf8('epost-user-cert-handle-v1:')
const FIXED_BYTES = 2 + SIGNING_PUBLIC_KEY_BYTES + BOX_PUBLIC_KEY_BYTES + 2 * U64_BYTES
const BAD_ADDRESS_CHARS = /[\u0000-\u0020\u007f]/

function addressBytes(address: unknown): Uint8Array {
  if (typeof address !== 'string') throw badCertificate('the address must be a string')
  const bytes = utf8(address)
  const at = address.indexOf('@')
  if (bytes.length < 3 || bytes.length > MAX_ADDRESS_BYTES || at < 1 || at === address.length - 1 || BAD_ADDRESS_CHARS.test(address)) {
    throw badCertificate(`'${address.slice(0, 64)}' is not a usable address (1..${MAX_ADDRESS_BYTES} bytes, local@domain, no spaces)`)
  }
  return bytes
}

function encodeBody(c: Omit<UserCertificate, 'signature'>): Uint8Array {
  if (c.version !== CERTIFICATE_VERSION) throw badCertificate(`unsupported user certificate version ${String(c.version)}`)
  const address = addressBytes(c.address)
  checkKey(c.signingKey, 'the signing key', SIGNING_PUBLIC_KEY_BYTES)
  checkKey(c.encryptionKey, 'the encryption key', BOX_PUBLIC_KEY_BYTES)
  checkTimes(c.issuedAt, c.expiresAt)
  const body = new Uint8Array(FIXED_BYTES + address.length)
  const view = viewOf(body)
  body[0] = c.version
  body[1] = address.length
  let o = 2
  body.set(address, o)
  o += address.length
  body.set(c.signingKey, o)
  o += SIGNING_PUBLIC_KEY_BYTES
  body.set(c.encryptionKey, o)
  o += BOX_PUBLIC_KEY_BYTES
  writeU64(view, o, c.issuedAt)
  writeU64(view, o + U64_BYTES, c.expiresAt)
  return body
}

/** The CA signs a user certificate. */
export function issueUserCertificate(ca: SigningKeyPair, subject: UserCertificateSubject): UserCertificate {
  const unsigned = {
    version: CERTIFICATE_VERSION,
    address: subject.address,
    signingKey: Uint8Array.from(expectBytes(subject.signingKey, 'the signing key', 'EPOST_CRYPTO_BAD_KEY', SIGNING_PUBLIC_KEY_BYTES)),
    encryptionKey: Uint8Array.from(expectBytes(subject.encryptionKey, 'the encryption key', 'EPOST_CRYPTO_BAD_KEY', BOX_PUBLIC_KEY_BYTES)),
    issuedAt: subject.issuedAt,
    expiresAt: subject.expiresAt,
  } as const
  const body = encodeBody(unsigned)
  return { ...unsigned, signature: sign(ca.privateKey, concatBytes(USER_CERT_TAG, body)) }
}

export function encodeUserCertificate(c: UserCertificate): Uint8Array {
  return concatBytes(encodeBody(c), checkKey(c.signature, 'the certificate signature', SIGNATURE_BYTES))
}

/** Parses the layout (does not check the signature); EPOST_CRYPTO_BAD_CERTIFICATE on malformed input. */
export function decodeUserCertificate(bytes: Uint8Array): UserCertificate {
  return asCertificateCheck('user certificate', () => {
    if (!(bytes instanceof Uint8Array)) throw badCertificate('a user certificate must be a Uint8Array')
    if (bytes.length < FIXED_BYTES + SIGNATURE_BYTES) throw badCertificate(`a user certificate is at least ${FIXED_BYTES + SIGNATURE_BYTES} bytes, got ${bytes.length}`)
    if (bytes[0] !== CERTIFICATE_VERSION) throw badCertificate(`unsupported user certificate version ${String(bytes[0])}`)
    const addressLength = bytes[1] as number
    if (bytes.length !== FIXED_BYTES + addressLength + SIGNATURE_BYTES) {
      throw badCertificate(`a user certificate with a ${addressLength}-byte address is ${FIXED_BYTES + addressLength + SIGNATURE_BYTES} bytes, got ${bytes.length}`)
    }
    let o = 2
    let address: string
    try {
      address = fromUtf8(bytes.subarray(o, o + addressLength))
    } catch (err) {
      throw badCertificate('the address is not valid UTF-8', undefined, err)
    }
    addressBytes(address)
    o += addressLength
    const signingKey = bytes.slice(o, o + SIGNING_PUBLIC_KEY_BYTES)
    o += SIGNING_PUBLIC_KEY_BYTES
    const encryptionKey = bytes.slice(o, o + BOX_PUBLIC_KEY_BYTES)
    o += BOX_PUBLIC_KEY_BYTES
    const view = viewOf(bytes)
    const issuedAt = readU64(view, o, 'issuedAt')
    const expiresAt = readU64(view, o + U64_BYTES, 'expiresAt')
    o += 2 * U64_BYTES
    checkTimes(issuedAt, expiresAt)
    return { version: CERTIFICATE_VERSION, address, signingKey, encryptionKey, issuedAt, expiresAt, signature: bytes.slice(o) }
  })
}

/**
 * Decodes (if needed) and checks a user certificate: CA signature over every field and the
 * validity window. Returns it; throws EPOST_CRYPTO_BAD_CERTIFICATE otherwise.
 */
export function verifyUserCertificate(caPublicKey: Uint8Array, certificate: Uint8Array | UserCertificate, options: CertificateCheckOptions = {}): UserCertificate {
  return asCertificateCheck('user certificate', () => {
    const c = certificate instanceof Uint8Array ? decodeUserCertificate(certificate) : certificate
    const body = encodeBody(c)
    checkKey(c.signature, 'the certificate signature', SIGNATURE_BYTES)
    if (!verify(caPublicKey, concatBytes(USER_CERT_TAG, body), c.signature)) {
      throw badCertificate(`the user certificate of '${c.address}' is not signed by this CA`)
    }
    checkValidAt(c.issuedAt, c.expiresAt, (options.now ?? Date.now)())
    return c
  })
}

/** Where the certificate of `address` is stored: a certificate block's handle is the hash of the name. */
export function userCertificateHandle(address: string): Id {
  if (typeof address !== 'string') throw cryptoError('EPOST_INVALID_ARGUMENT', 'the address must be a string')
  return hashToId(concatBytes(USER_CERT_HANDLE_TAG, utf8(address)))
}
