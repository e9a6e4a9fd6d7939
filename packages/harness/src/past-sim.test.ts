import { describe, expect, it } from 'vitest'
import { Id } from '@epost/core'
import { memoryStore } from '@epost/store/memory'
import { PastNode, contentBlock } from '@epost/past'
import { SimRing } from './sim-ring.js'
import type { SimMember } from './sim-ring.js'

const SEED = Number(process.env['EPOST_TEST_SEED'] ?? 77)

describe(`PAST on Pastry in the simulator (seed ${SEED})`, () => {
  it('keeps every block readable when k-1 nodes of its replica set crash at once', async () => {
    const ring = new SimRing({ seed: SEED })
    await ring.build(40, 50)
    await ring.clock.advance(30_000)
    const pasts = new Map<SimMember, PastNode>()
    for (const m of ring.liveReady()) {
      const store = memoryStore()
      await store.start()
      pasts.set(m, new PastNode({ replicas: 5 }, { overlay: m.node, store, clock: ring.clock, caPublicKey: ring.ca.keyPair.publicKey, metrics: ring.metrics }))
    }
    const members = [...pasts.keys()]
    const handles: Id[] = []
    for (let i = 0; i < 30; i++) {
      const p = pasts.get(ring.rng.pick(members)) as PastNode
      const insert = p.insert(contentBlock(ring.rng.bytes(100 + i)))
      let done: { handle: Id; stored: number } | undefined
      void insert.then((r) => (done = r))
      expect(await ring.clock.runUntilTrue(() => done !== undefined, 60_000)).toBe(true)
      expect(done?.stored).toBe(5)
      handles.push((done as { handle: Id }).handle)
    }
    // Crash 4 of the 5 replicas of the first block (the worst case for it).
    for (const v of ring.closest(handles[0] as Id, 4)) await ring.crash(v)
    await ring.clock.advance(60_000)
    const reader = pasts.get(ring.liveReady()[0] as SimMember) as PastNode
    for (const h of handles) {
      let got: unknown
      void reader.lookup(h).then((b) => (got = b), (e: unknown) => (got = e))
      expect(await ring.clock.runUntilTrue(() => got !== undefined, 120_000)).toBe(true)
      expect(got).toMatchObject({ kind: 'content' })
    }
    await ring.stop()
  })

  it('ends lookups early: at a replica on the route, or at a cached copy', async () => {
    const ring = new SimRing({ seed: SEED + 1 })
    await ring.build(60, 50)
    await ring.clock.advance(30_000)
    const pasts: PastNode[] = []
    for (const m of ring.liveReady()) {
      const store = memoryStore()
      await store.start()
      pasts.push(new PastNode({ replicas: 5 }, { overlay: m.node, store, clock: ring.clock, caPublicKey: ring.ca.keyPair.publicKey, metrics: ring.metrics }))
    }
    let handle: Id | undefined
    void (pasts[0] as PastNode).insert(contentBlock(ring.rng.bytes(500))).then((r) => (handle = r.handle))
    expect(await ring.clock.runUntilTrue(() => handle !== undefined, 60_000)).toBe(true)
    for (let round = 0; round < 2; round++) {
      for (const p of pasts.slice(1, 31)) {
        let got: unknown
        void p.lookup(handle as Id).then((b) => (got = b), (e: unknown) => (got = e))
        expect(await ring.clock.runUntilTrue(() => got !== undefined, 60_000)).toBe(true)
        expect(got).toMatchObject({ kind: 'content' })
      }
    }
    expect(ring.metrics.snapshot()['epost_past_cache_hits_total']).toBeGreaterThan(0)
    // Some lookups ended at a replica on the route before the root (PAST's nearest replica).
    expect(ring.metrics.snapshot()['epost_past_replica_on_path_total']).toBeGreaterThan(0)
    await ring.stop()
  })
})
