import { resolve } from 'node:path'
import { setImmediate as nextMacrotask } from 'node:timers/promises'
import { Id } from '@epost/core'
import type { BlockEntry, BlockMeta, BlockStore, BlockStoreStats, KeyRange } from '@epost/core'
import { open } from 'lmdb'
import type { Database, RootDatabase } from 'lmdb'
import { DEFAULT_QUOTA_BYTES, LMDB_BLOCKS_DB, LMDB_MAX_DBS, LMDB_META_DB } from '../constants.js'
import { invalidArgument, ioError } from '../errors.js'
import { StoreGuard } from '../guard.js'
import { encodeMeta } from '../meta-codec.js'
import { ringScan } from '../scan.js'
import { Usage } from '../usage.js'
import { assertKey, assertMeta, assertValue, checkQuota } from '../validate.js'
import { checkDataFile } from './file-check.js'
import { PendingWrites } from './pending.js'
import { encodeRecord, recordMeta, recordSize, withMeta } from './record.js'

export interface LmdbStoreInit {
  /** Directory of the LMDB environment; created if missing. One store per directory and process. */
  path: string
  /** Bytes of values the store may hold. @default Infinity */
  quotaBytes?: number
}

/**
 * Directories an LMDB store of this process has open. A second store on the same directory
 * would share LMDB's environment but keep its own accounting, so it is refused.
 */
const openPaths = new Set<string>()

type Bytes = Database<Uint8Array, Uint8Array>
/** lmdb-js write promises carry `flushed` (with `separateFlushed`): resolved once the commit is synced. */
type WritePromise<T> = Promise<T> & { flushed?: PromiseLike<unknown> }

interface Opened {
  env: RootDatabase
  blocks: Bytes
  metas: Bytes
}

/**
 * A durable BlockStore on LMDB. Two sub-databases share one environment and one transaction per
 * write: `blocks` (Id.bytes -> value) and `meta` (Id.bytes -> size + metadata record), both with
 * raw 16-byte keys, so LMDB's byte order is ring order. A write resolves only after its commit is
 * flushed to disk. Count and bytes are recomputed from the `meta` records at start.
 */
export class LmdbBlockStore implements BlockStore {
  readonly #path: string
  readonly #guard: StoreGuard
  readonly #usage: Usage
  readonly #pending = new PendingWrites()
  readonly #inflight = new Set<Promise<unknown>>()
  #db: Opened | undefined
  /** A write failed: the usage figures may be off until they are recomputed from disk. */
  #dirty = false

