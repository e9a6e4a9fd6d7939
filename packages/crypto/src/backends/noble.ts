import * as ed from '@noble/ed25519'
import { x25519 } from '@noble/curves/ed25519.js'
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { gcm } from '@noble/ciphers/aes.js'
import { sha256, sha512 } from '@noble/hashes/sha2.js'
import { hmac } from '@noble/hashes/hmac.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { scryptAsync } from '@noble/hashes/scrypt.js'
import { concatBytes } from '../bytes.js'
import type { Primitives } from './types.js'

// @noble/ed25519's synchronous API needs a SHA-512; only this package imports it.
ed.hashes.sha512 = sha512

function decryptOrUndefined(open: () => Uint8Array): Uint8Array | undefined {
  try {
    return open()
  } catch {
    return undefined
  }
}

/** The pure-JS @noble implementations (audited, slower): cross-checks and benchmarks. */
export const noblePrimitives: Primitives = {
  name: '@noble',
  ed25519PublicKey: (seed) => ed.getPublicKey(seed),
  ed25519Sign: (seed, message) => ed.sign(message, seed),
  // RFC 8032 semantics (like OpenSSL), not ZIP-215, so both backends accept the same signatures.
  ed25519Verify: (publicKey, message, signature) => ed.verify(signature, message, publicKey, { zip215: false }),
  x25519PublicKey: (privateKey) => x25519.getPublicKey(privateKey),
  x25519: (privateKey, publicKey) => x25519.getSharedSecret(privateKey, publicKey),
  xchacha20poly1305Encrypt(key, nonce, plaintext, aad, headroom = 0) {
    const sealed = xchacha20poly1305(key, nonce, aad).encrypt(plaintext)
    return headroom === 0 ? sealed : concatBytes(new Uint8Array(headroom), sealed)
  },
  xchacha20poly1305Decrypt: (key, nonce, sealed, aad) => decryptOrUndefined(() => xchacha20poly1305(key, nonce, aad).decrypt(sealed)),
  aes256gcmEncrypt: (key, nonce, plaintext, aad) => gcm(key, nonce, aad).encrypt(plaintext),
  aes256gcmDecrypt: (key, nonce, sealed, aad) => decryptOrUndefined(() => gcm(key, nonce, aad).decrypt(sealed)),
  sha256: (...parts) => sha256(parts.length === 1 ? (parts[0] as Uint8Array) : concatBytes(...parts)),
  hmacSha256: (key, ...parts) => hmac(sha256, key, parts.length === 1 ? (parts[0] as Uint8Array) : concatBytes(...parts)),
  hkdfSha256: (ikm, salt, info, length) => hkdf(sha256, ikm, salt, info, length),
  scrypt: (passphrase, salt, params) =>
    scryptAsync(passphrase, salt, { N: params.N, r: params.r, p: params.p, dkLen: params.dkLen, maxmem: 128 * params.N * params.r * 2 + 16 * 1024 * 1024 }),
}
