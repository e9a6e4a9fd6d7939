import { throwIfAborted } from '@epost/core'
import type { EpostErrorCode } from '@epost/core'
import { primitives } from './backends/index.js'
import { utf8 } from './bytes.js'
import {
  HKDF_SHA256_MAX_BYTES,
  SCRYPT_LOG_N,
  SCRYPT_MAX_LOG_N,
  SCRYPT_MAX_MEMORY_BYTES,
  SCRYPT_MAX_P,
  SCRYPT_MAX_R,
  SCRYPT_P,
  SCRYPT_R,
} from './constants.js'
import { cryptoError, expectBytes } from './errors.js'

const EMPTY = new Uint8Array(0)

export interface HkdfOptions {
  /** RFC 5869 salt; empty by default (= a string of zeros). */
  salt?: Uint8Array
  /** Context and application specific information (domain separation). */
  info?: Uint8Array
}

/** HKDF-SHA256 (RFC 5869): `length` bytes of key material from `ikm`. */
export function hkdfSha256(ikm: Uint8Array, length: number, options: HkdfOptions = {}): Uint8Array {
  expectBytes(ikm, 'the HKDF input key material', 'EPOST_CRYPTO_BAD_KEY')
  const salt = expectBytes(options.salt ?? EMPTY, 'the HKDF salt', 'EPOST_INVALID_ARGUMENT')
  const info = expectBytes(options.info ?? EMPTY, 'the HKDF info', 'EPOST_INVALID_ARGUMENT')
  if (!Number.isSafeInteger(length) || length < 1 || length > HKDF_SHA256_MAX_BYTES) {
    throw cryptoError('EPOST_INVALID_ARGUMENT', `HKDF-SHA256 output length must be 1..${HKDF_SHA256_MAX_BYTES}, got ${String(length)}`)
  }
  if (info.length > 1024) {
    // node:crypto refuses longer info; nothing in the project needs it.
    throw cryptoError('EPOST_INVALID_ARGUMENT', `HKDF info is limited to 1024 bytes, got ${info.length}`)
  }
  return primitives.hkdfSha256(ikm, salt, info, length)
}

export interface ScryptOptions {
  /** log2 of the cost N. @default SCRYPT_LOG_N (17) */
  logN?: number
  /** Block size. @default SCRYPT_R (8) */
  r?: number
  /** Parallelism. @default SCRYPT_P (1) */
  p?: number
  signal?: AbortSignal
}

export interface ScryptCost {
  logN: number
  r: number
  p: number
}

/** Checks scrypt costs against the package limits; EPOST_INVALID_ARGUMENT (or `code`) otherwise. */
export function checkScryptCost(cost: ScryptCost, code: EpostErrorCode = 'EPOST_INVALID_ARGUMENT'): void {
  const { logN, r, p } = cost
  const ok =
    Number.isSafeInteger(logN) && logN >= 1 && logN <= SCRYPT_MAX_LOG_N &&
    Number.isSafeInteger(r) && r >= 1 && r <= SCRYPT_MAX_R &&
    Number.isSafeInteger(p) && p >= 1 && p <= SCRYPT_MAX_P &&
    128 * 2 ** logN * r <= SCRYPT_MAX_MEMORY_BYTES &&
    // RFC 7914: N < 2^(128·r/8); OpenSSL refuses anything else.
    logN < 16 * r
  if (!ok) {
    throw cryptoError(code, `scrypt cost out of range: logN 1..${SCRYPT_MAX_LOG_N} and below 16·r, r 1..${SCRYPT_MAX_R}, p 1..${SCRYPT_MAX_P}, at most ${SCRYPT_MAX_MEMORY_BYTES} bytes`, { logN, r, p })
  }
}

/** A passphrase as bytes: strings are NFC-normalised UTF-8, so the same words type the same key. */
export function passphraseBytes(passphrase: string | Uint8Array): Uint8Array {
  if (typeof passphrase === 'string') return utf8(passphrase.normalize('NFC'))
  return expectBytes(passphrase, 'the passphrase', 'EPOST_INVALID_ARGUMENT')
}

/** scrypt (RFC 7914): `length` bytes derived from a passphrase and a salt; runs off the main thread. */
export async function scryptKey(passphrase: string | Uint8Array, salt: Uint8Array, length: number, options: ScryptOptions = {}): Promise<Uint8Array> {
  const cost = { logN: options.logN ?? SCRYPT_LOG_N, r: options.r ?? SCRYPT_R, p: options.p ?? SCRYPT_P }
  checkScryptCost(cost)
  expectBytes(salt, 'the scrypt salt', 'EPOST_INVALID_ARGUMENT')
  if (!Number.isSafeInteger(length) || length < 1 || length > 1024) {
    throw cryptoError('EPOST_INVALID_ARGUMENT', `scrypt output length must be 1..1024, got ${String(length)}`)
  }
  const pass = passphraseBytes(passphrase)
  throwIfAborted(options.signal)
  let key: Uint8Array
  try {
    key = await primitives.scrypt(pass, salt, { N: 2 ** cost.logN, r: cost.r, p: cost.p, dkLen: length })
  } catch (err) {
    // The costs passed the checks above; anything the primitive still refuses is reported typed.
    throw cryptoError('EPOST_INVALID_ARGUMENT', `scrypt refused the parameters (logN ${cost.logN}, r ${cost.r}, p ${cost.p}): ${err instanceof Error ? err.message : String(err)}`, { ...cost }, err)
  }
  throwIfAborted(options.signal)
  return key
}