  constructor(init: LmdbStoreInit) {
    if (typeof init?.path !== 'string' || init.path === '') {
      throw invalidArgument('lmdbStore needs { path }: the directory that holds (or will hold) the database')
    }
    this.#path = init.path
    this.#usage = new Usage(checkQuota(init.quotaBytes ?? DEFAULT_QUOTA_BYTES))
    this.#guard = new StoreGuard(
      'lmdb',
      () => this.#open(),
      () => this.#close(),
    )
  }

  start(): Promise<void> {
    return this.#guard.start()
  }

  stop(): Promise<void> {
    return this.#guard.stop()
  }

  async put(key: Id, value: Uint8Array, meta?: BlockMeta): Promise<void> {
    const { env, blocks, metas } = this.#opened()
    assertKey(key)
    assertValue(value)
    assertMeta(meta)
    const record = encodeRecord(value.length, meta === undefined ? undefined : encodeMeta(meta))
    // lmdb-js keeps a reference to the value until the write thread copies it: copy it now.
    const copy = value.slice()
    this.#usage.replace(this.#sizeOf(key), value.length)
    await this.#write(key.hex, value.length, 'put', () =>
      env.batch(() => {
        void blocks.put(key.bytes, copy)
        void metas.put(key.bytes, record)
      }),
    )
  }

  async get(key: Id): Promise<Uint8Array | undefined> {
    const { blocks } = this.#opened()
    assertKey(key)
    const buf = this.#read('get', () => blocks.getBinary(key.bytes))
    return buf === undefined ? undefined : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
  }

  async has(key: Id): Promise<boolean> {
    const { metas } = this.#opened()
    assertKey(key)
    return this.#read('has', () => metas.doesExist(key.bytes))
  }

  async delete(key: Id): Promise<boolean> {
    const { env, blocks, metas } = this.#opened()
    assertKey(key)
    const prev = this.#sizeOf(key)
    if (prev === undefined) return false
    this.#usage.remove(prev)
    await this.#write(key.hex, undefined, 'delete', () =>
      env.batch(() => {
        void blocks.remove(key.bytes)
        void metas.remove(key.bytes)
      }),
    )
    return true
  }

  async getMeta(key: Id): Promise<BlockMeta | undefined> {
    const { metas } = this.#opened()
    assertKey(key)
    return this.#read('getMeta', () => {
      const record = metas.getBinary(key.bytes)
      return record === undefined ? undefined : recordMeta(record)
    })
  }

  async setMeta(key: Id, meta: BlockMeta): Promise<boolean> {
    const { env, metas } = this.#opened()
    assertKey(key)
    assertMeta(meta)
    const metaBytes = encodeMeta(meta)
    if (this.#sizeOf(key) === undefined) return false
    // Read the record inside the write transaction (ordered with other writes by
    // strictAsyncOrder), so the size kept is the committed one even if an earlier write failed.
    return this.#track(
      'setMeta',
      env.transaction(() => {
        const record = metas.getBinary(key.bytes)
        if (record === undefined) return false
        void metas.put(key.bytes, withMeta(record, metaBytes))
        return true
      }),
    )
  }

  scan(range: KeyRange, options?: { limit?: number; signal?: AbortSignal }): AsyncIterable<BlockEntry> {
    return ringScan(
      {
        assertOpen: () => void this.#opened(),
        readPage: (lo, hi, max) => this.#read('scan', () => this.#page(lo, hi, max)),
        betweenPages: () => nextMacrotask(),
      },
      range,
      options,
    )
  }

  stats(): BlockStoreStats {
    return this.#usage.stats()
  }

  #opened(): Opened {
    this.#guard.assertOpen()
    return this.#db as Opened
  }

  /** Size of the block under `key` once every write issued so far has been applied. */
  #sizeOf(key: Id): number | undefined {
    const [known, size] = this.#pending.lookup(key.hex)
    if (known) return size
    const { metas } = this.#db as Opened
    return this.#read('read', () => {
      const record = metas.getBinary(key.bytes)
      return record === undefined ? undefined : recordSize(record)
    })
  }

  async #write(hex: string, size: number | undefined, op: string, issue: () => WritePromise<unknown>): Promise<void> {
    this.#pending.begin(hex, size)
    try {
      await this.#track(op, issue())
    } finally {
      this.#pending.end(hex)
    }
  }

  /** Awaits a write until it is flushed to disk; a failure marks the usage figures for recompute. */
  async #track<T>(op: string, issued: WritePromise<T> | (() => WritePromise<T>)): Promise<T> {
    const run = (async () => {
      const write = typeof issued === 'function' ? issued() : issued
      const result = await write
      await (write.flushed ?? (this.#db as Opened).env.flushed)
      return result
    })()
    this.#inflight.add(run)
    try {
      return await run
    } catch (err) {
      this.#dirty = true
      throw ioError(op, err, this.#path)
    } finally {
      this.#inflight.delete(run)
      if (this.#dirty && this.#inflight.size === 0 && !this.#guard.closed) {
        try {
          this.#recount()
        } catch {
          // still dirty: the next failed or settled write tries again; reads report their own errors
        }
      }
    }
  }

  #read<T>(op: string, fn: () => T): T {
    try {
      return fn()
    } catch (err) {
      throw ioError(op, err, this.#path)
    }
  }

  #page(lo: Id, hi: Id, max: number): BlockEntry[] {
    const { metas } = this.#db as Opened
    const out: BlockEntry[] = []
    for (const { key, value } of metas.getRange({ start: lo.bytes, end: hi.bytes, inclusiveEnd: true, limit: max })) {
      out.push({ key: Id.fromBytes(key), size: recordSize(value), meta: recordMeta(value) })
    }
    return out
  }

  /** Recomputes count and bytes from the metadata records (reads no values). */
  #recount(): void {
    const { metas } = this.#db as Opened
    let count = 0
    let bytes = 0
    for (const { value } of metas.getRange({})) {
      count++
      bytes += recordSize(value)
    }
    this.#usage.reset(count, bytes)
    this.#dirty = false
  }

  async #open(): Promise<void> {
    const dir = resolve(this.#path)
    if (openPaths.has(dir)) {
      throw invalidArgument(`another lmdbStore of this process has ${dir} open: share that store, or give this one its own path`)
    }
    openPaths.add(dir)
    try {
      await this.#openEnv()
    } catch (err) {
      openPaths.delete(dir)
      throw err
    }
  }

  async #openEnv(): Promise<void> {
    await checkDataFile(this.#path)
    let env: RootDatabase | undefined
    try {
      env = open({
        path: this.#path,
        noSubdir: false, // `path` is a directory even when its name has a dot
        maxDbs: LMDB_MAX_DBS,
        // Durability: never noSync. Commits overlap their fsync with the next transaction, and a
        // write's promise carries `flushed`, which the store awaits before resolving.
        separateFlushed: true,
        // setMeta runs as a transaction callback; keep it in order with single puts and deletes.
        strictAsyncOrder: true,
      })
      const blocks = env.openDB<Uint8Array, Uint8Array>({ name: LMDB_BLOCKS_DB, keyEncoding: 'binary', encoding: 'binary' })
      const metas = env.openDB<Uint8Array, Uint8Array>({ name: LMDB_META_DB, keyEncoding: 'binary', encoding: 'binary' })
      this.#db = { env, blocks, metas }
      this.#recount()
    } catch (err) {
      this.#db = undefined
      await env?.close().catch(() => {})
      throw ioError('open', err, this.#path)
    }
  }

  async #close(): Promise<void> {
    await Promise.allSettled([...this.#inflight])
    const db = this.#db
    this.#db = undefined
    if (db === undefined) return
    try {
      await db.env.close()
    } catch (err) {
      throw ioError('close', err, this.#path)
    } finally {
      openPaths.delete(resolve(this.#path))
    }
  }
}

/** A durable LMDB BlockStore at `init.path`; start it before use. */
export function lmdbStore(init: LmdbStoreInit): BlockStore {
  return new LmdbBlockStore(init)
}
