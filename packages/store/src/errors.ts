import { EpostError } from '@epost/core'

/** Typed errors of the stores; every message says what to do. */

export function notStartedError(store: string): EpostError {
  return new EpostError('EPOST_NOT_STARTED', `the ${store} block store is not started: await store.start() before using it`)
}

export function closedError(store: string): EpostError {
  return new EpostError('EPOST_STORE_CLOSED', `the ${store} block store is stopped: create and start a new store to use it again`)
}

export function storeFullError(details: { quotaBytes: number; bytes: number; size: number; previousSize: number }): EpostError {
  const need = details.bytes + details.size - details.previousSize
  return new EpostError(
    'EPOST_STORE_FULL',
    `block store quota exceeded: storing ${details.size} bytes would hold ${need} of ${details.quotaBytes} bytes; ` +
      'delete blocks or raise quotaBytes',
    { details },
  )
}

export function ioError(operation: string, cause: unknown, path?: string): EpostError {
  const where = path === undefined ? '' : ` at ${path}`
  const why = cause instanceof Error ? cause.message : String(cause)
  return new EpostError(
    'EPOST_STORE_IO',
    `block store ${operation} failed${where} (${why}): check the disk (space, permissions, health); ` +
      'if the database is damaged, move it aside and restart so the node refetches its replicas',
    { cause, details: path === undefined ? { operation } : { operation, path } },
  )
}

export function invalidArgument(message: string): EpostError {
  return new EpostError('EPOST_INVALID_ARGUMENT', message)
}
