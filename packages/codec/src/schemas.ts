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

/**
 * Decoded handles are shared: the same node arrives in most control messages (leaf sets, rows),
 * so decoding looks it up here and returns the one frozen handle it made before, whose id has
 * already computed its numeric value. Two generations bound the memory: when the young one is
 * full it becomes the old one, and what is still in use moves back to the young one on its
 * next lookup. The key is the id's first 30 bits, read straight from the frame (no hex string
 * per handle); a hit counts only if all 16 bytes and the address match, and ids that share the
 * 30 bits take turns in the slot.
 */
class HandleCache {
  #young = new Map<number, NodeHandle>()
  #old = new Map<number, NodeHandle>()
  #limit = 1 << 16

  set limit(n: number) {
    this.#limit = Math.max(1, Math.floor(n))
  }

  get(ids: Uint8Array, offset: number, address: string): NodeHandle {
    const key = ((ids[offset] as number) << 22) | ((ids[offset + 1] as number) << 14) | ((ids[offset + 2] as number) << 6) | ((ids[offset + 3] as number) >>> 2)
    let h = this.#young.get(key)
    if (h !== undefined && h.address === address && sameId(h.id, ids, offset)) return h
    h = this.#old.get(key)
    if (h === undefined || h.address !== address || !sameId(h.id, ids, offset)) h = Object.freeze({ id: Id.fromBytes(ids, offset), address })
    if (this.#young.size >= this.#limit) {
      this.#old = this.#young
      this.#young = new Map()
    }
    this.#young.set(key, h)
    return h
  }
}

/** Is `id` the 16 bytes of `bytes` at `offset`? */
function sameId(id: Id, bytes: Uint8Array, offset: number): boolean {
  const b = id.bytes
  for (let i = 0; i < ID_BYTES; i++) if (b[i] !== bytes[offset + i]) return false
  return true
}

const handles = new HandleCache()

/**
 * How many decoded handles stay shared (per generation; @default 65,536). A process that
 * simulates more nodes than that sets it higher, or decoding keeps making fresh copies.
 */
export function setHandleCacheLimit(n: number): void {
  handles.limit = n
}

/** A node handle on the wire: [id bytes, transport address]. */
export const handle = v.pipe(
  v.custom<[Uint8Array, string]>(() => true),
  v.rawTransform(({ dataset, addIssue, NEVER }): NodeHandle => {
    const x: unknown = dataset.value
    if (!Array.isArray(x) || x.length !== 2 || !(x[0] instanceof Uint8Array) || x[0].length !== ID_BYTES) {
      addIssue({ message: `expected [${ID_BYTES}-byte id, address]` })
      return NEVER
    }
    const address: unknown = x[1]
    if (!isAddress(address)) {
      addIssue({ message: ADDRESS_MESSAGE })
      return NEVER
    }
    return handles.get(x[0], 0, address)
  }),
)

/**
 * A list of node handles in compact wire form: `[ids, addresses]`, the ids concatenated into one
 * binary field (16 bytes each) and the addresses in order. Checked and converted in one pass with
 * no intermediate arrays, which matters: leaf sets and table rows travel in most control messages
 * (a CPU profile of the routing experiment had valibot's generic tuple and array passes at a
 * third of all decoding).
 */
export function handleList(max: number) {
  return v.pipe(
    v.custom<[Uint8Array, string[]]>(() => true),
    v.rawTransform(({ dataset, addIssue, NEVER }): NodeHandle[] => {
      const x: unknown = dataset.value
      if (!Array.isArray(x) || x.length !== 2 || !(x[0] instanceof Uint8Array) || !Array.isArray(x[1])) {
        addIssue({ message: 'expected [ids, addresses]' })
        return NEVER
      }
      const ids = x[0]
      const addrs: unknown[] = x[1]
      const n = addrs.length
      if (n > max || ids.length !== n * ID_BYTES) {
        addIssue({ message: `expected at most ${max} handles of ${ID_BYTES}-byte ids` })
        return NEVER
      }
      const out = new Array<NodeHandle>(n)
      for (let i = 0; i < n; i++) {
        const address = addrs[i]
        if (!isAddress(address)) {
          addIssue({ message: ADDRESS_MESSAGE })
          return NEVER
        }
        out[i] = handles.get(ids, i * ID_BYTES, address)
      }
      return out
    }),
  )
}

const ADDRESS_MESSAGE = `addresses are strings of 1..${MAX_ADDRESS_LENGTH} characters`

function isAddress(a: unknown): a is string {
  return typeof a === 'string' && a.length > 0 && a.length <= MAX_ADDRESS_LENGTH
}

/** The wire form of a handle list (see handleList). */
export function handlesToWire(handles: readonly NodeHandle[]): [Uint8Array, string[]] {
  const ids = Buffer.allocUnsafeSlow(handles.length * ID_BYTES)
  const addrs = new Array<string>(handles.length)
  for (let i = 0; i < handles.length; i++) {
    const h = handles[i] as NodeHandle
    // Straight from the id's hex form: no per-id byte array.
    ids.write(h.id.hex, i * ID_BYTES, ID_BYTES, 'hex')
    addrs[i] = h.address
  }
  return [ids, addrs]
}

/** A non-negative safe integer. */
export const uint = v.pipe(v.number(), v.integer(), v.minValue(0))

/** A list of at most `max` items. */
export function list<T extends v.GenericSchema>(item: T, max: number) {
  return v.pipe(v.array(item), v.maxLength(max))
}

export { v }
