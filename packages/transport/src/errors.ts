import { EpostError } from '@epost/core'
import type { Id } from '@epost/core'

/** Constructors for the transport's errors, so every site says the same thing. */

export function frameTooLarge(size: number, max: number): EpostError {
  return new EpostError('EPOST_TRANSPORT_FRAME_TOO_LARGE', `frame of ${size} bytes exceeds the transport limit of ${max}; split the payload or raise maxFrameBytes on every node`, {
    details: { size, max },
  })
}

export function peerMismatch(address: string, wanted: Id, found: Id): EpostError {
  return new EpostError('EPOST_TRANSPORT_PEER_MISMATCH', `the node at ${address} is ${found.short()}, not ${wanted.short()}; refresh the handle (the node may have moved or restarted with another identity)`, {
    details: { address, wanted: wanted.hex, found: found.hex },
  })
}

export function unreachable(address: string, why: string, cause?: unknown): EpostError {
  return new EpostError('EPOST_TRANSPORT_UNREACHABLE', `cannot reach ${address}: ${why}; the overlay should treat the node as suspect and retry later`, {
    cause,
    details: { address },
  })
}

export function notStarted(): EpostError {
  return new EpostError('EPOST_NOT_STARTED', 'the transport is not started; await transport.start() first')
}

export function stopped(): EpostError {
  return new EpostError('EPOST_STOPPED', 'the transport is stopped; create a new one to send again')
}
