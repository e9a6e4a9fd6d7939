import { Packr } from 'msgpackr'
import { EpostError } from '@epost/core'

/**
 * One msgpackr configuration for every byte the project puts on the wire or on disk: plain maps
 * and arrays (no record extension, so encodings are stable across versions and can be checked in
 * as golden vectors), binary as Uint8Array, integers as numbers where they fit.
 */
const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  moreTypes: false,
  bundleStrings: false,
  structuredClone: false,
  int64AsType: 'bigint',
  useTimestamp32: false,
  variableMapSize: true,
})

export function pack(value: unknown): Uint8Array {
  try {
    return packr.pack(value)
  } catch (err) {
    throw new EpostError('EPOST_INVALID_ARGUMENT', 'value cannot be encoded as msgpack', { cause: err })
  }
}

/** Decodes exactly one msgpack value; trailing bytes, truncation or garbage give EPOST_CODEC_MALFORMED. */
export function unpack(bytes: Uint8Array): unknown {
  try {
    return packr.unpack(bytes)
  } catch (err) {
    throw new EpostError('EPOST_CODEC_MALFORMED', `malformed msgpack (${bytes.length} bytes): ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
}
