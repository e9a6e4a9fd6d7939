import { describe, expect, it } from 'vitest'
import { ScribeNode, topicId } from '@epost/scribe'
import { SimRing } from './sim-ring.js'
import type { SimMember } from './sim-ring.js'

const SEED = Number(process.env['EPOST_TEST_SEED'] ?? 21)

describe(`Scribe on Pastry in the simulator (seed ${SEED})`, () => {
  it('builds a tree along the routes, delivers once to every member, and repairs after interior nodes crash', async () => {
    const ring = new SimRing({ seed: SEED })
    await ring.build(150, 50)
    await ring.clock.advance(30_000)
    const scribes = new Map<SimMember, ScribeNode>()
    for (const m of ring.liveReady()) {
      const s = new ScribeNode({ heartbeatMs: 5_000 }, { overlay: m.node, clock: ring.clock, metrics: ring.metrics })
      s.start()
      scribes.set(m, s)
    }
    const topic = topicId('presence:alice@example.org')
    const members = [...scribes.keys()].slice(0, 40)
    const got = new Map<SimMember, number[]>()
    for (const m of members) scribes.get(m)?.subscribe(topic, { deliver: (_t, p) => got.set(m, [...(got.get(m) ?? []), p[0] as number]) })
    await ring.clock.advance(10_000)
    const publisherMember = [...scribes.keys()][120] as SimMember
    const publisher = scribes.get(publisherMember) as ScribeNode
    const allGotTen = (): boolean => members.every((m) => got.get(m)?.length === 10)
    for (let i = 0; i < 10; i++) publisher.publish(topic, Uint8Array.of(i))
    await ring.clock.runUntilTrue(allGotTen, 60_000)
    await ring.clock.advance(5_000) // and nothing more arrives (no duplicates)
    for (const m of members) expect(got.get(m)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    // A real tree: some members hang below forwarders, not the root.
    const root = [...scribes.values()].find((s) => s.info(topic)?.root === true)
    expect(root).toBeDefined()
    const interior = [...scribes.entries()].filter(([, s]) => !(s.info(topic)?.root ?? true) && (s.info(topic)?.children.length ?? 0) > 0)
    expect(interior.length).toBeGreaterThan(0)

    // Crash up to 5 interior nodes that are not members themselves: their subtrees re-subscribe.
    const victims = interior.filter(([m]) => !members.includes(m) && m !== publisherMember).slice(0, 5)
    expect(victims.length).toBeGreaterThan(0)
    for (const [m, s] of victims) {
      s.stop()
      scribes.delete(m)
      await ring.crash(m)
    }
    // Publish at once, while the orphaned subtrees are cut off: they get what they missed replayed
    // by their new parents once they re-subscribe (within two heartbeat periods), exactly once.
    got.clear()
    for (let i = 0; i < 10; i++) publisher.publish(topic, Uint8Array.of(i))
    await ring.clock.advance(2 * 5_000 + 5_000)
    expect(members.filter((m) => got.get(m)?.length !== 10)).toEqual([])
    await ring.clock.advance(5_000)
    for (const m of members) expect(got.get(m)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    // Orphaned subtrees came back by re-subscribing (their members kept their membership).
    expect(ring.metrics.snapshot()['epost_scribe_resubscribed_total']).toBeGreaterThan(0)
    expect(ring.metrics.snapshot()['epost_scribe_replayed_total']).toBeGreaterThan(0)
    for (const s of scribes.values()) s.stop()
    await ring.stop()
  })
})
