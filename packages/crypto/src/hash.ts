import { Id } from '@epost/core'
import { primitives } from './backends/index.js'
import { cryptoError, expectBytes } from './errors.js'

/** SHA-256 of `data` (32 bytes). */
export function sha256(data: Uint8Array): Uint8Array {
  expectBytes(data, 'the data to hash', 'EPOST_INVALID_ARGUMENT')
  return primitives.sha256(data)
}

/** SHA-256 of the concatenation of `parts`, without building it. */
export function sha256Concat(parts: readonly Uint8Array[]): Uint8Array {
  if (!Array.isArray(parts)) throw cryptoError('EPOST_INVALID_ARGUMENT', 'sha256Concat takes an array of Uint8Array')
  parts.forEach((p, i) => expectBytes(p, `part ${i} of the data to hash`, 'EPOST_INVALID_ARGUMENT'))
  return primitives.sha256(...parts)
}

/** The first 128 bits of SHA-256(bytes) as a ring id: block handles, certificate handles. */
export function hashToId(bytes: Uint8Array): Id {
  return Id.fromBytes(sha256(bytes))
}

/** HMAC-SHA256(key, data). */
export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  expectBytes(key, 'the HMAC key', 'EPOST_CRYPTO_BAD_KEY')
  expectBytes(data, 'the data to authenticate', 'EPOST_INVALID_ARGUMENT')
  return primitives.hmacSha256(key, data)
}
