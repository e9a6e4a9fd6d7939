import { describe, expect, it } from 'vitest'
import { Id, RealClock, Rng } from '@epost/core'
import { TestOverlayNetwork } from '@epost/compliance'
import { ScribeNode, topicId } from './index.js'
import type { ScribeClient } from './index.js'

const SEED = Number(process.env['EPOST_TEST_SEED'] ?? 12)
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20))

describe(`Scribe over the test overlay (seed ${SEED})`, () => {
  it('delivers every publish once to every member, and stops after unsubscribe', async () => {
    const rng = new Rng(SEED)
    const net = new TestOverlayNetwork()
    const nodes = Array.from({ length: 20 }, () => new ScribeNode({}, { overlay: net.add(Id.random((n) => rng.bytes(n))), clock: new RealClock() }))
    const topic = topicId('alice@example.org')
    const got = new Map<ScribeNode, number>()
    const client = (n: ScribeNode): ScribeClient => ({ deliver: () => got.set(n, (got.get(n) ?? 0) + 1) })
    const members = nodes.slice(0, 10)
    for (const n of members) n.subscribe(topic, client(n))
    await settle()
    for (let i = 0; i < 5; i++) nodes[15]?.publish(topic, Uint8Array.of(i))
    await settle()
    expect(members.map((n) => got.get(n))).toEqual(new Array(10).fill(5))
    for (const n of members.slice(0, 3)) n.unsubscribe(topic)
    await settle()
    nodes[15]?.publish(topic, Uint8Array.of(9))
    await settle()
    expect(members.map((n) => got.get(n))).toEqual([5, 5, 5, 6, 6, 6, 6, 6, 6, 6])
  })

  it('anycasts to exactly one member that accepts', async () => {
    const rng = new Rng(SEED + 1)
    const net = new TestOverlayNetwork()
    const nodes = Array.from({ length: 12 }, () => new ScribeNode({}, { overlay: net.add(Id.random((n) => rng.bytes(n))), clock: new RealClock() }))
    const topic = topicId('anycast')
    const took: ScribeNode[] = []
    for (const n of nodes.slice(0, 6)) n.subscribe(topic, { deliver: () => {}, anycast: () => (took.push(n), true) })
    await settle()
    nodes[10]?.anycast(topic, Uint8Array.of(1))
    await settle()
    expect(took).toHaveLength(1)
  })
})
