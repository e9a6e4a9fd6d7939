import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ID_ZERO, Id, isEpostError } from '@epost/core'
import { afterEach, describe, expect, it, vi } from 'vitest'

/** Fault injection: every env's `batch` (how puts and deletes are written) fails while `failing`. */
const faults = vi.hoisted(() => ({ failing: false }))
vi.mock('lmdb', async (importOriginal) => {
  const lmdb = await importOriginal<typeof import('lmdb')>()
  const open = ((...args: Parameters<typeof lmdb.open>) => {
    const env = lmdb.open(...args)
    const batch = env.batch.bind(env)
    env.batch = ((action: () => unknown) => {
      if (!faults.failing) return batch(action)
      return Promise.reject(Object.assign(new Error('EIO: i/o error (simulated)'), { code: 'EIO' }))
    }) as typeof env.batch
    return env
  }) as typeof lmdb.open
  return { ...lmdb, open }
})

const { lmdbStore } = await import('./index.js')

describe('lmdbStore write failures', () => {
  let dir: string | undefined
  afterEach(async () => {
    faults.failing = false
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('rejects a failed write with EPOST_STORE_IO and recomputes the accounting from disk', async () => {
    dir = await mkdtemp(join(tmpdir(), 'epost-fail-'))
    const store = lmdbStore({ path: dir, quotaBytes: 100 })
    await store.start()
    try {
      const a = Id.fromBigInt(1n)
      const b = Id.fromBigInt(2n)
      await store.put(a, new Uint8Array(60))
      faults.failing = true
      const results = await Promise.allSettled([store.put(b, new Uint8Array(40)), store.delete(a)])
      for (const r of results) {
        expect(r.status).toBe('rejected')
        const reason = (r as PromiseRejectedResult).reason as Error
        expect(isEpostError(reason, 'EPOST_STORE_IO')).toBe(true)
        expect(reason.message).toContain('check the disk')
      }
      faults.failing = false
      // Nothing was written; the figures say so again, so the quota still has 40 bytes free.
      expect(store.stats()).toMatchObject({ count: 1, bytes: 60 })
      expect(await store.has(b)).toBe(false)
      expect(await store.get(a)).toEqual(new Uint8Array(60))
      await store.put(b, new Uint8Array(40))
      expect(store.stats()).toMatchObject({ count: 2, bytes: 100 })
      const keys: string[] = []
      for await (const e of store.scan({ from: ID_ZERO, to: ID_ZERO.add(-1n) })) keys.push(e.key.hex)
      expect(keys).toEqual([a.hex, b.hex])
    } finally {
      await store.stop()
    }
  })
})
