import { primitives } from './backends/index.js'
import { SIGNATURE_BYTES, SIGNING_PRIVATE_KEY_BYTES, SIGNING_PUBLIC_KEY_BYTES } from './constants.js'
import { cryptoError, expectBytes, isBytes } from './errors.js'
import { draw, randomBytes } from './random.js'
import type { RandomBytes } from './random.js'

/** An Ed25519 key pair; `privateKey` is the raw 32-byte RFC 8032 seed. */
export interface SigningKeyPair {
  publicKey: Uint8Array
  privateKey: Uint8Array
}

/** A fresh Ed25519 key pair from the CSPRNG (or from `random`, e.g. a seeded Rng in simulations). */
export function generateSigningKeyPair(random: RandomBytes = randomBytes): SigningKeyPair {
  return signingKeyPairFromSeed(draw(random, SIGNING_PRIVATE_KEY_BYTES))
}

/** The Ed25519 key pair of a 32-byte seed (deterministic). */
export function signingKeyPairFromSeed(seed: Uint8Array): SigningKeyPair {
  expectBytes(seed, 'an Ed25519 seed', 'EPOST_CRYPTO_BAD_KEY', SIGNING_PRIVATE_KEY_BYTES)
  const privateKey = Uint8Array.from(seed)
  return { publicKey: primitives.ed25519PublicKey(privateKey), privateKey }
}

/** The public key of an Ed25519 seed. */
export function signingPublicKey(privateKey: Uint8Array): Uint8Array {
  expectBytes(privateKey, 'an Ed25519 private key', 'EPOST_CRYPTO_BAD_KEY', SIGNING_PRIVATE_KEY_BYTES)
  return primitives.ed25519PublicKey(privateKey)
}

/** Ed25519 signature (64 bytes) of `message`. */
export function sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array {
  expectBytes(privateKey, 'an Ed25519 private key', 'EPOST_CRYPTO_BAD_KEY', SIGNING_PRIVATE_KEY_BYTES)
  expectBytes(message, 'the message to sign', 'EPOST_INVALID_ARGUMENT')
  try {
    return primitives.ed25519Sign(privateKey, message)
  } catch (err) {
    throw cryptoError('EPOST_CRYPTO_BAD_KEY', 'could not sign with this Ed25519 key', undefined, err)
  }
}

/**
 * Ed25519 verification (RFC 8032, strict encodings as in OpenSSL). Never throws: a malformed key,
 * message or signature is simply not a valid signature.
 */
export function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (!isBytes(publicKey) || publicKey.length !== SIGNING_PUBLIC_KEY_BYTES) return false
  if (!isBytes(signature) || signature.length !== SIGNATURE_BYTES) return false
  if (!isBytes(message)) return false
  try {
    return primitives.ed25519Verify(publicKey, message, signature)
  } catch {
    return false
  }
}

/** Like `verify` but throws EPOST_CRYPTO_BAD_SIGNATURE, for code that must not go on. */
export function assertSignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, what = 'signature'): void {
  if (!verify(publicKey, message, signature)) {
    throw cryptoError('EPOST_CRYPTO_BAD_SIGNATURE', `the ${what} does not verify: drop the message and do not trust its sender`)
  }
}
