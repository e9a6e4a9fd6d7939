import type { Id } from '@epost/core'
import { primitives } from './backends/index.js'
import { utf8 } from './bytes.js'
import {
  AEAD_KEY_BYTES,
  AEAD_NONCE_BYTES,
  AEAD_TAG_BYTES,
  CONVERGENCE_SECRET_BYTES,
  CONVERGENT_MIN_PAD_BYTES,
  CONVERGENT_PAD_BLOCK_BYTES,
  CONVERGENT_PAD_SMALL_BODIES,
  CONVERGENT_SMALL_BODY_BYTES,
} from './constants.js'
import { cryptoError, expectBytes } from './errors.js'
import { hashToId } from './hash.js'
import { draw, randomBytes } from './random.js'
import type { RandomBytes } from './random.js'

/**
 * Convergent encryption for message bodies and attachments (Farsite, Tahoe-LAFS):
 *
 *   framed     = plaintext || padding || u32be(padding length)
 *   key        = HMAC-SHA256(convergence secret, framed)      (= H(secret || plaintext), as a PRF)
 *   ciphertext = XChaCha20-Poly1305(key, nonce 0, framed, aad 'epost-convergent-v1')
 *   handle     = first 128 bits of SHA-256(ciphertext)
 *
 * Equal (secret, plaintext) give equal ciphertexts, so identical attachments are stored once.
 * The secret is per organisation: outsiders cannot confirm a guessed plaintext. Bodies below
 * CONVERGENT_SMALL_BODY_BYTES are padded with at least 32 random bytes up to a multiple of 256, so
 * insiders cannot confirm guesses of short messages either (those do not deduplicate). Each key
 * encrypts exactly one framed plaintext, so the fixed nonce is safe.
 */

const AAD = utf8('epost-convergent-v1')
const ZERO_NONCE = new Uint8Array(AEAD_NONCE_BYTES)
const TRAILER_BYTES = 4

export interface ConvergentOptions {
  /** Pad bodies shorter than CONVERGENT_SMALL_BODY_BYTES with random bytes. @default true */
  padSmallBodies?: boolean
  /** Source of the padding; the CSPRNG by default. */
  randomBytes?: RandomBytes
}

export interface ConvergentBlock {
  /** The content key the recipient needs (goes into the encrypted notification). */
  key: Uint8Array
  ciphertext: Uint8Array
  /** Where the block is stored: hashToId(ciphertext). */
  handle: Id
}

/** A fresh per-organisation convergence secret (kept with the CA, given to every daemon). */
export function generateConvergenceSecret(random: RandomBytes = randomBytes): Uint8Array {
  return draw(random, CONVERGENCE_SECRET_BYTES)
}

function padLength(length: number): number {
  const minimum = length + TRAILER_BYTES + CONVERGENT_MIN_PAD_BYTES
  const total = Math.ceil(minimum / CONVERGENT_PAD_BLOCK_BYTES) * CONVERGENT_PAD_BLOCK_BYTES
  return total - length - TRAILER_BYTES
}

function frame(plaintext: Uint8Array, options: ConvergentOptions): Uint8Array {
  const pad = (options.padSmallBodies ?? CONVERGENT_PAD_SMALL_BODIES) && plaintext.length < CONVERGENT_SMALL_BODY_BYTES
  const padding = pad ? draw(options.randomBytes ?? randomBytes, padLength(plaintext.length)) : new Uint8Array(0)
  const framed = new Uint8Array(plaintext.length + padding.length + TRAILER_BYTES)
  framed.set(plaintext, 0)
  framed.set(padding, plaintext.length)
  new DataView(framed.buffer).setUint32(framed.length - TRAILER_BYTES, padding.length)
  return framed
}

/** The content key of a framed body: HMAC-SHA256(secret, framed). */
function contentKey(secret: Uint8Array, framed: Uint8Array): Uint8Array {
  return primitives.hmacSha256(secret, framed)
}

/** Encrypts one body or attachment; see the module comment for the construction. */
export function convergentEncrypt(secret: Uint8Array, plaintext: Uint8Array, options: ConvergentOptions = {}): ConvergentBlock {
  expectBytes(secret, 'the convergence secret', 'EPOST_CRYPTO_BAD_KEY', CONVERGENCE_SECRET_BYTES)
  expectBytes(plaintext, 'the plaintext', 'EPOST_INVALID_ARGUMENT')
  const framed = frame(plaintext, options)
  const key = contentKey(secret, framed)
  const ciphertext = primitives.xchacha20poly1305Encrypt(key, ZERO_NONCE, framed, AAD)
  return { key, ciphertext, handle: hashToId(ciphertext) }
}

/** The handle of a convergent ciphertext (what storage nodes check a content-hash block against). */
export function convergentHandle(ciphertext: Uint8Array): Id {
  return hashToId(ciphertext)
}

/** Decrypts with the content key; EPOST_CRYPTO_DECRYPT_FAILED on a wrong key or any tampering. */
export function convergentDecrypt(key: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  expectBytes(key, 'the content key', 'EPOST_CRYPTO_BAD_KEY', AEAD_KEY_BYTES)
  expectBytes(ciphertext, 'the ciphertext', 'EPOST_CRYPTO_DECRYPT_FAILED')
  if (ciphertext.length < TRAILER_BYTES + AEAD_TAG_BYTES) {
    throw cryptoError('EPOST_CRYPTO_DECRYPT_FAILED', `a convergent ciphertext is at least ${TRAILER_BYTES + AEAD_TAG_BYTES} bytes, got ${ciphertext.length}`)
  }
  const framed = primitives.xchacha20poly1305Decrypt(key, ZERO_NONCE, ciphertext, AAD)
  if (framed === undefined) {
    throw cryptoError('EPOST_CRYPTO_DECRYPT_FAILED', 'the block does not decrypt with this content key (wrong key or altered block); fetch another replica')
  }
  const padding = new DataView(framed.buffer, framed.byteOffset, framed.byteLength).getUint32(framed.length - TRAILER_BYTES)
  if (padding > framed.length - TRAILER_BYTES) {
    throw cryptoError('EPOST_CRYPTO_DECRYPT_FAILED', 'the block decrypts but its padding length is impossible; it was not made by convergentEncrypt')
  }
  return framed.slice(0, framed.length - TRAILER_BYTES - padding)
}

/**
 * The content key `convergentEncrypt` derives for `plaintext` when it is not padded (bodies of
 * CONVERGENT_SMALL_BODY_BYTES or more, or padding off): lets a daemon look a body up before
 * encrypting it again.
 */
export function convergentKey(secret: Uint8Array, plaintext: Uint8Array): Uint8Array {
  expectBytes(secret, 'the convergence secret', 'EPOST_CRYPTO_BAD_KEY', CONVERGENCE_SECRET_BYTES)
  expectBytes(plaintext, 'the plaintext', 'EPOST_INVALID_ARGUMENT')
  return contentKey(secret, frame(plaintext, { padSmallBodies: false }))
}
