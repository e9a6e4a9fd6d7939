import * as v from 'valibot'
import { ID_BYTES, Id } from '@epost/core'
import type { NodeHandle } from '@epost/core'

/**
 * Building blocks for message schemas. Decoded messages come out typed: ids as core `Id`,
 * handles as `NodeHandle`; the encoder takes the wire form (bytes, [bytes, address]).
 */

const binary = v.custom<Uint8Array>((x) => x instanceof Uint8Array, 'expected binary data')

/** Binary data of at most `max` bytes. */
export function bytes(max: number, min = 0) {
  return v.pipe(binary, v.check((b) => b.length >= min && b.length <= max, `expected ${min}..${max} bytes`))
}

/** Exactly `n` bytes. */
export function fixedBytes(n: number) {
  return v.pipe(binary, v.check((b) => b.length === n, `expected ${n} bytes`))
}

/** A 16-byte ring id, decoded as a core Id. */
export const id = v.pipe(fixedBytes(ID_BYTES), v.transform((b: Uint8Array): Id => Id.fromBytes(b)))

export const MAX_ADDRESS_LENGTH = 256

/** A node handle on the wire: [id bytes, transport address]. */
export const handle = v.pipe(
  v.tuple([fixedBytes(ID_BYTES), v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_ADDRESS_LENGTH))]),
  v.transform(([i, address]): NodeHandle => ({ id: Id.fromBytes(i), address })),
)

/** A non-negative safe integer. */
export const uint = v.pipe(v.number(), v.integer(), v.minValue(0))

/** A list of at most `max` items. */
export function list<T extends v.GenericSchema>(item: T, max: number) {
  return v.pipe(v.array(item), v.maxLength(max))
}

export { v }
