import { describe, expect, it } from 'vitest'
import { Id, RealClock, Rng, VirtualClock, createMetrics, handleToWire } from '@epost/core'
import { pack } from '@epost/codec'
import { TestOverlayNetwork } from '@epost/compliance'
import type { TestOverlayNode } from '@epost/compliance'
import type { NodeHandle } from '@epost/core'
import { ScribeNode, keyTopic, scribeProtocol, topicId } from './index.js'
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

describe(`Scribe tree upkeep on a virtual clock (seed ${SEED})`, () => {
  const HB = 1_000
  const setup = (n: number, maxChildren: number, seed: number) => {
    const rng = new Rng(seed)
    const clock = new VirtualClock()
    const net = new TestOverlayNetwork()
    const overlays = Array.from({ length: n }, () => net.add(Id.random((k) => rng.bytes(k))))
    const nodes = overlays.map((overlay) => new ScribeNode({ heartbeatMs: HB, maxChildren }, { overlay, clock }))
    for (const s of nodes) s.start()
    return { clock, net, nodes }
  }
  const depthOf = (nodes: ScribeNode[], s: ScribeNode, topic: Id): number => {
    let d = 0
    for (let at: ScribeNode | undefined = s; at?.info(topic)?.root === false && d < 50; d++) {
      const p: NodeHandle | undefined = at.info(topic)?.parent
      at = nodes.find((x): boolean => p !== undefined && x.endpoint.localHandle.id.equals(p.id))
    }
    return d
  }
  /** A subscribe from `subscriber` passing through `at` on its way to the root (next hop `next`): false if `at` took it. */
  const subscribeThrough = (at: ScribeNode, topic: Id, subscriber: NodeHandle, next: NodeHandle, avoid?: Id): boolean =>
    at.forward({
      key: topic,
      payload: scribeProtocol.encode('subscribe', { topic: topic.bytes, subscriber: handleToWire(subscriber), known: [], avoid: avoid?.bytes }),
      nextHop: next,
      source: subscriber,
      hops: 1,
    })

  it('caps fan-out: a full root pushes subscribers down, every member still gets every publish once', async () => {
    const { clock, nodes } = setup(30, 2, SEED + 2)
    const topic = topicId('fan-out')
    const got = new Map<ScribeNode, number[]>()
    const members = nodes.slice(0, 20)
    for (const s of members) s.subscribe(topic, { deliver: (_t, p) => got.set(s, [...(got.get(s) ?? []), p[0] as number]) })
    await clock.advance(5 * HB)
    for (const s of nodes) expect(s.info(topic)?.children.length ?? 0).toBeLessThanOrEqual(2)
    expect(Math.max(...members.map((s) => depthOf(nodes, s, topic)))).toBeGreaterThan(2)
    for (let i = 0; i < 5; i++) nodes[25]?.publish(topic, Uint8Array.of(i))
    await clock.advance(HB)
    for (const s of members) expect(got.get(s)).toEqual([0, 1, 2, 3, 4])
  })

  it('replays what a cut-off subtree missed once it re-subscribes, without duplicates', async () => {
    const { clock, net, nodes } = setup(30, 2, SEED + 3)
    const topic = topicId('replay')
    const got = new Map<ScribeNode, number[]>()
    const members = nodes.slice(0, 20)
    for (const s of members) s.subscribe(topic, { deliver: (_t, p) => got.set(s, [...(got.get(s) ?? []), p[0] as number]) })
    await clock.advance(5 * HB)
    // Crash an interior member (not the root), then publish at once: its subtree misses it.
    const victim = members.find((s) => s.info(topic)?.root === false && (s.info(topic)?.children.length ?? 0) > 0) as ScribeNode
    expect(victim).toBeDefined()
    victim.stop()
    net.kill(victim.endpoint.localHandle.id)
    const survivors = members.filter((s) => s !== victim)
    for (let i = 0; i < 3; i++) nodes[25]?.publish(topic, Uint8Array.of(i))
    await clock.advance(HB / 10)
    expect(survivors.some((s) => (got.get(s)?.length ?? 0) < 3)).toBe(true)
    // Within two heartbeat periods the orphans are back (1.2 periods of silence + one check).
    await clock.advance(2 * HB)
    for (const s of survivors) expect(got.get(s)).toEqual([0, 1, 2])
    for (let i = 3; i < 5; i++) nodes[25]?.publish(topic, Uint8Array.of(i))
    await clock.advance(HB)
    for (const s of survivors) expect(got.get(s)).toEqual([0, 1, 2, 3, 4])
  })

  it('a node below the parent a subscriber lost passes its subscribe on instead of adopting it', async () => {
    // maxChildren 1: the members form a chain, so the deepest one has every other as an ancestor.
    const { clock, nodes } = setup(12, 1, SEED + 10)
    const topic = topicId('avoid')
    const members = nodes.slice(0, 6)
    for (const s of members) s.subscribe(topic, { deliver: () => {} })
    await clock.advance(5 * HB)
    const deepest = members.reduce((a, b) => (depthOf(nodes, b, topic) > depthOf(nodes, a, topic) ? b : a))
    expect(depthOf(nodes, deepest, topic)).toBeGreaterThan(2)
    expect(deepest.info(topic)?.children).toEqual([])
    const lost = deepest.info(topic)?.parent as NodeHandle
    const [subscriber, other] = nodes.filter((s) => s.info(topic) === undefined).map((s) => s.endpoint.localHandle) as [NodeHandle, NodeHandle]
    const offer = (avoid: Id): boolean => subscribeThrough(deepest, topic, subscriber, other, avoid)
    // Cut off with the subscriber (its ancestor is the lost parent): on toward the root.
    expect(offer(lost.id)).toBe(true)
    expect(deepest.info(topic)?.children).toEqual([])
    // Any other lost parent is no reason to refuse: adopted here.
    expect(offer(other.id)).toBe(false)
    expect(deepest.info(topic)?.children.map((c) => c.id.hex)).toEqual([subscriber.id.hex])
  })

  it('a full node passes new subscribers on toward the root, but keeps a child that subscribes again through it', async () => {
    const { clock, nodes } = setup(12, 1, SEED + 11)
    const topic = topicId('full')
    const members = nodes.slice(0, 6)
    for (const s of members) s.subscribe(topic, { deliver: () => {} })
    await clock.advance(5 * HB)
    // maxChildren 1: a member with a child is full.
    const full = members.find((s) => s.info(topic)?.children.length === 1) as ScribeNode
    expect(full).toBeDefined()
    const child = full.info(topic)?.children[0] as NodeHandle
    const [stranger, other] = nodes.filter((s) => s.info(topic) === undefined).map((s) => s.endpoint.localHandle) as [NodeHandle, NodeHandle]
    const offer = (subscriber: NodeHandle): boolean => subscribeThrough(full, topic, subscriber, other)
    expect(offer(stranger)).toBe(true)
    expect(offer(child)).toBe(false)
    expect(full.info(topic)?.children.map((c) => c.id.hex)).toEqual([child.id.hex])
  })

  it('tells the parent when a child is gone', async () => {
    const { clock, net, nodes } = setup(10, 16, SEED + 4)
    const topic = topicId('failing')
    const rootOverlay = net.closest(topic, 1)[0] as { id: Id }
    const root = nodes.find((s) => s.endpoint.localHandle.id.equals(rootOverlay.id)) as ScribeNode
    const removed: string[] = []
    root.subscribe(topic, { deliver: () => {}, childRemoved: (_t, c) => removed.push(c.id.hex) })
    const child = nodes.find((s) => s !== root) as ScribeNode
    child.subscribe(topic, { deliver: () => {} })
    await clock.advance(HB)
    expect(root.info(topic)?.children.map((c) => c.id.hex)).toEqual([child.endpoint.localHandle.id.hex])
    child.stop()
    net.kill(child.endpoint.localHandle.id)
    await clock.advance(4 * HB)
    expect(removed).toEqual([child.endpoint.localHandle.id.hex])
    expect(root.info(topic)?.children).toEqual([])

  })

  it('tells the client when subscribes go unanswered, keeps trying, and joins once the root answers', async () => {
    const rng = new Rng(SEED + 6)
    const clock = new VirtualClock()
    const net = new TestOverlayNetwork()
    const overlays = Array.from({ length: 8 }, () => net.add(Id.random((k) => rng.bytes(k))))
    const topic = topicId('unanswered')
    const rootId = (net.closest(topic, 1)[0] as { id: Id }).id
    // Every node but the topic's root runs Scribe: subscribes routed there are dropped.
    const others = overlays.filter((o) => !o.localHandle.id.equals(rootId)).map((overlay) => new ScribeNode({ heartbeatMs: HB }, { overlay, clock }))
    for (const s of others) s.start()
    const failed: string[] = []
    const member = others[0] as ScribeNode
    member.subscribe(topic, { deliver: () => {}, subscribeFailed: (t) => failed.push(t.hex) })
    await clock.advance(60_000)
    expect(failed).toEqual([topic.hex])
    expect(member.info(topic)?.subscribing).toBe(true)
    const root = new ScribeNode({ heartbeatMs: HB }, { overlay: net.get(rootId) as TestOverlayNode, clock })
    root.start()
    await clock.advance(2 * HB)
    expect(member.info(topic)?.subscribing).toBe(false)
    expect(member.info(topic)?.parent?.id.equals(rootId)).toBe(true)
    expect(failed).toEqual([topic.hex])
  })

  it('anycast walks the tree nearest first, and reports failure when every member declines', async () => {
    const { clock, nodes } = setup(30, 2, SEED + 5)
    const topic = topicId('anycast-walk')
    const asked = new Map<ScribeNode, number>()
    const members = nodes.slice(0, 15)
    const taker = members[14] as ScribeNode
    let accept = true
    for (const s of members) {
      s.subscribe(topic, { deliver: () => {}, anycast: () => (asked.set(s, (asked.get(s) ?? 0) + 1), accept && s === taker) })
    }
    await clock.advance(5 * HB)
    const fails: number[] = []
    nodes[20]?.anycast(topic, Uint8Array.of(1), () => fails.push(1))
    await clock.advance(HB)
    expect(asked.get(taker)).toBe(1)
    expect(fails).toEqual([])
    for (const n of asked.values()) expect(n).toBe(1)
    asked.clear()
    accept = false
    nodes[20]?.anycast(topic, Uint8Array.of(2), () => fails.push(2))
    await clock.advance(HB)
    expect(fails).toEqual([2])
    expect([...asked.values()].every((n) => n === 1)).toBe(true)
    expect(asked.size).toBe(members.length)
  })
})

