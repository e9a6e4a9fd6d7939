import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ID_MAX, ID_ZERO, Id, RING_SIZE, Rng, inRange, isEpostError } from '@epost/core'
import type { BlockEntry, BlockMeta, BlockStore } from '@epost/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { lmdbStore } from './lmdb/index.js'
import { memoryStore } from './memory/index.js'

/**
 * Both stores against a plain model (a Map and a sort), on random sequences of operations: one
 * operation at a time, and all issued at once (the store must apply them in call order).
 */

const KEYS: Id[] = [ID_ZERO, Id.fromBigInt(1n), Id.fromBigInt(RING_SIZE / 3n), Id.fromBigInt(RING_SIZE / 2n), Id.fromBigInt(RING_SIZE - 2n), ID_MAX]

type Op =
  | { t: 'put'; k: number; size: number; seed: number; meta: BlockMeta | undefined }
  | { t: 'delete'; k: number }
  | { t: 'setMeta'; k: number; meta: BlockMeta }
  | { t: 'get'; k: number }
  | { t: 'has'; k: number }
  | { t: 'getMeta'; k: number }
  | { t: 'scan'; from: number; to: number; limit: number | undefined }

const keyIdx = fc.integer({ min: 0, max: KEYS.length - 1 })
const meta: fc.Arbitrary<BlockMeta> = fc.dictionary(
  fc.constantFrom('type', 'seq', 'owner', 'x'),
  fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 })),
  { maxKeys: 3 },
)
const writeOp: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ t: fc.constant('put' as const), k: keyIdx, size: fc.integer({ min: 0, max: 400 }), seed: fc.nat(1000), meta: fc.option(meta, { nil: undefined }) }),
  fc.record({ t: fc.constant('delete' as const), k: keyIdx }),
  fc.record({ t: fc.constant('setMeta' as const), k: keyIdx, meta }),
)
const anyOp: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: writeOp, weight: 3 },
  fc.record({ t: fc.constant('get' as const), k: keyIdx }),
  fc.record({ t: fc.constant('has' as const), k: keyIdx }),
  fc.record({ t: fc.constant('getMeta' as const), k: keyIdx }),
  fc.record({ t: fc.constant('scan' as const), from: keyIdx, to: keyIdx, limit: fc.option(fc.integer({ min: 0, max: 7 }), { nil: undefined }) }),
)
const quota = fc.option(fc.integer({ min: 0, max: 1500 }), { nil: undefined })

const value = (size: number, seed: number): Uint8Array => new Rng(`model-${seed}`).bytes(size)

class Model {
  readonly blocks = new Map<string, { key: Id; value: Uint8Array; meta: BlockMeta | undefined }>()
  constructor(readonly quotaBytes: number) {}

  get bytes(): number {
    let n = 0
    for (const b of this.blocks.values()) n += b.value.length
    return n
  }

  /** The outcome the store must give: a value, or 'full' for EPOST_STORE_FULL. */
  apply(op: Op): unknown {
    const key = KEYS[op.t === 'scan' ? op.from : op.k] as Id
    const b = this.blocks.get(key.hex)
    switch (op.t) {
      case 'put': {
        const v = value(op.size, op.seed)
        const grow = v.length - (b?.value.length ?? 0)
        if (grow > 0 && this.bytes + grow > this.quotaBytes) return 'full'
        this.blocks.set(key.hex, { key, value: v, meta: op.meta })
        return undefined
      }
      case 'delete':
        return this.blocks.delete(key.hex)
      case 'setMeta':
        if (b === undefined) return false
        b.meta = op.meta
        return true
      case 'get':
        return b?.value
      case 'has':
        return b !== undefined
      case 'getMeta':
        return b?.meta
      case 'scan': {
        const range = { from: key, to: KEYS[op.to] as Id }
        const hits = [...this.blocks.values()].filter((e) => inRange(e.key, range))
        hits.sort((x, y) => (range.from.cwDistance(x.key) < range.from.cwDistance(y.key) ? -1 : 1))
        return hits.slice(0, op.limit ?? hits.length).map((e) => ({ key: e.key.hex, size: e.value.length, meta: e.meta }))
      }
    }
  }
}

