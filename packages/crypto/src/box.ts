import { primitives } from './backends/index.js'
import { concatBytes, utf8 } from './bytes.js'
import { AEAD_KEY_BYTES, AEAD_NONCE_BYTES, AEAD_TAG_BYTES, BOX_PRIVATE_KEY_BYTES, BOX_PUBLIC_KEY_BYTES } from './constants.js'
import { cryptoError, expectBytes } from './errors.js'
import { draw, randomBytes } from './random.js'
import type { RandomBytes } from './random.js'

/**
 * X25519 key agreement and sealed boxes: anonymous public-key encryption to a recipient's X25519
 * key. A box is ephemeralPublicKey (32) || XChaCha20-Poly1305 ciphertext || tag (16); the AEAD key
 * and nonce come from HKDF-SHA256 over the shared secret, salted with both public keys.
 */

const SEALED_BOX_INFO = utf8('epost-sealed-box-v1')
const EMPTY = new Uint8Array(0)

/** An X25519 key pair for encryption. */
export interface BoxKeyPair {
  publicKey: Uint8Array
  privateKey: Uint8Array
}

export interface SealBoxOptions {
  aad?: Uint8Array
  /** Source of the ephemeral key; the CSPRNG by default. */
  randomBytes?: RandomBytes
}

export function generateBoxKeyPair(random: RandomBytes = randomBytes): BoxKeyPair {
  return boxKeyPairFromSeed(draw(random, BOX_PRIVATE_KEY_BYTES))
}

/** The X25519 key pair whose private key is `seed` (any 32 bytes; X25519 clamps). */
export function boxKeyPairFromSeed(seed: Uint8Array): BoxKeyPair {
  const privateKey = Uint8Array.from(expectBytes(seed, 'an X25519 seed', 'EPOST_CRYPTO_BAD_KEY', BOX_PRIVATE_KEY_BYTES))
  return { publicKey: primitives.x25519PublicKey(privateKey), privateKey }
}

export function boxPublicKey(privateKey: Uint8Array): Uint8Array {
  expectBytes(privateKey, 'an X25519 private key', 'EPOST_CRYPTO_BAD_KEY', BOX_PRIVATE_KEY_BYTES)
  return primitives.x25519PublicKey(privateKey)
}

/** X25519(privateKey, publicKey); EPOST_CRYPTO_BAD_KEY for a low-order public key. */
export function x25519SharedSecret(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  expectBytes(privateKey, 'an X25519 private key', 'EPOST_CRYPTO_BAD_KEY', BOX_PRIVATE_KEY_BYTES)
  expectBytes(publicKey, 'an X25519 public key', 'EPOST_CRYPTO_BAD_KEY', BOX_PUBLIC_KEY_BYTES)
  try {
    return primitives.x25519(privateKey, publicKey)
  } catch (err) {
    throw cryptoError('EPOST_CRYPTO_BAD_KEY', 'the X25519 public key is of low order (no shared secret); refuse this key', undefined, err)
  }
}

function boxKeys(shared: Uint8Array, ephemeralPublicKey: Uint8Array, recipientPublicKey: Uint8Array): [Uint8Array, Uint8Array] {
  const okm = primitives.hkdfSha256(shared, concatBytes(ephemeralPublicKey, recipientPublicKey), SEALED_BOX_INFO, AEAD_KEY_BYTES + AEAD_NONCE_BYTES)
  return [okm.subarray(0, AEAD_KEY_BYTES), okm.subarray(AEAD_KEY_BYTES)]
}

/** Encrypts `plaintext` to `recipientPublicKey`; only the holder of its private key can open it. */
export function sealBox(recipientPublicKey: Uint8Array, plaintext: Uint8Array, options: SealBoxOptions = {}): Uint8Array {
  expectBytes(recipientPublicKey, "the recipient's X25519 public key", 'EPOST_CRYPTO_BAD_KEY', BOX_PUBLIC_KEY_BYTES)
  expectBytes(plaintext, 'the plaintext', 'EPOST_INVALID_ARGUMENT')
  const aad = expectBytes(options.aad ?? EMPTY, 'the associated data', 'EPOST_INVALID_ARGUMENT')
  const ephemeral = generateBoxKeyPair(options.randomBytes ?? randomBytes)
  const shared = x25519SharedSecret(ephemeral.privateKey, recipientPublicKey)
  const [key, nonce] = boxKeys(shared, ephemeral.publicKey, recipientPublicKey)
  const sealed = primitives.xchacha20poly1305Encrypt(key, nonce, plaintext, aad, BOX_PUBLIC_KEY_BYTES)
  sealed.set(ephemeral.publicKey, 0)
  return sealed
}

/** Opens a sealed box with the recipient's key pair; EPOST_CRYPTO_DECRYPT_FAILED if it is not for us or was altered. */
export function openBox(recipient: BoxKeyPair, sealed: Uint8Array, aad: Uint8Array = EMPTY): Uint8Array {
  if (typeof recipient !== 'object' || recipient === null) throw cryptoError('EPOST_CRYPTO_BAD_KEY', 'openBox needs the recipient key pair')
  expectBytes(recipient.privateKey, "the recipient's X25519 private key", 'EPOST_CRYPTO_BAD_KEY', BOX_PRIVATE_KEY_BYTES)
  expectBytes(recipient.publicKey, "the recipient's X25519 public key", 'EPOST_CRYPTO_BAD_KEY', BOX_PUBLIC_KEY_BYTES)
  expectBytes(sealed, 'the sealed box', 'EPOST_CRYPTO_DECRYPT_FAILED')
  expectBytes(aad, 'the associated data', 'EPOST_INVALID_ARGUMENT')
  if (sealed.length < BOX_PUBLIC_KEY_BYTES + AEAD_TAG_BYTES) {
    throw cryptoError('EPOST_CRYPTO_DECRYPT_FAILED', `a sealed box is at least ${BOX_PUBLIC_KEY_BYTES + AEAD_TAG_BYTES} bytes, got ${sealed.length}; discard it`)
  }
  const ephemeralPublicKey = sealed.subarray(0, BOX_PUBLIC_KEY_BYTES)
  let shared: Uint8Array
  try {
    shared = primitives.x25519(recipient.privateKey, ephemeralPublicKey)
  } catch (err) {
    throw cryptoError('EPOST_CRYPTO_DECRYPT_FAILED', 'the sealed box carries an invalid ephemeral key; discard it', undefined, err)
  }
  const [key, nonce] = boxKeys(shared, ephemeralPublicKey, recipient.publicKey)
  const plaintext = primitives.xchacha20poly1305Decrypt(key, nonce, sealed.subarray(BOX_PUBLIC_KEY_BYTES), aad)
  if (plaintext === undefined) {
    throw cryptoError('EPOST_CRYPTO_DECRYPT_FAILED', 'the sealed box does not open with this key (not addressed to us, or altered); discard it')
  }
  return plaintext
}
