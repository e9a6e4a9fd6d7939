import type { BlockMeta } from '@epost/core'
import { LMDB_RECORD_FORMAT } from '../constants.js'
import { decodeMeta } from '../meta-codec.js'

/**
 * The record kept beside each value in the `meta` sub-database, so scans, getMeta and the size
 * accounting never read values:
 *
 *   byte 0      format (LMDB_RECORD_FORMAT)
 *   bytes 1..8  size of the value in bytes, float64 big-endian (exact up to 2^53)
 *   bytes 9..   msgpack metadata; absent when the block has none
 */
const HEADER_BYTES = 9

export function encodeRecord(size: number, meta: Uint8Array | undefined): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_BYTES + (meta?.length ?? 0))
  buf[0] = LMDB_RECORD_FORMAT
  buf.writeDoubleBE(size, 1)
  if (meta !== undefined) buf.set(meta, HEADER_BYTES)
  return buf
}

export function recordSize(record: Uint8Array): number {
  if (record.length < HEADER_BYTES || record[0] !== LMDB_RECORD_FORMAT) {
    throw new Error(`unknown metadata record format ${String(record[0])} (length ${record.length})`)
  }
  return Buffer.from(record.buffer, record.byteOffset, record.byteLength).readDoubleBE(1)
}

export function recordMeta(record: Uint8Array): BlockMeta | undefined {
  recordSize(record)
  return record.length === HEADER_BYTES ? undefined : decodeMeta(record.subarray(HEADER_BYTES))
}

/** The record with its metadata replaced, keeping the size. */
export function withMeta(record: Uint8Array, meta: Uint8Array): Buffer {
  return encodeRecord(recordSize(record), meta)
}
