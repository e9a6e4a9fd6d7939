/**
 * Defaults of @epost/store, in one place. Units are in the names.
 */

/** Per-node quota on the bytes of block values a store holds. @default Infinity (no quota) */
export const DEFAULT_QUOTA_BYTES = Number.POSITIVE_INFINITY

/**
 * Entries a scan reads in one synchronous step. A scan never holds a read transaction (or a view
 * of the memory store's index) across an `await`, so a slow consumer cannot pin old LMDB pages.
 */
export const SCAN_PAGE_SIZE = 256

/** Format byte at the start of every LMDB metadata record (bumped on a change of layout). */
export const LMDB_RECORD_FORMAT = 1

/** Names of the LMDB sub-databases: values, and (size + metadata) records that scans read. */
export const LMDB_BLOCKS_DB = 'blocks'
export const LMDB_META_DB = 'meta'

/** Sub-databases the environment may hold (two used, room for a later migration). */
export const LMDB_MAX_DBS = 4
