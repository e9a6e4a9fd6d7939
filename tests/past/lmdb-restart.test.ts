import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Id } from '@epost/core'
import { WsRing } from '@epost/harness'
import type { WsMember } from '@epost/harness'
import { PastNode, contentBlock } from '@epost/past'
import { lmdbStore } from '@epost/store/lmdb'

const SEED = Number(process.env['EPOST_TEST_SEED'] ?? 31)

describe(`PAST on LMDB over WebSockets (seed ${SEED})`, () => {
  it('a node restarted on its LMDB directory comes back with its blocks and serves them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'epost-past-'))
    await using ring = new WsRing({ seed: SEED, pastry: { leafProbeIntervalMs: 1_000, rtoInitialMs: 300 } })
    const pasts = new Map<WsMember, PastNode>()
    const attach = async (m: WsMember, i: number): Promise<PastNode> => {
      const store = lmdbStore({ path: join(dir, `node-${i}`) })
      await store.start()
      const p = new PastNode({ replicas: 3 }, { overlay: m.node, store, clock: ring.clock, caPublicKey: ring.ca.keyPair.publicKey, metrics: ring.metrics })
      pasts.set(m, p)
      return p
    }
    try {
      for (let i = 0; i < 8; i++) await attach(await ring.add(), i)
      const writer = pasts.get(ring.live()[0] as WsMember) as PastNode
      const handles: Id[] = []
      for (let i = 0; i < 20; i++) handles.push((await writer.insert(contentBlock(ring.rng.bytes(300)))).handle)

      // Stop the node holding the most blocks, as a process would stop, and start it again on the
      // same directory, credentials and port.
      const members = ring.live()
      const held = await Promise.all(members.map(async (m) => (await Promise.all(handles.map((h) => (pasts.get(m) as PastNode).store.has(h)))).filter(Boolean).length))
      const idx = held.indexOf(Math.max(...held))
      const victim = members[idx] as WsMember
      const before = await Promise.all(handles.map((h) => (pasts.get(victim) as PastNode).store.has(h)))
      expect(before.filter(Boolean).length).toBeGreaterThan(0)
      await ring.kill(victim)
      await (pasts.get(victim) as PastNode).store.stop()
      pasts.delete(victim)

      const back = await ring.add(victim)
      const p = await attach(back, idx)
      await p.start() // indexes what the store holds
      const after = await Promise.all(handles.map((h) => p.store.has(h)))
      expect(after).toEqual(before)
      expect(back.node.localHandle.id.equals(victim.node.localHandle.id)).toBe(true)

      // Every block is readable from another node.
      const reader = (): PastNode => pasts.get(ring.live().find((m) => m !== back && m.alive) as WsMember) as PastNode
      for (const h of handles) expect((await reader().lookup(h)).kind).toBe('content')

      // And the restarted node serves its own: kill every other holder of one of its blocks, and
      // that block is still read (from the restarted node, the only copy left).
      const h = handles[after.indexOf(true)] as Id
      for (const m of ring.live()) if (m !== back && (await (pasts.get(m) as PastNode).store.has(h))) await ring.kill(m)
      expect((await reader().lookup(h)).kind).toBe('content')
      p.stop()
    } finally {
      for (const p of pasts.values()) await p.store.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)
})