describe('topic ids', () => {
  it('differ by name and by key, and never collide between a name and a key of the same bytes', () => {
    const enc = new TextEncoder()
    expect(topicId('a').equals(topicId('b'))).toBe(false)
    expect(keyTopic(Uint8Array.of(1)).equals(keyTopic(Uint8Array.of(2)))).toBe(false)
    expect(keyTopic(enc.encode('a')).equals(topicId('a'))).toBe(false)
    expect(keyTopic(Uint8Array.of(7)).equals(keyTopic(Uint8Array.of(7)))).toBe(true)
  })
})

describe('bad input', () => {
  it('drops and counts malformed or forged-shape messages, and keeps serving', async () => {
    const rng = new Rng(SEED + 9)
    const clock = new VirtualClock()
    const net = new TestOverlayNetwork()
    const metrics = createMetrics()
    const nodes = Array.from({ length: 5 }, () => new ScribeNode({}, { overlay: net.add(Id.random((k) => rng.bytes(k))), clock, metrics }))
    const topic = topicId('bad-input')
    const got: number[] = []
    nodes[0]?.subscribe(topic, { deliver: (_t, p) => got.push(p[0] as number) })
    await clock.advance(100)
    const from = nodes[1]?.endpoint.localHandle as NodeHandle
    const garbage = [Uint8Array.of(0xc1), new Uint8Array(64).fill(0xff), pack([1, 'epost/scribe/1', 5, { topic: 'not-bytes' }]), pack([1, 'epost/scribe/1', 99, {}]), pack([1, 'epost/scribe/1', 2, { topic: new Uint8Array(16), path: new Uint8Array(17) }])]
    for (const payload of garbage) nodes[0]?.deliver({ key: undefined, payload, source: from, from, hops: 1 })
    expect(metrics.snapshot()['epost_scribe_malformed_total']).toBe(garbage.length)
    nodes[3]?.publish(topic, Uint8Array.of(42))
    await clock.advance(100)
    expect(got).toEqual([42])
  })
})
