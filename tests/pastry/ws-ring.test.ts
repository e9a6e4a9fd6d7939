import { describe, expect, it } from 'vitest'
import { Id } from '@epost/core'
import { WsRing } from '@epost/harness'
import type { WsMember } from '@epost/harness'

const SEED = Number(process.env['EPOST_TEST_SEED'] ?? 4242)

async function routeMany(ring: WsRing, count: number): Promise<{ delivered: number; correct: number; wrong: string[] }> {
  const live = ring.live()
  let delivered = 0
  let correct = 0
  const wrong: string[] = []
  // In batches, so that the sockets carry many routes at once without unbounded bursts.
  for (let done = 0; done < count; done += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, count - done) }, async () => {
        const key = Id.random((n) => ring.rng.bytes(n))
        const from = ring.rng.pick(live)
        const at: WsMember | undefined = await ring.lookup(from, key)
        if (at === undefined) return
        delivered++
        if (at === ring.rootOf(key)) correct++
        else wrong.push(key.hex)
      }),
    )
  }
  return { delivered, correct, wrong }
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (cond()) return true
    await new Promise((r) => setTimeout(r, 50))
  }
  return cond()
}

describe(`Pastry over WebSockets on 127.0.0.1 (seed ${SEED})`, () => {
  it('30 nodes route 1,000 keys to the right root, lose 5 at once, repair, and do it again', async () => {
    await using ring = new WsRing({ seed: SEED, pastry: { leafProbeIntervalMs: 1_000, rtoInitialMs: 300 } })
    for (let i = 0; i < 30; i++) await ring.add()
    expect(ring.live().every((m) => m.node.ready)).toBe(true)

    const first = await routeMany(ring, 1000)
    expect(first.wrong).toEqual([])
    expect(first).toMatchObject({ delivered: 1000, correct: 1000 })

    const victims = ring.rng.shuffle([...ring.live()]).slice(0, 5)
    await Promise.all(victims.map((v) => ring.kill(v)))
    const dead = new Set(victims.map((v) => v.node.localHandle.id.hex))
    // Repair: every survivor's leaf set is full again and names no dead node.
    const repaired = await waitFor(
      () => ring.live().every((m) => m.node.leafSet.size === 16 && m.node.leafSet.members().every((h) => !dead.has(h.id.hex))),
      30_000,
    )
    expect(repaired).toBe(true)

    const second = await routeMany(ring, 1000)
    expect(second.wrong).toEqual([])
    expect(second).toMatchObject({ delivered: 1000, correct: 1000 })
  }, 120_000)
})
