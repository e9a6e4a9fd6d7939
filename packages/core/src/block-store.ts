import type { Id } from './id.js'
import type { Startable } from './lifecycle.js'

/** Small structured data kept beside a block (type, sequence number, owner, expiry...). */
export type BlockMeta = Record<string, unknown>

export interface BlockEntry {
  key: Id
  /** Size of the value in bytes. */
  size: number
  meta: BlockMeta | undefined
}

/** A clockwise arc of the ring, both ends inclusive; wraps around zero when `from > to`. */
export interface KeyRange {
  from: Id
  to: Id
}

export interface BlockStoreStats {
  count: number
  /** Bytes of values held (what the quota counts). */
  bytes: number
  /** The quota in bytes, or Infinity. */
  quotaBytes: number
}

/**
 * Where a node keeps the blocks it stores for the ring. A `put` that resolved is durable (it
 * survives a crash of the process). Keys are ring ids, kept in ring order so that upkeep can scan
 * the arc it is responsible for.
 */
export interface BlockStore extends Startable {
  /** Stores or replaces a block. Rejects with EPOST_STORE_FULL when the quota would be exceeded. */
  put(key: Id, value: Uint8Array, meta?: BlockMeta): Promise<void>
  get(key: Id): Promise<Uint8Array | undefined>
  has(key: Id): Promise<boolean>
  /** Resolves true if a block was removed. */
  delete(key: Id): Promise<boolean>
  getMeta(key: Id): Promise<BlockMeta | undefined>
  /** Replaces the metadata of an existing block; resolves false if there is none. */
  setMeta(key: Id, meta: BlockMeta): Promise<boolean>
  /** Entries whose keys lie in `range`, in clockwise order from `range.from`. */
  scan(range: KeyRange, options?: { limit?: number; signal?: AbortSignal }): AsyncIterable<BlockEntry>
  stats(): BlockStoreStats
}
