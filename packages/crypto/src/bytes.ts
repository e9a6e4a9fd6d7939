import { timingSafeEqual } from 'node:crypto'
import { cryptoError, expectBytes } from './errors.js'

const encoder = new TextEncoder()
const strictDecoder = new TextDecoder('utf-8', { fatal: true })

export function utf8(text: string): Uint8Array {
  return encoder.encode(text)
}

/** Strict UTF-8 decoding; throws a TypeError on invalid input (callers map it). */
export function fromUtf8(bytes: Uint8Array): string {
  return strictDecoder.decode(bytes)
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0
  for (const p of parts) n += expectBytes(p, 'each part', 'EPOST_INVALID_ARGUMENT').length
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/** Constant-time comparison for equal lengths; different lengths are simply unequal. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array) || a.length !== b.length) return false
  return timingSafeEqual(a, b)
}

/**
 * A node Buffer as a plain Uint8Array. Small Buffers share node's 8 KiB pool, so those are copied
 * (a caller's `.buffer` must never expose other data); a Buffer that owns its memory is wrapped.
 */
export function toUint8Array(buf: Buffer | Uint8Array): Uint8Array {
  if (buf.byteOffset === 0 && buf.buffer.byteLength === buf.byteLength) {
    return new Uint8Array(buf.buffer, 0, buf.byteLength)
  }
  return new Uint8Array(buf)
}

/** Hex of bytes (for tests, logs and the bench). */
export function toHex(bytes: Uint8Array): string {
  expectBytes(bytes, 'the bytes to print', 'EPOST_INVALID_ARGUMENT')
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

export function fromHex(hex: string): Uint8Array {
  if (typeof hex !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(hex)) {
    throw cryptoError('EPOST_INVALID_ARGUMENT', 'expected an even number of hex digits')
  }
  return toUint8Array(Buffer.from(hex, 'hex'))
}
