import { EpostError } from '@epost/core'
import type { EpostErrorCode } from '@epost/core'

/** Shorthand for the typed errors of this package; messages say what to do. */
export function cryptoError(code: EpostErrorCode, message: string, details?: Record<string, unknown>, cause?: unknown): EpostError {
  return new EpostError(code, message, { details, cause })
}

export function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array
}

/**
 * Checks that `value` is a Uint8Array (of exactly `length` bytes when given) and returns it;
 * otherwise throws an EpostError with `code` (never a raw TypeError).
 */
export function expectBytes(value: unknown, name: string, code: EpostErrorCode, length?: number): Uint8Array {
  if (!isBytes(value)) {
    throw cryptoError(code, `${name} must be a Uint8Array, got ${describe(value)}`)
  }
  if (length !== undefined && value.length !== length) {
    throw cryptoError(code, `${name} must be ${length} bytes, got ${value.length}`, { expected: length, actual: value.length })
  }
  return value
}

/** A plain non-negative safe integer (milliseconds, counters); otherwise EPOST_INVALID_ARGUMENT. */
export function expectTime(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw cryptoError('EPOST_INVALID_ARGUMENT', `${name} must be a non-negative integer (ms), got ${describe(value)}`)
  }
  return value
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object'
  return typeof value
}
