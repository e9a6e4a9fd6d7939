import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { blockStoreSuite } from '@epost/compliance'
import { Id, isEpostError } from '@epost/core'
import type { BlockStore } from '@epost/core'
import { afterEach, describe, expect, it } from 'vitest'
import { lmdbStore } from './index.js'

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'epost-lmdb-'))
}

blockStoreSuite('lmdb', async ({ quotaBytes }) => {
  const dir = await tempDir()
  return { store: lmdbStore({ path: dir, quotaBytes }), teardown: () => rm(dir, { recursive: true, force: true }) }
})

describe('lmdbStore', () => {
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  async function dir(): Promise<string> {
    const d = await tempDir()
    cleanups.push(() => rm(d, { recursive: true, force: true }))
    return d
  }

  async function opened(path: string, quotaBytes?: number): Promise<BlockStore> {
    const store = lmdbStore({ path, quotaBytes })
    cleanups.push(() => store.stop())
    await store.start()
    return store
  }

  const k = (n: bigint): Id => Id.fromBigInt(n)

  it('keeps blocks, metadata and accounting across a restart', async () => {
    const path = await dir()
    const a = await opened(path)
    await a.put(k(1n), new Uint8Array([1, 2, 3]), { seq: 1 })
    await a.put(k(2n), new Uint8Array(1000).fill(7))
    await a.put(k(3n), new Uint8Array(10))
    await a.delete(k(3n))
    await a.setMeta(k(2n), { seq: 2 })
    await a.stop()

    const b = await opened(path, 1010)
    expect(b.stats()).toEqual({ count: 2, bytes: 1003, quotaBytes: 1010 })
    expect(await b.get(k(1n))).toEqual(new Uint8Array([1, 2, 3]))
    expect(await b.getMeta(k(1n))).toEqual({ seq: 1 })
    expect(await b.getMeta(k(2n))).toEqual({ seq: 2 })
    expect(await b.has(k(3n))).toBe(false)
    // the quota applies to what was already on disk
    const full = await b.put(k(4n), new Uint8Array(8)).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isEpostError(full, 'EPOST_STORE_FULL')).toBe(true)
    await b.put(k(4n), new Uint8Array(7))
    expect(b.stats()).toMatchObject({ count: 3, bytes: 1010 })
  })

  it('treats a path with a dot in its name as a directory', async () => {
    const path = join(await dir(), 'blocks.lmdb')
    const store = await opened(path)
    await store.put(k(1n), new Uint8Array([9]))
    await store.stop()
    const again = await opened(path)
    expect(await again.get(k(1n))).toEqual(new Uint8Array([9]))
  })

  it('fails to start with EPOST_STORE_IO where no directory can be made', async () => {
    const file = join(await dir(), 'a-file')
    await writeFile(file, 'not a directory')
    const store = lmdbStore({ path: join(file, 'db') })
    cleanups.push(() => store.stop())
    const err = await store.start().then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isEpostError(err, 'EPOST_STORE_IO')).toBe(true)
    expect((err as Error).message).toContain('check the disk')
    const notStarted = await store.get(k(1n)).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isEpostError(notStarted, 'EPOST_NOT_STARTED')).toBe(true)
  })

  for (const [what, content] of [
    ['garbage', Buffer.alloc(100_000, 7)],
    ['zeroes', Buffer.alloc(16_384)],
    ['a truncated file', Buffer.from([0xde, 0xc0, 0xef, 0xbe])],
  ] as const) {
    it(`fails to start with EPOST_STORE_IO (not a crash) when data.mdb holds ${what}`, async () => {
      const path = await dir()
      await writeFile(join(path, 'data.mdb'), content)
      const store = lmdbStore({ path })
      cleanups.push(() => store.stop())
      const err = await store.start().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(isEpostError(err, 'EPOST_STORE_IO')).toBe(true)
    })
  }

  it('keeps stores on two directories independent', async () => {
    const a = await opened(await dir())
    const b = await opened(await dir())
    await a.put(k(1n), new Uint8Array([1]))
    expect(await b.has(k(1n))).toBe(false)
  })

  it('refuses a second store on a directory this process has open, until the first stops', async () => {
    const path = await dir()
    const first = await opened(path)
    const second = lmdbStore({ path: join(path, '.') })
    cleanups.push(() => second.stop())
    const err = await second.start().then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isEpostError(err, 'EPOST_INVALID_ARGUMENT')).toBe(true)
    await first.stop()
    const third = await opened(path)
    expect(third.stats().count).toBe(0)
  })

  it('rejects a missing path when created', () => {
    expect(() => lmdbStore({ path: '' })).toThrow(/path/)
  })
})
