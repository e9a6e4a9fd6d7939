import { ID_MAX, ID_ZERO, Id, RING_SIZE, Rng, isEpostError } from '@epost/core'
import type { BlockEntry, BlockMeta, BlockStore, EpostErrorCode, KeyRange } from '@epost/core'
import { describe, expect, it, onTestFinished } from 'vitest'

export interface BlockStoreSetupOptions {
  /** The store must enforce this quota (bytes of values). Absent: no quota (Infinity). */
  quotaBytes?: number
}

export interface BlockStoreFixture {
  /** A new, empty store that has NOT been started: the suite starts and stops it. */
  store: BlockStore
  /** Runs after the suite has stopped the store (remove temp directories...). */
  teardown?: () => Promise<void>
}

export type BlockStoreSetup = (options: BlockStoreSetupOptions) => Promise<BlockStoreFixture>

/**
 * The BlockStore contract as tests: every implementation runs the same suite.
 *
 *   blockStoreSuite('memory', async ({ quotaBytes }) => ({ store: memoryStore({ quotaBytes }) }))
 *
 * Semantics checked beyond the interface's types: values and metadata are copied in and out;
 * `put` replaces value and metadata (no metadata clears it); operations on one key take effect
 * in call order even when not awaited; scan ranges are clockwise arcs with both ends inclusive
 * (`from === to` is the single key, `from > to` wraps past zero); the quota counts value bytes
 * and rejects with EPOST_STORE_FULL; operations before start reject with EPOST_NOT_STARTED and
 * after stop with EPOST_STORE_CLOSED; bad arguments reject with EPOST_INVALID_ARGUMENT.
 */
