import type { BlockEntry, BlockMeta, BlockStore, BlockStoreStats, Id, KeyRange } from '@epost/core'
import { DEFAULT_QUOTA_BYTES } from '../constants.js'
import { StoreGuard } from '../guard.js'
import { decodeMeta, encodeMeta } from '../meta-codec.js'
import { ringScan } from '../scan.js'
import { Usage } from '../usage.js'
import { assertKey, assertMeta, assertValue, checkQuota } from '../validate.js'
import { SortedKeys } from './sorted-keys.js'

export interface MemoryStoreInit {
  /** Bytes of values the store may hold. @default Infinity */
  quotaBytes?: number
}

interface Slot {
  key: Id
  value: Uint8Array
  /** msgpack bytes, so metadata is copied and checked exactly as the LMDB store does. */
  meta: Uint8Array | undefined
}

/**
 * A BlockStore in process memory, for the simulator and tests. Same semantics as the LMDB store
 * (copies in and out, msgpack metadata, quota, ring-ordered scans) without durability.
 */
export class MemoryBlockStore implements BlockStore {
  readonly #guard: StoreGuard
  readonly #usage: Usage
  readonly #slots = new Map<string, Slot>()
  readonly #keys = new SortedKeys()

  constructor(init: MemoryStoreInit = {}) {
    this.#usage = new Usage(checkQuota(init.quotaBytes ?? DEFAULT_QUOTA_BYTES))
    this.#guard = new StoreGuard('memory', () => {}, () => {})
  }

  start(): Promise<void> {
    return this.#guard.start()
  }

  stop(): Promise<void> {
    return this.#guard.stop()
  }

  async put(key: Id, value: Uint8Array, meta?: BlockMeta): Promise<void> {
    this.#guard.assertOpen()
    assertKey(key)
    assertValue(value)
    assertMeta(meta)
    const metaBytes = meta === undefined ? undefined : encodeMeta(meta)
    const prev = this.#slots.get(key.hex)
    this.#usage.replace(prev?.value.length, value.length)
    if (prev === undefined) this.#keys.insert(key.hex)
    this.#slots.set(key.hex, { key, value: value.slice(), meta: metaBytes })
  }

  async get(key: Id): Promise<Uint8Array | undefined> {
    this.#guard.assertOpen()
    assertKey(key)
    return this.#slots.get(key.hex)?.value.slice()
  }

  async has(key: Id): Promise<boolean> {
    this.#guard.assertOpen()
    assertKey(key)
    return this.#slots.has(key.hex)
  }

  async delete(key: Id): Promise<boolean> {
    this.#guard.assertOpen()
    assertKey(key)
    const slot = this.#slots.get(key.hex)
    if (slot === undefined) return false
    this.#slots.delete(key.hex)
    this.#keys.remove(key.hex)
    this.#usage.remove(slot.value.length)
    return true
  }

  async getMeta(key: Id): Promise<BlockMeta | undefined> {
    this.#guard.assertOpen()
    assertKey(key)
    const meta = this.#slots.get(key.hex)?.meta
    return meta === undefined ? undefined : decodeMeta(meta)
  }

  async setMeta(key: Id, meta: BlockMeta): Promise<boolean> {
    this.#guard.assertOpen()
    assertKey(key)
    assertMeta(meta)
    const metaBytes = encodeMeta(meta)
    const slot = this.#slots.get(key.hex)
    if (slot === undefined) return false
    slot.meta = metaBytes
    return true
  }

  scan(range: KeyRange, options?: { limit?: number; signal?: AbortSignal }): AsyncIterable<BlockEntry> {
    return ringScan(
      {
        assertOpen: () => this.#guard.assertOpen(),
        readPage: (lo, hi, max) => this.#keys.between(lo.hex, hi.hex, max).map((hex) => this.#entry(hex)),
      },
      range,
      options,
    )
  }

  stats(): BlockStoreStats {
    return this.#usage.stats()
  }

  #entry(hex: string): BlockEntry {
    const slot = this.#slots.get(hex) as Slot
    return { key: slot.key, size: slot.value.length, meta: slot.meta === undefined ? undefined : decodeMeta(slot.meta) }
  }
}

/** A memory BlockStore; start it before use. */
export function memoryStore(init?: MemoryStoreInit): BlockStore {
  return new MemoryBlockStore(init)
}
