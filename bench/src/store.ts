import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ID_ZERO, Id, Rng } from '@epost/core'
import type { BlockStore } from '@epost/core'
import { lmdbStore } from '@epost/store/lmdb'
import { memoryStore } from '@epost/store/memory'
import type { BenchSection, Figure } from './harness.js'
import { opsPerSecond } from './harness.js'

/** Keys the put and get loops cycle through (overwrites keep the LMDB file at POOL x size). */
const KEY_POOL = 1024
/** Puts issued together, then awaited together (one LMDB transaction and fsync, mostly). */
const BATCH = 64
/** Entries in the store that the scan rate is measured on. */
const SCAN_ENTRIES = 10_000

const section: BenchSection = {
  title: 'store',
  async run({ quick }) {
    const figures: Figure[] = []
    const rng = new Rng('bench-store')
    const keys = Array.from({ length: KEY_POOL }, () => Id.random((n) => rng.bytes(n)))
    const dir = await mkdtemp(join(tmpdir(), 'epost-bench-store-'))
    try {
      const kinds: Array<[string, (sub: string) => BlockStore]> = [
        ['lmdb', (sub) => lmdbStore({ path: join(dir, sub) })],
        ['memory', () => memoryStore()],
      ]
      for (const [kind, make] of kinds) {
        for (const size of [1024, 64 * 1024]) {
          const store = make(`kv-${size}`)
          await store.start()
          try {
            figures.push(...(await putsAndGets(kind, store, keys, size, quick)))
          } finally {
            await store.stop()
          }
        }
        const store = make('scan')
        await store.start()
        try {
          figures.push(await scanRate(kind, store, rng, quick))
        } finally {
          await store.stop()
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
    return figures
  },
}

async function putsAndGets(kind: string, store: BlockStore, keys: Id[], size: number, quick: boolean): Promise<Figure[]> {
  const value = new Rng(`value-${size}`).bytes(size)
  const label = size >= 1024 ? `${size / 1024} KiB` : `${size} B`
  let i = 0
  const nextKey = (): Id => keys[i++ % keys.length] as Id
  await Promise.all(keys.map((k) => store.put(k, value, { type: 'content-hash' }))) // every get hits
  const sequential = await opsPerSecond(() => store.put(nextKey(), value, { type: 'content-hash' }), { quick })
  const batches = await opsPerSecond(() => Promise.all(Array.from({ length: BATCH }, () => store.put(nextKey(), value, { type: 'content-hash' }))), { quick })
  const gets = await opsPerSecond(() => store.get(nextKey()), { quick })
  const durable = kind === 'lmdb' ? 'durable (fsync) before resolving' : 'in memory'
  return [
    { section: 'store', name: `${kind} put ${label}, one at a time`, value: sequential, unit: 'puts/s', note: `each awaited; ${durable}` },
    { section: 'store', name: `${kind} put ${label}, ${BATCH} concurrent`, value: batches * BATCH, unit: 'puts/s', note: `${BATCH} issued, then awaited together` },
    { section: 'store', name: `${kind} get ${label}`, value: gets, unit: 'gets/s', note: `random keys of ${keys.length}, all present` },
  ]
}

async function scanRate(kind: string, store: BlockStore, rng: Rng, quick: boolean): Promise<Figure> {
  const value = new Uint8Array(100)
  for (let i = 0; i < SCAN_ENTRIES; i += 500) {
    await Promise.all(Array.from({ length: 500 }, (_, j) => store.put(Id.random((n) => rng.bytes(n)), value, { type: 'content-hash', seq: i + j })))
  }
  const whole = { from: ID_ZERO, to: ID_ZERO.add(-1n) }
  const scans = await opsPerSecond(
    async () => {
      let n = 0
      for await (const _ of store.scan(whole)) n++
      if (n !== SCAN_ENTRIES) throw new Error(`scan saw ${n} of ${SCAN_ENTRIES} entries`)
    },
    { quick, rounds: quick ? 3 : 5 },
  )
  return { section: 'store', name: `${kind} scan whole ring`, value: scans * SCAN_ENTRIES, unit: 'entries/s', note: `${SCAN_ENTRIES} entries with metadata` }
}

export default section