function run(store: BlockStore, op: Op): Promise<unknown> {
  const key = KEYS[op.t === 'scan' ? op.from : op.k] as Id
  switch (op.t) {
    case 'put':
      return store.put(key, value(op.size, op.seed), op.meta)
    case 'delete':
      return store.delete(key)
    case 'setMeta':
      return store.setMeta(key, op.meta)
    case 'get':
      return store.get(key)
    case 'has':
      return store.has(key)
    case 'getMeta':
      return store.getMeta(key)
    case 'scan':
      return (async () => {
        const out: Array<{ key: string; size: number; meta: BlockEntry['meta'] }> = []
        for await (const e of store.scan({ from: key, to: KEYS[op.to] as Id }, { limit: op.limit })) {
          out.push({ key: e.key.hex, size: e.size, meta: e.meta })
        }
        return out
      })()
  }
}

/** A store's outcome in the model's terms: EPOST_STORE_FULL becomes 'full', other errors throw. */
function outcome(p: Promise<unknown>): Promise<unknown> {
  return p.catch((err: unknown) => {
    if (isEpostError(err, 'EPOST_STORE_FULL')) return 'full'
    throw err
  })
}

async function expectSameState(store: BlockStore, model: Model): Promise<void> {
  expect(store.stats()).toEqual({ count: model.blocks.size, bytes: model.bytes, quotaBytes: model.quotaBytes })
  const all = await run(store, { t: 'scan', from: 0, to: KEYS.length - 1, limit: undefined })
  expect(all).toEqual(model.apply({ t: 'scan', from: 0, to: KEYS.length - 1, limit: undefined }))
  for (const [i] of KEYS.entries()) expect(await store.get(KEYS[i] as Id)).toEqual(model.apply({ t: 'get', k: i }))
}

interface Kind {
  name: string
  runs: number
  open(quotaBytes: number | undefined): Promise<{ store: BlockStore; close(): Promise<void> }>
}

const kinds: Kind[] = [
  {
    name: 'memory',
    runs: 200,
    open: async (quotaBytes) => {
      const store = memoryStore({ quotaBytes })
      return { store, close: () => store.stop() }
    },
  },
  {
    name: 'lmdb',
    runs: 30,
    open: async (quotaBytes) => {
      const dir = await mkdtemp(join(tmpdir(), 'epost-model-'))
      const store = lmdbStore({ path: dir, quotaBytes })
      return {
        store,
        close: async () => {
          await store.stop()
          await rm(dir, { recursive: true, force: true })
        },
      }
    },
  },
]

describe.each(kinds)('$name store against the model', (kind) => {
  it('agrees one operation at a time', async () => {
    await fc.assert(
      fc.asyncProperty(quota, fc.array(anyOp, { maxLength: 30 }), async (quotaBytes, ops) => {
        const { store, close } = await kind.open(quotaBytes)
        try {
          await store.start()
          const model = new Model(quotaBytes ?? Number.POSITIVE_INFINITY)
          for (const op of ops) {
            expect(await outcome(run(store, op))).toEqual(model.apply(op))
            expect(store.stats()).toMatchObject({ count: model.blocks.size, bytes: model.bytes })
          }
          await expectSameState(store, model)
        } finally {
          await close()
        }
      }),
      { numRuns: kind.runs },
    )
  })

  it('agrees when every write is issued at once', async () => {
    await fc.assert(
      fc.asyncProperty(quota, fc.array(writeOp, { maxLength: 30 }), async (quotaBytes, ops) => {
        const { store, close } = await kind.open(quotaBytes)
        try {
          await store.start()
          const model = new Model(quotaBytes ?? Number.POSITIVE_INFINITY)
          const outcomes = await Promise.all(ops.map((op) => outcome(run(store, op))))
          expect(outcomes).toEqual(ops.map((op) => model.apply(op)))
          await expectSameState(store, model)
        } finally {
          await close()
        }
      }),
      { numRuns: kind.runs },
    )
  })
})
