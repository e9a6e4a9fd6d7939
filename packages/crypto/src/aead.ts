import { primitives } from './backends/index.js'
import { AEAD_KEY_BYTES, AEAD_NONCE_BYTES, AEAD_TAG_BYTES } from './constants.js'
import { cryptoError, expectBytes } from './errors.js'
import { draw, randomBytes } from './random.js'
import type { RandomBytes } from './random.js'

/**
 * XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha): 256-bit key, 192-bit nonce, 128-bit tag. The
 * nonce is long enough to draw at random for every message under one key (collision chance
 * about 2^-96 after 2^48 messages), so `aeadSeal` always does that.
 */

const EMPTY = new Uint8Array(0)

export interface AeadSealOptions {
  /** Additional authenticated data, bound to the ciphertext but not encrypted. */
  aad?: Uint8Array
  /** Nonce source; the CSPRNG by default. */
  randomBytes?: RandomBytes
}

/** A fresh random 32-byte AEAD key. */
export function generateAeadKey(random: RandomBytes = randomBytes): Uint8Array {
  return draw(random, AEAD_KEY_BYTES)
}

/** Deterministic AEAD encryption with a caller-chosen nonce: returns ciphertext || tag. */
export function aeadEncrypt(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array = EMPTY): Uint8Array {
  expectBytes(nonce, 'the AEAD nonce', 'EPOST_INVALID_ARGUMENT', AEAD_NONCE_BYTES)
  checkEncryptArgs(key, plaintext, aad)
  return primitives.xchacha20poly1305Encrypt(key, nonce, plaintext, aad)
}

function checkEncryptArgs(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): void {
  expectBytes(key, 'the AEAD key', 'EPOST_CRYPTO_BAD_KEY', AEAD_KEY_BYTES)
  expectBytes(plaintext, 'the plaintext', 'EPOST_INVALID_ARGUMENT')
  expectBytes(aad, 'the associated data', 'EPOST_INVALID_ARGUMENT')
}

/** Inverse of `aeadEncrypt`; EPOST_CRYPTO_DECRYPT_FAILED on a wrong key, nonce, aad or any tampering. */
export function aeadDecrypt(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array = EMPTY): Uint8Array {
  expectBytes(key, 'the AEAD key', 'EPOST_CRYPTO_BAD_KEY', AEAD_KEY_BYTES)
  expectBytes(nonce, 'the AEAD nonce', 'EPOST_INVALID_ARGUMENT', AEAD_NONCE_BYTES)
  expectBytes(ciphertext, 'the ciphertext', 'EPOST_CRYPTO_DECRYPT_FAILED')
  expectBytes(aad, 'the associated data', 'EPOST_INVALID_ARGUMENT')
  if (ciphertext.length < AEAD_TAG_BYTES) throw decryptFailed(`is ${ciphertext.length} bytes, shorter than the ${AEAD_TAG_BYTES}-byte tag`)
  const plaintext = primitives.xchacha20poly1305Decrypt(key, nonce, ciphertext, aad)
  if (plaintext === undefined) throw decryptFailed('does not authenticate (wrong key or associated data, or tampered)')
  return plaintext
}

/** Encrypts under a fresh random nonce: returns nonce (24) || ciphertext || tag (16). */
export function aeadSeal(key: Uint8Array, plaintext: Uint8Array, options: AeadSealOptions = {}): Uint8Array {
  const aad = options.aad ?? EMPTY
  checkEncryptArgs(key, plaintext, aad)
  const nonce = draw(options.randomBytes ?? randomBytes, AEAD_NONCE_BYTES)
  const sealed = primitives.xchacha20poly1305Encrypt(key, nonce, plaintext, aad, AEAD_NONCE_BYTES)
  sealed.set(nonce, 0)
  return sealed
}

/** Opens what `aeadSeal` produced; EPOST_CRYPTO_DECRYPT_FAILED on anything else. */
export function aeadOpen(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array = EMPTY): Uint8Array {
  expectBytes(sealed, 'the sealed message', 'EPOST_CRYPTO_DECRYPT_FAILED')
  if (sealed.length < AEAD_NONCE_BYTES + AEAD_TAG_BYTES) {
    throw decryptFailed(`is ${sealed.length} bytes, shorter than nonce and tag (${AEAD_NONCE_BYTES + AEAD_TAG_BYTES})`)
  }
  return aeadDecrypt(key, sealed.subarray(0, AEAD_NONCE_BYTES), sealed.subarray(AEAD_NONCE_BYTES), aad)
}

function decryptFailed(why: string): Error {
  return cryptoError('EPOST_CRYPTO_DECRYPT_FAILED', `the ciphertext ${why}; discard it`)
}
