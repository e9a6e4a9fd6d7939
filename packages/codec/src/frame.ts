import { EpostError } from '@epost/core'
import { MAX_APP_ID_LENGTH, MAX_FRAME_BYTES, MAX_MESSAGE_TYPE, PROTOCOL_VERSION } from './constants.js'
import { pack, unpack } from './msgpack.js'

/**
 * Every frame on the wire: a msgpack array `[version, app, type, body]`.
 * - `version`: the envelope version (PROTOCOL_VERSION)
 * - `app`: the application's protocol id, an explicit string ('epost/pastry/1')
 * - `type`: the message type within that application (small integer)
 * - `body`: the message, checked against the application's schema before use
 */
export interface Frame {
  version: number
  app: string
  type: number
  body: unknown
}

export interface FrameLimits {
  /** Largest frame accepted, in bytes. @default MAX_FRAME_BYTES */
  maxBytes?: number
}

export function encodeFrame(app: string, type: number, body: unknown, limits: FrameLimits = {}): Uint8Array {
  checkApp(app)
  checkType(type)
  const bytes = pack([PROTOCOL_VERSION, app, type, body])
  const max = limits.maxBytes ?? MAX_FRAME_BYTES
  if (bytes.length > max) {
    throw new EpostError('EPOST_CODEC_TOO_LARGE', `frame of ${bytes.length} bytes exceeds the limit of ${max}; split the payload`, { details: { app, type, size: bytes.length, max } })
  }
  return bytes
}

/**
 * Decodes and checks the envelope. Never throws anything but an EpostError: EPOST_CODEC_TOO_LARGE,
 * EPOST_CODEC_MALFORMED or EPOST_CODEC_VERSION. The body is still unchecked: run it through the
 * application's protocol (defineProtocol) before use.
 */
export function decodeFrame(bytes: Uint8Array, limits: FrameLimits = {}): Frame {
  const max = limits.maxBytes ?? MAX_FRAME_BYTES
  if (!(bytes instanceof Uint8Array)) throw new EpostError('EPOST_CODEC_MALFORMED', 'a frame is binary data')
  if (bytes.length > max) {
    throw new EpostError('EPOST_CODEC_TOO_LARGE', `frame of ${bytes.length} bytes exceeds the limit of ${max}`, { details: { size: bytes.length, max } })
  }
  const v = unpack(bytes)
  if (!Array.isArray(v) || v.length !== 4) throw new EpostError('EPOST_CODEC_MALFORMED', 'a frame is an array [version, app, type, body]')
  const [version, app, type, body] = v as [unknown, unknown, unknown, unknown]
  if (typeof version !== 'number' || !Number.isInteger(version)) throw new EpostError('EPOST_CODEC_MALFORMED', 'frame version is not an integer')
  if (version !== PROTOCOL_VERSION) {
    throw new EpostError('EPOST_CODEC_VERSION', `frame version ${version} is not supported (this node speaks ${PROTOCOL_VERSION}); upgrade the older node`, { details: { version } })
  }
  if (typeof app !== 'string') throw new EpostError('EPOST_CODEC_MALFORMED', 'frame application id is not a string')
  checkApp(app, 'EPOST_CODEC_MALFORMED')
  if (typeof type !== 'number') throw new EpostError('EPOST_CODEC_MALFORMED', 'frame message type is not a number')
  checkType(type, 'EPOST_CODEC_MALFORMED')
  return { version, app, type, body }
}

function checkApp(app: string, code: 'EPOST_INVALID_ARGUMENT' | 'EPOST_CODEC_MALFORMED' = 'EPOST_INVALID_ARGUMENT'): void {
  if (app.length === 0 || app.length > MAX_APP_ID_LENGTH) {
    throw new EpostError(code, `application id must be 1..${MAX_APP_ID_LENGTH} characters`)
  }
}

function checkType(type: number, code: 'EPOST_INVALID_ARGUMENT' | 'EPOST_CODEC_MALFORMED' = 'EPOST_INVALID_ARGUMENT'): void {
  if (!Number.isInteger(type) || type < 0 || type > MAX_MESSAGE_TYPE) {
    throw new EpostError(code, `message type must be an integer in 0..${MAX_MESSAGE_TYPE}`)
  }
}