export function blockStoreSuite(name: string, setup: BlockStoreSetup): void {
  /** A store from `setup`, stopped and torn down when the test finishes. */
  async function fresh(options: BlockStoreSetupOptions = {}): Promise<BlockStore> {
    const fixture = await setup(options)
    onTestFinished(async () => {
      await fixture.store.stop()
      await fixture.teardown?.()
    })
    return fixture.store
  }

  async function started(options: BlockStoreSetupOptions = {}): Promise<BlockStore> {
    const store = await fresh(options)
    await store.start()
    return store
  }

  describe(`BlockStore compliance: ${name}`, () => {
    describe('lifecycle', () => {
      it('rejects every operation before start with EPOST_NOT_STARTED', async () => {
        const store = await fresh()
        const k = key(1n)
        await rejectsWith(store.put(k, bytes(3)), 'EPOST_NOT_STARTED')
        await rejectsWith(store.get(k), 'EPOST_NOT_STARTED')
        await rejectsWith(store.has(k), 'EPOST_NOT_STARTED')
        await rejectsWith(store.delete(k), 'EPOST_NOT_STARTED')
        await rejectsWith(store.getMeta(k), 'EPOST_NOT_STARTED')
        await rejectsWith(store.setMeta(k, { a: 1 }), 'EPOST_NOT_STARTED')
        await rejectsWith(collect(store.scan(wholeRing())), 'EPOST_NOT_STARTED')
      })

      it('start and stop are idempotent: a second call returns the same promise', async () => {
        const store = await fresh()
        const s1 = store.start()
        const s2 = store.start()
        expect(s2).toBe(s1)
        await s1
        await store.put(key(1n), bytes(4))
        const t1 = store.stop()
        const t2 = store.stop()
        expect(t2).toBe(t1)
        await t1
        await store.stop()
      })

      it('rejects every operation after stop with EPOST_STORE_CLOSED', async () => {
        const store = await started()
        const k = key(1n)
        await store.put(k, bytes(3))
        await store.stop()
        await rejectsWith(store.put(k, bytes(3)), 'EPOST_STORE_CLOSED')
        await rejectsWith(store.get(k), 'EPOST_STORE_CLOSED')
        await rejectsWith(store.has(k), 'EPOST_STORE_CLOSED')
        await rejectsWith(store.delete(k), 'EPOST_STORE_CLOSED')
        await rejectsWith(store.getMeta(k), 'EPOST_STORE_CLOSED')
        await rejectsWith(store.setMeta(k, { a: 1 }), 'EPOST_STORE_CLOSED')
        await rejectsWith(collect(store.scan(wholeRing())), 'EPOST_STORE_CLOSED')
      })

      it('rejects operations issued right after stop() is called', async () => {
        const store = await started()
        const stopping = store.stop()
        await rejectsWith(store.put(key(1n), bytes(3)), 'EPOST_STORE_CLOSED')
        await stopping
      })

      it('a put issued before stop completes before stop resolves', async () => {
        const store = await started()
        const put = store.put(key(1n), bytes(1000))
        await store.stop()
        await expect(put).resolves.toBeUndefined()
      })
    })

    describe('blocks', () => {
      it('puts, gets, has and deletes a block', async () => {
        const store = await started()
        const k = key(42n)
        const v = bytes(100, 1)
        await store.put(k, v)
        expect(await store.has(k)).toBe(true)
        expect(await store.get(k)).toEqual(v)
        expect(await store.delete(k)).toBe(true)
        expect(await store.has(k)).toBe(false)
        expect(await store.get(k)).toBeUndefined()
        expect(await store.delete(k)).toBe(false)
      })

      it('answers a missing key with undefined and false', async () => {
        const store = await started()
        await store.put(key(1n), bytes(5))
        const missing = key(2n)
        expect(await store.get(missing)).toBeUndefined()
        expect(await store.has(missing)).toBe(false)
        expect(await store.getMeta(missing)).toBeUndefined()
        expect(await store.delete(missing)).toBe(false)
        expect(store.stats().count).toBe(1)
      })

      it('keeps blocks under different keys apart', async () => {
        const store = await started()
        const ks = [ID_ZERO, key(1n), key(RING_SIZE / 2n), ID_MAX]
        for (const [i, k] of ks.entries()) await store.put(k, bytes(10 + i, i))
        for (const [i, k] of ks.entries()) expect(await store.get(k)).toEqual(bytes(10 + i, i))
        await store.delete(ks[1] as Id)
        expect(await store.get(ks[0] as Id)).toEqual(bytes(10, 0))
        expect(await store.get(ks[2] as Id)).toEqual(bytes(12, 2))
      })

      it('put replaces the value and the metadata; no metadata clears it', async () => {
        const store = await started()
        const k = key(7n)
        await store.put(k, bytes(50, 1), { kind: 'a', seq: 1 })
        await store.put(k, bytes(20, 2), { kind: 'b' })
        expect(await store.get(k)).toEqual(bytes(20, 2))
        expect(await store.getMeta(k)).toEqual({ kind: 'b' })
        await store.put(k, bytes(30, 3))
        expect(await store.get(k)).toEqual(bytes(30, 3))
        expect(await store.getMeta(k)).toBeUndefined()
        expect(store.stats()).toMatchObject({ count: 1, bytes: 30 })
      })

      it('stores copies: changing a buffer after put or after get changes nothing stored', async () => {
        const store = await started()
        const k = key(9n)
        const v = bytes(300, 4)
        const original = v.slice()
        const put = store.put(k, v)
        v.fill(0xee) // before the put has resolved
        await put
        expect(await store.get(k)).toEqual(original)
        const got = (await store.get(k)) as Uint8Array
        got.fill(0xdd)
        expect(await store.get(k)).toEqual(original)
        const meta: BlockMeta = { list: [1, 2] }
        await store.setMeta(k, meta)
        ;(meta.list as number[]).push(3)
        expect(await store.getMeta(k)).toEqual({ list: [1, 2] })
      })

      it('stores an empty value as an empty block, not as a missing one', async () => {
        const store = await started()
        const k = key(5n)
        await store.put(k, new Uint8Array(0), { empty: true })
        expect(await store.has(k)).toBe(true)
        const got = await store.get(k)
        expect(got).toBeInstanceOf(Uint8Array)
        expect(got?.length).toBe(0)
        expect(await store.getMeta(k)).toEqual({ empty: true })
        expect(store.stats()).toMatchObject({ count: 1, bytes: 0 })
        const entries = await collect(store.scan({ from: k, to: k }))
        expect(entries.map((e) => e.size)).toEqual([0])
      })

      it('stores and returns a 1 MiB value intact', async () => {
        const store = await started()
        const k = key(11n)
        const v = bytes(1 << 20, 6)
        await store.put(k, v, { big: true })
        const got = await store.get(k)
        expect(got?.length).toBe(1 << 20)
        expect(Buffer.compare(Buffer.from(got as Uint8Array), Buffer.from(v))).toBe(0)
        ;(got as Uint8Array).fill(0)
        const again = (await store.get(k)) as Uint8Array
        expect(Buffer.compare(Buffer.from(again), Buffer.from(v))).toBe(0)
        expect(store.stats()).toMatchObject({ count: 1, bytes: 1 << 20 })
      })

      it('lands every one of many concurrent puts', async () => {
        const store = await started()
        const ks = Array.from({ length: 64 }, (_, i) => key(BigInt(i) * 1_000_003n))
        await Promise.all(ks.map((k, i) => store.put(k, bytes(i, i), { i })))
        for (const [i, k] of ks.entries()) {
          expect(await store.get(k)).toEqual(bytes(i, i))
          expect(await store.getMeta(k)).toEqual({ i })
        }
        expect(store.stats().count).toBe(64)
      })

      it('applies operations on one key in call order, even when not awaited one by one', async () => {
        const store = await started()
        const k = key(3n)
        const results = await Promise.all([
          store.put(k, bytes(10, 1)),
          store.put(k, bytes(20, 2), { v: 2 }),
          store.delete(k),
          store.delete(k),
          store.setMeta(k, { v: 'lost' }),
          store.put(k, bytes(30, 3)),
          store.setMeta(k, { v: 3 }),
        ])
        expect(results).toEqual([undefined, undefined, true, false, false, undefined, true])
        expect(await store.get(k)).toEqual(bytes(30, 3))
        expect(await store.getMeta(k)).toEqual({ v: 3 })
        expect(store.stats()).toMatchObject({ count: 1, bytes: 30 })
      })

      it('orders setMeta with the puts and deletes around it', async () => {
        const store = await started()
        const a = key(4n)
        const b = key(6n)
        const results = await Promise.all([
          store.put(a, bytes(10, 1), { v: 1 }),
          store.setMeta(a, { v: 2 }),
          store.put(a, bytes(11, 2), { v: 3 }),
          store.put(b, bytes(12, 3)),
          store.setMeta(b, { w: 1 }),
          store.delete(b),
        ])
        expect(results).toEqual([undefined, true, undefined, undefined, true, true])
        expect(await store.getMeta(a)).toEqual({ v: 3 })
        expect(await store.get(a)).toEqual(bytes(11, 2))
        expect(await store.has(b)).toBe(false)
        expect(await store.getMeta(b)).toBeUndefined()
        expect(store.stats()).toMatchObject({ count: 1, bytes: 11 })
      })

      it('rejects bad arguments with EPOST_INVALID_ARGUMENT', async () => {
        const store = await started()
        const bad = (x: unknown) => x as never
        await rejectsWith(store.put(bad('00'), bytes(1)), 'EPOST_INVALID_ARGUMENT')
        await rejectsWith(store.put(key(1n), bad('text')), 'EPOST_INVALID_ARGUMENT')
        await rejectsWith(store.put(key(1n), bytes(1), bad([1, 2])), 'EPOST_INVALID_ARGUMENT')
        await rejectsWith(store.get(bad(undefined)), 'EPOST_INVALID_ARGUMENT')
        await rejectsWith(store.setMeta(key(1n), bad(null)), 'EPOST_INVALID_ARGUMENT')
        await rejectsWith(collect(store.scan(wholeRing(), { limit: -1 })), 'EPOST_INVALID_ARGUMENT')
        expect(store.stats().count).toBe(0)
      })
    })

    describe('metadata', () => {
      it('round trips structured metadata', async () => {
        const store = await started()
        const k = key(12n)
        const meta: BlockMeta = {
          type: 'content-hash',
          seq: 17,
          neg: -3,
          ratio: 0.25,
          big: 2 ** 40,
          ok: true,
          none: null,
          owner: 'a'.repeat(64),
          tags: ['x', 'y'],
          nested: { expiresAt: 1_700_000_000_000, list: [{ a: 1 }, { b: [true, false] }] },
        }
        await store.put(k, bytes(8), meta)
        expect(await store.getMeta(k)).toEqual(meta)
      })

      it('has no metadata for a block stored without it', async () => {
        const store = await started()
        await store.put(key(1n), bytes(8))
        expect(await store.getMeta(key(1n))).toBeUndefined()
      })

      it('setMeta replaces the metadata and keeps the value and its size', async () => {
        const store = await started()
        const k = key(13n)
        await store.put(k, bytes(77, 2), { seq: 1, old: 'x' })
        expect(await store.setMeta(k, { seq: 2 })).toBe(true)
        expect(await store.getMeta(k)).toEqual({ seq: 2 })
        expect(await store.get(k)).toEqual(bytes(77, 2))
        expect(store.stats()).toMatchObject({ count: 1, bytes: 77 })
        const [entry] = await collect(store.scan({ from: k, to: k }))
        expect(entry).toMatchObject({ size: 77, meta: { seq: 2 } })
      })

      it('setMeta on a missing key resolves false and stores nothing', async () => {
        const store = await started()
        const k = key(14n)
        expect(await store.setMeta(k, { seq: 1 })).toBe(false)
        expect(await store.has(k)).toBe(false)
        expect(await store.getMeta(k)).toBeUndefined()
        expect(await collect(store.scan(wholeRing()))).toEqual([])
        expect(store.stats()).toMatchObject({ count: 0, bytes: 0 })
        await store.put(k, bytes(1))
        await store.delete(k)
        expect(await store.setMeta(k, { seq: 2 })).toBe(false)
        expect(await store.has(k)).toBe(false)
      })
    })

    describe('scan', () => {
      /** Keys spread over the ring, including both ends of the key space. */
      const ringKeys = (): Id[] => [
        ID_ZERO,
        key(5n),
        key(RING_SIZE / 4n),
        key(RING_SIZE / 2n - 1n),
        key(RING_SIZE / 2n),
        key((RING_SIZE * 3n) / 4n),
        key(RING_SIZE - 6n),
        ID_MAX,
      ]

      async function filled(): Promise<{ store: BlockStore; keys: Id[] }> {
        const store = await started()
        const keys = ringKeys()
        const shuffled = [...keys].reverse()
        ;[shuffled[1], shuffled[5]] = [shuffled[5] as Id, shuffled[1] as Id]
        for (const k of shuffled) await store.put(k, bytes(keys.indexOf(k) + 1), { at: keys.indexOf(k) })
        return { store, keys }
      }

      it('yields every entry in ring order with its size and metadata', async () => {
        const { store, keys } = await filled()
        const entries = await collect(store.scan({ from: ID_ZERO, to: ID_MAX }))
        expect(entries.map((e) => e.key.hex)).toEqual(keys.map((k) => k.hex))
        for (const [i, e] of entries.entries()) {
          expect(e.key).toBeInstanceOf(Id)
          expect(e.size).toBe(i + 1)
          expect(e.meta).toEqual({ at: i })
        }
      })

      it('includes both ends of the range and nothing outside it', async () => {
        const { store, keys } = await filled()
        const range = { from: keys[2] as Id, to: keys[5] as Id }
        expect(hexes(await collect(store.scan(range)))).toEqual(keys.slice(2, 6).map((k) => k.hex))
        const inner = { from: (keys[2] as Id).add(1n), to: (keys[5] as Id).add(-1n) }
        expect(hexes(await collect(store.scan(inner)))).toEqual(keys.slice(3, 5).map((k) => k.hex))
      })

      it('wraps around zero when from > to, clockwise from `from`', async () => {
        const { store, keys } = await filled()
        const range = { from: keys[5] as Id, to: keys[2] as Id }
        const expected = [...keys.slice(5), ...keys.slice(0, 3)].map((k) => k.hex)
        expect(hexes(await collect(store.scan(range)))).toEqual(expected)
        const fromMax = { from: ID_MAX, to: ID_ZERO }
        expect(hexes(await collect(store.scan(fromMax)))).toEqual([ID_MAX.hex, ID_ZERO.hex])
      })

      it('treats from === to as the single key', async () => {
        const { store, keys } = await filled()
        const k = keys[3] as Id
        expect(hexes(await collect(store.scan({ from: k, to: k })))).toEqual([k.hex])
        const gap = (keys[2] as Id).add(1n)
        expect(await collect(store.scan({ from: gap, to: gap }))).toEqual([])
      })

      it('covers the whole ring clockwise from any key as { from: x, to: x - 1 }', async () => {
        const { store, keys } = await filled()
        const x = (keys[3] as Id).add(-1n) // between keys[2] and keys[3]
        const expected = [...keys.slice(3), ...keys.slice(0, 3)].map((k) => k.hex)
        expect(hexes(await collect(store.scan({ from: x, to: x.add(-1n) })))).toEqual(expected)
      })

      it('stops after `limit` entries, counting clockwise from `from`', async () => {
        const { store, keys } = await filled()
        const range = { from: keys[6] as Id, to: keys[5] as Id }
        expect(hexes(await collect(store.scan(range, { limit: 3 })))).toEqual([keys[6], keys[7], keys[0]].map((k) => (k as Id).hex))
        expect(await collect(store.scan(range, { limit: 0 }))).toEqual([])
        expect(await collect(store.scan(range, { limit: 1000 }))).toHaveLength(keys.length)
      })

      it('yields nothing from an empty store', async () => {
        const store = await started()
        expect(await collect(store.scan({ from: ID_ZERO, to: ID_MAX }))).toEqual([])
        expect(await collect(store.scan({ from: ID_MAX, to: ID_ZERO }))).toEqual([])
      })

      it('walks many entries in order', async () => {
        const store = await started()
        const rng = new Rng('scan-many')
        const keys = Array.from({ length: 700 }, () => Id.random((n) => rng.bytes(n)))
        await Promise.all(keys.map((k, i) => store.put(k, bytes(i % 7, i))))
        const sorted = keys.map((k) => k.hex).sort()
        expect(hexes(await collect(store.scan({ from: ID_ZERO, to: ID_MAX })))).toEqual(sorted)
        const from = keys[0] as Id
        const i = sorted.indexOf(from.hex)
        const clockwise = [...sorted.slice(i), ...sorted.slice(0, i)]
        expect(hexes(await collect(store.scan({ from, to: from.add(-1n) })))).toEqual(clockwise)
        expect(hexes(await collect(store.scan({ from, to: from.add(-1n) }, { limit: 300 })))).toEqual(clockwise.slice(0, 300))
      })

      it('reflects deletes and metadata changes', async () => {
        const { store, keys } = await filled()
        await store.delete(keys[1] as Id)
        await store.setMeta(keys[2] as Id, { changed: true })
        const entries = await collect(store.scan({ from: ID_ZERO, to: keys[3] as Id }))
        expect(hexes(entries)).toEqual([keys[0], keys[2], keys[3]].map((k) => (k as Id).hex))
        expect(entries[1]?.meta).toEqual({ changed: true })
      })

      it('rejects with EPOST_ABORTED when the signal is aborted, before or during the scan', async () => {
        const { store } = await filled()
        await rejectsWith(collect(store.scan(wholeRing(), { signal: AbortSignal.abort() })), 'EPOST_ABORTED')
        const controller = new AbortController()
        const seen: BlockEntry[] = []
        const scanning = (async () => {
          for await (const e of store.scan(wholeRing(), { signal: controller.signal })) {
            seen.push(e)
            if (seen.length === 2) controller.abort()
          }
        })()
        await rejectsWith(scanning, 'EPOST_ABORTED')
        expect(seen).toHaveLength(2)
      })
    })

    describe('stats and quota', () => {
      it('counts blocks and value bytes; the default quota is Infinity', async () => {
        const store = await started()
        expect(store.stats()).toEqual({ count: 0, bytes: 0, quotaBytes: Number.POSITIVE_INFINITY })
        await store.put(key(1n), bytes(100), { m: 'metadata is not counted' })
        await store.put(key(2n), bytes(50))
        expect(store.stats()).toMatchObject({ count: 2, bytes: 150 })
        await store.put(key(1n), bytes(30))
        expect(store.stats()).toMatchObject({ count: 2, bytes: 80 })
        await store.delete(key(2n))
        expect(store.stats()).toMatchObject({ count: 1, bytes: 30 })
        await store.delete(key(1n))
        expect(store.stats()).toMatchObject({ count: 0, bytes: 0 })
      })

      it('rejects a put beyond the quota with EPOST_STORE_FULL and changes nothing', async () => {
        const store = await started({ quotaBytes: 100 })
        expect(store.stats().quotaBytes).toBe(100)
        await store.put(key(1n), bytes(60, 1))
        const err = await store.put(key(2n), bytes(41)).then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(isEpostError(err, 'EPOST_STORE_FULL')).toBe(true)
        expect((err as Error).message.length).toBeGreaterThan(20)
        expect(await store.has(key(2n))).toBe(false)
        expect(store.stats()).toMatchObject({ count: 1, bytes: 60 })
        await rejectsWith(store.put(key(1n), bytes(101)), 'EPOST_STORE_FULL')
        expect(await store.get(key(1n))).toEqual(bytes(60, 1))
      })

      it('accounts only the difference when a block is replaced', async () => {
        const store = await started({ quotaBytes: 100 })
        await store.put(key(1n), bytes(60))
        await store.put(key(1n), bytes(100)) // 60 -> 100: fits although 60 + 100 > 100
        expect(store.stats()).toMatchObject({ count: 1, bytes: 100 })
        await rejectsWith(store.put(key(2n), bytes(1)), 'EPOST_STORE_FULL')
        await store.put(key(1n), bytes(40))
        await store.put(key(2n), bytes(60))
        expect(store.stats()).toMatchObject({ count: 2, bytes: 100 })
      })

      it('a block exactly filling the quota fits, empty blocks always fit, deletes free room', async () => {
        const store = await started({ quotaBytes: 64 })
        await store.put(key(1n), bytes(64))
        await store.put(key(2n), new Uint8Array(0))
        expect(store.stats()).toMatchObject({ count: 2, bytes: 64 })
        await rejectsWith(store.put(key(3n), bytes(1)), 'EPOST_STORE_FULL')
        await store.delete(key(1n))
        await store.put(key(3n), bytes(64))
        expect(store.stats()).toMatchObject({ count: 2, bytes: 64 })
      })

      it('a quota of 0 holds only empty blocks', async () => {
        const store = await started({ quotaBytes: 0 })
        await store.put(key(1n), new Uint8Array(0))
        await rejectsWith(store.put(key(2n), bytes(1)), 'EPOST_STORE_FULL')
        expect(store.stats()).toEqual({ count: 1, bytes: 0, quotaBytes: 0 })
      })

      it('concurrent puts never overshoot the quota', async () => {
        const store = await started({ quotaBytes: 1000 })
        const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.put(key(BigInt(i + 1)), bytes(100, i))))
        const rejected = outcomes.filter((o) => o.status === 'rejected')
        expect(rejected).toHaveLength(10)
        for (const r of rejected) expect(isEpostError((r as PromiseRejectedResult).reason, 'EPOST_STORE_FULL')).toBe(true)
        expect(store.stats()).toMatchObject({ count: 10, bytes: 1000 })
        const entries = await collect(store.scan(wholeRing()))
        expect(entries).toHaveLength(10)
        expect(entries.reduce((n, e) => n + e.size, 0)).toBe(1000)
      })
    })
  })
}

function key(n: bigint): Id {
  return Id.fromBigInt(n)
}

/** The whole ring, clockwise from zero. */
function wholeRing(): KeyRange {
  return { from: ID_ZERO, to: ID_MAX }
}

/** `n` deterministic bytes; `seed` tells values of the same length apart. */
function bytes(n: number, seed = 0): Uint8Array {
  return new Rng(`block-${seed}`).bytes(n)
}

async function collect(it: AsyncIterable<BlockEntry>): Promise<BlockEntry[]> {
  const out: BlockEntry[] = []
  for await (const e of it) out.push(e)
  return out
}

function hexes(entries: BlockEntry[]): string[] {
  return entries.map((e) => e.key.hex)
}

async function rejectsWith(p: Promise<unknown>, code: EpostErrorCode): Promise<void> {
  const outcome = await p.then(
    (value: unknown) => ({ value }),
    (error: unknown) => ({ error }),
  )
  if (!('error' in outcome)) throw new Error(`expected a rejection with ${code}, but it resolved`)
  const err = outcome.error
  expect(isEpostError(err, code), `expected ${code}, got ${err instanceof Error ? `${(err as { code?: string }).code ?? err.name}: ${err.message}` : String(err)}`).toBe(true)
}
