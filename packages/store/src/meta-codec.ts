import { Packr } from 'msgpackr'
import type { BlockMeta } from '@epost/core'
import { invalidArgument } from './errors.js'

// Plain msgpack maps (no record extension), so stored metadata stays readable by any decoder.
const packr = new Packr({ useRecords: false })

/** Metadata as msgpack bytes; rejects what msgpack cannot hold with EPOST_INVALID_ARGUMENT. */
export function encodeMeta(meta: BlockMeta): Uint8Array {
  try {
    return packr.pack(meta)
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err)
    throw invalidArgument(`block metadata must be msgpack-able (plain objects, arrays, strings, numbers, booleans, null, bytes): ${why}`)
  }
}

export function decodeMeta(bytes: Uint8Array): BlockMeta {
  return packr.unpack(bytes) as BlockMeta
}
