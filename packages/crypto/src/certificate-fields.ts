import { CERTIFICATE_CLOCK_SKEW_MS } from './constants.js'
import { cryptoError, isBytes } from './errors.js'
import { isEpostError } from '@epost/core'
import type { EpostError } from '@epost/core'

/** Shared pieces of the fixed binary certificate layouts (big-endian, no msgpack). */

export const CERTIFICATE_VERSION = 1
export const U64_BYTES = 8

export function badCertificate(why: string, details?: Record<string, unknown>, cause?: unknown): EpostError {
  return cryptoError('EPOST_CRYPTO_BAD_CERTIFICATE', `${why}; refuse the certificate (the CA must issue a new one if it is yours)`, details, cause)
}

/** Runs a check; any failure other than EPOST_CRYPTO_BAD_CERTIFICATE becomes one. */
export function asCertificateCheck<T>(what: string, check: () => T): T {
  try {
    return check()
  } catch (err) {
    if (isEpostError(err, 'EPOST_CRYPTO_BAD_CERTIFICATE')) throw err
    throw badCertificate(`the ${what} could not be checked`, undefined, err)
  }
}

export function writeU64(view: DataView, offset: number, value: number): void {
  view.setBigUint64(offset, BigInt(value))
}

export function readU64(view: DataView, offset: number, name: string): number {
  const v = view.getBigUint64(offset)
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw badCertificate(`${name} is out of range`)
  return Number(v)
}

/** Checks the validity window of a certificate; both times are the CA's milliseconds. */
export function checkTimes(issuedAt: unknown, expiresAt: unknown): void {
  if (typeof issuedAt !== 'number' || !Number.isSafeInteger(issuedAt) || issuedAt < 0) throw badCertificate('issuedAt must be a non-negative integer (ms)')
  if (typeof expiresAt !== 'number' || !Number.isSafeInteger(expiresAt) || expiresAt < 0) throw badCertificate('expiresAt must be a non-negative integer (ms)')
  if (expiresAt <= issuedAt) throw badCertificate('expiresAt must be later than issuedAt', { issuedAt, expiresAt })
}

/** Refuses a certificate outside [issuedAt - skew, expiresAt) at time `now`. */
export function checkValidAt(issuedAt: number, expiresAt: number, now: number): void {
  if (now >= expiresAt) throw badCertificate(`the certificate expired at ${expiresAt} (now ${now})`, { expiresAt, now })
  if (now + CERTIFICATE_CLOCK_SKEW_MS < issuedAt) throw badCertificate(`the certificate is not valid before ${issuedAt} (now ${now}); check the clocks`, { issuedAt, now })
}

export function checkKey(value: unknown, name: string, length: number): Uint8Array {
  if (!isBytes(value) || value.length !== length) throw badCertificate(`${name} must be ${length} bytes`)
  return value
}

export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
