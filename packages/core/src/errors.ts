/**
 * Every error the project throws on purpose is an EpostError with a stable code from this closed
 * union. Callers switch on `code`, never on the message; the mail servers map codes to protocol
 * replies in one table.
 */
export type EpostErrorCode =
  // generic
  | 'EPOST_INVALID_ARGUMENT'
  | 'EPOST_ABORTED'
  | 'EPOST_TIMEOUT'
  | 'EPOST_NOT_STARTED'
  | 'EPOST_STOPPED'
  | 'EPOST_INTERNAL'
  // codec
  | 'EPOST_CODEC_MALFORMED'
  | 'EPOST_CODEC_TOO_LARGE'
  | 'EPOST_CODEC_VERSION'
  | 'EPOST_CODEC_SCHEMA'
  | 'EPOST_CODEC_UNKNOWN_TYPE'
  // crypto
  | 'EPOST_CRYPTO_BAD_SIGNATURE'
  | 'EPOST_CRYPTO_DECRYPT_FAILED'
  | 'EPOST_CRYPTO_BAD_KEY'
  | 'EPOST_CRYPTO_BAD_PASSPHRASE'
  | 'EPOST_CRYPTO_BAD_CERTIFICATE'
  // store
  | 'EPOST_STORE_FULL'
  | 'EPOST_STORE_IO'
  | 'EPOST_STORE_CLOSED'
  // transport
  | 'EPOST_TRANSPORT_UNREACHABLE'
  | 'EPOST_TRANSPORT_AUTH_FAILED'
  | 'EPOST_TRANSPORT_FRAME_TOO_LARGE'
  | 'EPOST_TRANSPORT_CONN_LIMIT'
  | 'EPOST_TRANSPORT_CLOSED'
  | 'EPOST_TRANSPORT_PEER_MISMATCH'
  // overlay
  | 'EPOST_OVERLAY_NOT_READY'
  | 'EPOST_OVERLAY_UNKNOWN_APP'
  | 'EPOST_OVERLAY_JOIN_FAILED'
  | 'EPOST_OVERLAY_UNCERTIFIED'
  | 'EPOST_OVERLAY_NO_ROUTE'
  // storage (PAST)
  | 'EPOST_PAST_NOT_FOUND'
  | 'EPOST_PAST_INVALID_BLOCK'
  | 'EPOST_PAST_STALE_VERSION'
  | 'EPOST_PAST_INSUFFICIENT_REPLICAS'
  | 'EPOST_PAST_BLOCK_TOO_LARGE'
  | 'EPOST_PAST_BUSY'

export interface EpostErrorOptions {
  cause?: unknown
  /** Structured context for logs (peer id, key, sizes...). Never secrets. */
  details?: Record<string, unknown>
}

export class EpostError extends Error {
  readonly code: EpostErrorCode
  readonly details: Record<string, unknown> | undefined

  constructor(code: EpostErrorCode, message: string, options: EpostErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'EpostError'
    this.code = code
    this.details = options.details
  }
}

export function isEpostError(err: unknown, code?: EpostErrorCode): err is EpostError {
  return err instanceof EpostError && (code === undefined || err.code === code)
}

/** Turns whatever an abort signal carries into an EpostError. */
export function abortError(signal: AbortSignal | undefined): EpostError {
  const reason: unknown = signal?.reason
  if (reason instanceof EpostError) return reason
  return new EpostError('EPOST_ABORTED', 'the operation was aborted', { cause: reason })
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw abortError(signal)
}
