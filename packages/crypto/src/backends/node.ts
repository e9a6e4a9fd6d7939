import { createCipheriv, createDecipheriv, createHash, createHmac, createPrivateKey, createPublicKey, hash, hkdfSync, scrypt, sign, verify, diffieHellman } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { hchacha20 } from '../hchacha.js'
import { toUint8Array } from '../bytes.js'
import type { Primitives, ScryptParams } from './types.js'

/**
 * node:crypto (OpenSSL). Raw keys enter OpenSSL through JWK: the DER/PKCS#8 decoder of OpenSSL 3
 * is about 5x slower than the signature itself, while a JWK import is a plain raw-key import.
 * For a private key node ignores the JWK `x` member and derives the public key from `d`, so a
 * placeholder is passed (the RFC 8032 and RFC 7748 vectors in the tests pin this). Private keys
 * are cached per Uint8Array object (a node signs with the same key array all day).
 */
type Curve = 'Ed25519' | 'X25519'

const PLACEHOLDER_X = Buffer.alloc(32).toString('base64url')
const TAG_BYTES = 16

interface CachedKey {
  snapshot: Uint8Array
  key: KeyObject
}
const privateKeyCache: Record<Curve, WeakMap<Uint8Array, CachedKey>> = { Ed25519: new WeakMap(), X25519: new WeakMap() }
/** The same for public keys: a verifier checks many signatures with one key (a CA's, a user's). */
const publicKeyCache: Record<Curve, WeakMap<Uint8Array, CachedKey>> = { Ed25519: new WeakMap(), X25519: new WeakMap() }

function b64u(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')
}

/**
 * The KeyObject for `raw`, made by `make` once per key array and kept while the array's bytes are
 * what they were (a caller may reuse an array for another key).
 */
function cachedKeyObject(cache: WeakMap<Uint8Array, CachedKey>, raw: Uint8Array, make: () => KeyObject): KeyObject {
  const hit = cache.get(raw)
  if (hit !== undefined && Buffer.compare(hit.snapshot, raw) === 0) return hit.key
  const key = make()
  cache.set(raw, { snapshot: Uint8Array.from(raw), key })
  return key
}

function privateKeyObject(crv: Curve, raw: Uint8Array): KeyObject {
  return cachedKeyObject(privateKeyCache[crv], raw, () => createPrivateKey({ key: { kty: 'OKP', crv, d: b64u(raw), x: PLACEHOLDER_X }, format: 'jwk' }))
}

function publicKeyObject(crv: Curve, raw: Uint8Array): KeyObject {
  return cachedKeyObject(publicKeyCache[crv], raw, () => createPublicKey({ key: { kty: 'OKP', crv, x: b64u(raw) }, format: 'jwk' }))
}

function rawPublicKey(key: KeyObject): Uint8Array {
  const jwk = createPublicKey(key).export({ format: 'jwk' })
  return toUint8Array(Buffer.from(jwk.x as string, 'base64url'))
}

function aeadEncrypt(alg: 'chacha20-poly1305' | 'aes-256-gcm', key: Uint8Array, nonce12: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, headroom = 0): Uint8Array {
  const cipher = createCipheriv(alg as 'chacha20-poly1305', key, nonce12, { authTagLength: TAG_BYTES })
  cipher.setAAD(aad, { plaintextLength: plaintext.length })
  const out = new Uint8Array(headroom + plaintext.length + TAG_BYTES)
  const body = cipher.update(plaintext)
  out.set(body, headroom)
  out.set(cipher.final(), headroom + body.length)
  out.set(cipher.getAuthTag(), headroom + plaintext.length)
  return out
}

function aeadDecrypt(alg: 'chacha20-poly1305' | 'aes-256-gcm', key: Uint8Array, nonce12: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | undefined {
  const n = sealed.length - TAG_BYTES
  if (n < 0) return undefined
  const decipher = createDecipheriv(alg as 'chacha20-poly1305', key, nonce12, { authTagLength: TAG_BYTES })
  decipher.setAAD(aad, { plaintextLength: n })
  decipher.setAuthTag(sealed.subarray(n))
  const out = new Uint8Array(n)
  const body = decipher.update(sealed.subarray(0, n))
  out.set(body, 0)
  try {
    out.set(decipher.final(), body.length)
  } catch {
    out.fill(0)
    return undefined
  }
  return out
}

/** XChaCha20-Poly1305 nonce -> (subkey, 12-byte ChaCha20-Poly1305 nonce). */
function xchachaParams(key: Uint8Array, nonce24: Uint8Array): [Uint8Array, Uint8Array] {
  const subkey = hchacha20(key, nonce24.subarray(0, 16))
  const nonce12 = new Uint8Array(12)
  nonce12.set(nonce24.subarray(16, 24), 4)
  return [subkey, nonce12]
}

function scryptAsync(passphrase: Uint8Array, salt: Uint8Array, params: ScryptParams): Promise<Uint8Array> {
  const maxmem = 128 * params.N * params.r * 2 + 16 * 1024 * 1024
  return new Promise((resolve, reject) => {
    scrypt(passphrase, salt, params.dkLen, { N: params.N, r: params.r, p: params.p, maxmem }, (err, key) => {
      if (err !== null) reject(err)
      else resolve(toUint8Array(key))
    })
  })
}

export const nodePrimitives: Primitives = {
  name: 'node:crypto',
  ed25519PublicKey: (seed) => rawPublicKey(privateKeyObject('Ed25519', seed)),
  ed25519Sign: (seed, message) => toUint8Array(sign(null, message, privateKeyObject('Ed25519', seed))),
  ed25519Verify: (publicKey, message, signature) => verify(null, message, publicKeyObject('Ed25519', publicKey), signature),
  x25519PublicKey: (privateKey) => rawPublicKey(privateKeyObject('X25519', privateKey)),
  x25519: (privateKey, publicKey) =>
    toUint8Array(diffieHellman({ privateKey: privateKeyObject('X25519', privateKey), publicKey: publicKeyObject('X25519', publicKey) })),
  xchacha20poly1305Encrypt(key, nonce, plaintext, aad, headroom = 0) {
    const [subkey, nonce12] = xchachaParams(key, nonce)
    return aeadEncrypt('chacha20-poly1305', subkey, nonce12, plaintext, aad, headroom)
  },
  xchacha20poly1305Decrypt(key, nonce, sealed, aad) {
    const [subkey, nonce12] = xchachaParams(key, nonce)
    return aeadDecrypt('chacha20-poly1305', subkey, nonce12, sealed, aad)
  },
  aes256gcmEncrypt: (key, nonce, plaintext, aad) => aeadEncrypt('aes-256-gcm', key, nonce, plaintext, aad),
  aes256gcmDecrypt: (key, nonce, sealed, aad) => aeadDecrypt('aes-256-gcm', key, nonce, sealed, aad),
  sha256(...parts) {
    if (parts.length === 1) return toUint8Array(hash('sha256', parts[0] as Uint8Array, 'buffer'))
    const h = createHash('sha256')
    for (const p of parts) h.update(p)
    return toUint8Array(h.digest())
  },
  hmacSha256(key, ...parts) {
    const h = createHmac('sha256', key)
    for (const p of parts) h.update(p)
    return toUint8Array(h.digest())
  },
  hkdfSha256: (ikm, salt, info, length) => new Uint8Array(hkdfSync('sha256', ikm, salt, info, length)),
  scrypt: scryptAsync,
}
