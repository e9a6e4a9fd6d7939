import { describe, expect, it } from 'vitest'
import { Id, RealClock, Rng, createMetrics } from '@epost/core'
import { TestOverlayNetwork } from '@epost/compliance'
import { signingKeyPairFromSeed } from '@epost/crypto'
import { memoryStore } from '@epost/store/memory'
import { PastNode, contentBlock } from './index.js'

const SEED = Number(process.env['EPOST_TEST_SEED'] ?? 9)
const K = 3

describe(`PAST replica upkeep (seed ${SEED})`, () => {
  it('brings every block back to its k closest live nodes after crashes and joins', async () => {
    const rng = new Rng(SEED)
    const ca = signingKeyPairFromSeed(rng.bytes(32))
    const net = new TestOverlayNetwork()
    const clock = new RealClock()
    const metrics = createMetrics()
    const nodes: PastNode[] = []
    const add = async (): Promise<PastNode> => {
      const store = memoryStore()
      await store.start()
      const p = new PastNode({ replicas: K, lookupTimeoutMs: 200, replicateTimeoutMs: 300 }, { overlay: net.add(Id.random((b) => rng.bytes(b))), store, clock, caPublicKey: ca.publicKey, metrics })
      nodes.push(p)
      return p
    }
    for (let i = 0; i < 12; i++) await add()
    const handles: Id[] = []
    for (let i = 0; i < 40; i++) handles.push((await (nodes[i % nodes.length] as PastNode).insert(contentBlock(rng.bytes(64)))).handle)

    // Crash one replica of every block at once... (the closest node to the first block, and two others)
    const alive = (p: PastNode): boolean => net.get(p.endpoint.localHandle.id)?.alive === true
    for (const p of nodes.slice(0, 3)) net.kill(p.endpoint.localHandle.id)
    // ... and let three new nodes join.
    for (let i = 0; i < 3; i++) await add()
    await Promise.all(nodes.filter(alive).map((p) => p.upkeepRound()))

    const byId = new Map(nodes.map((p) => [p.endpoint.localHandle.id.hex, p]))
    for (const h of handles) {
      const replicas = net.closest(h, K).map((x) => byId.get(x.id.hex) as PastNode)
      expect(await Promise.all(replicas.map((p) => p.store.has(h)))).toEqual([true, true, true])
    }
    const snap = metrics.snapshot()
    expect(snap['epost_past_upkeep_pulled_total']).toBeGreaterThan(0)
    // Upkeep moved digests and the blocks that were missing, not everything held.
    expect(snap['epost_past_upkeep_bytes_total']).toBeLessThan(40 * K * 200 + 15 * 15 * 2000)

    // A graceful leave hands everything off first: the invariant holds without an upkeep round.
    const live = nodes.filter(alive)
    const holdings = await Promise.all(live.map(async (p) => (await Promise.all(handles.map((h) => p.store.has(h)))).filter(Boolean).length))
    const leaver = live[holdings.indexOf(Math.max(...holdings))] as PastNode
    expect(await leaver.handOff()).toBeGreaterThan(0)
    net.kill(leaver.endpoint.localHandle.id)
    for (const h of handles) {
      const replicas = net.closest(h, K).map((x) => byId.get(x.id.hex) as PastNode)
      expect(await Promise.all(replicas.map((p) => p.store.has(h)))).toEqual([true, true, true])
    }
  })
})
