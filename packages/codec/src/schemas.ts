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
 * already computed its numeric value.
 *
 * The cache is a two-way set-associative table in flat arrays, not a Map of handles: in a big
 * simulated ring a lookup that walks Map entry -> handle -> id -> id bytes takes a cache miss at
 * each step, and decoding handles was a tenth of a 10,000-node run. Here the 16 id bytes of both
 * ways of a set sit side by side in one Int32Array and are compared with the frame's bytes
 * there; the address (a forged handle shares only the id) is compared next, and the handle is
 * returned. The set is picked by the id's first bytes (ids are uniform). A new handle takes the
 * set's first way and moves the one it finds there to the second, so the set keeps the two most
 * recently made; a hit in the second way swaps it to the first. Memory is bounded by the
 * table's size, about four slots per handle the process wants kept (setHandleCacheLimit).
 */
class HandleCache {
  #mask = 0
  /** Four 32-bit words per slot: the id's 16 bytes, big-endian. */
  #ids = new Int32Array(0)
  #addresses: Array<string | undefined> = []
  #handles: Array<NodeHandle | undefined> = []

  constructor(limit: number) {
    this.limit = limit
  }

  set limit(n: number) {
    // Four slots per handle kept, as a power of two: sets rarely see a third id.
    const slots = Math.min(MAX_CACHE_SLOTS, Math.max(2, 2 ** Math.ceil(Math.log2(4 * Math.max(1, Math.floor(n))))))
    this.#mask = slots / 2 - 1
    this.#ids = new Int32Array(4 * slots)
    this.#addresses = new Array<string | undefined>(slots).fill(undefined)
    this.#handles = new Array<NodeHandle | undefined>(slots).fill(undefined)
  }

  get(b: Uint8Array, o: number, address: string): NodeHandle {
    const w0 = word(b, o)
    const w1 = word(b, o + 4)
    const w2 = word(b, o + 8)
    const w3 = word(b, o + 12)
    const first = 2 * (w0 & this.#mask)
    const ids = this.#ids
    const addresses = this.#addresses
    const handles = this.#handles
    for (let s = first; s < first + 2; s++) {
      const k = 4 * s
      if (ids[k] === w0 && ids[k + 1] === w1 && ids[k + 2] === w2 && ids[k + 3] === w3 && addresses[s] === address) {
        const h = handles[s] as NodeHandle
        if (s !== first) this.#swap(first)
        return h
      }
    }
    const h: NodeHandle = Object.freeze({ id: Id.fromBytes(b, o), address })
    // The newest takes the first way; what was there moves to the second.
    this.#swap(first)
    const k = 4 * first
    ids[k] = w0
    ids[k + 1] = w1
    ids[k + 2] = w2
    ids[k + 3] = w3
    addresses[first] = address
    handles[first] = h
    return h
  }

  /** Swaps the two ways of the set that starts at slot `s`. */
  #swap(s: number): void {
    const ids = this.#ids
    for (let i = 4 * s; i < 4 * s + 4; i++) {
      const t = ids[i] as number
      ids[i] = ids[i + 4] as number
      ids[i + 4] = t
    }
    const a = this.#addresses[s]
    this.#addresses[s] = this.#addresses[s + 1]
    this.#addresses[s + 1] = a
    const h = this.#handles[s]
    this.#handles[s] = this.#handles[s + 1]
    this.#handles[s + 1] = h
  }
}

/** The four bytes of `b` at `o` as a big-endian 32-bit word. */
function word(b: Uint8Array, o: number): number {
  return ((b[o] as number) << 24) | ((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number)
}

/** 2^22 slots (about 100 MB with the handles): enough for a million handles kept. */
const MAX_CACHE_SLOTS = 2 ** 22

const handles = new HandleCache(1 << 16)

/**
 * About how many decoded handles stay shared (@default 65,536; the table holds four slots per
 * handle). A process that simulates more nodes than that sets it higher, or decoding keeps
 * making fresh copies. Setting it empties the cache.
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
    // The id's own bytes (made once per Id and kept: handles are shared, and the same few go
    // into every leaf set and row this node sends).
    ids.set(h.id.bytes, i * ID_BYTES)
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
