import { describe, expect, it } from 'vitest'
import { schema } from '@epost/codec'
import { Id, Rng, VirtualClock, handle, handleToWire } from '@epost/core'
import type { FrameHandler, NodeHandle, Transport, TransportStats } from '@epost/core'
import { HOLD_TIMEOUT_MS } from './constants.js'
import { pastryProtocol } from './messages.js'
import { pastry } from './node.js'

const SEED = Number(process.env['EPOST_TEST_SEED'] ?? 17)

/** A transport the test drives by hand: it records what the node sends and delivers what the test says. */
class ScriptedTransport implements Transport {
  readonly maxFrameBytes = 1 << 20
  readonly sent: Array<{ to: NodeHandle; data: Uint8Array }> = []
  #handler: FrameHandler | undefined

  constructor(readonly localHandle: NodeHandle) {}

  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async send(to: NodeHandle, data: Uint8Array): Promise<void> {
    this.sent.push({ to, data })
  }
  onFrame(handler: FrameHandler): void {
    this.#handler = handler
  }
  reject(): void {}
  stats(): TransportStats {
    return { framesSent: this.sent.length, framesReceived: 0, bytesSent: 0, bytesReceived: 0, peersRejected: 0, openConnections: 0 }
  }
  deliver(from: NodeHandle, data: Uint8Array): void {
    this.#handler?.(from, data)
  }
}

function setup(seed: number) {
  const rng = new Rng(seed)
  const clock = new VirtualClock()
  const self = handle(Id.random((n) => rng.bytes(n)), 'test:self')
  const peer = handle(Id.random((n) => rng.bytes(n)), 'test:peer')
  const transport = new ScriptedTransport(self)
  const node = pastry({})({ transport, clock, rng })
  return { clock, peer, transport, node }
}

describe(`PastryNode liveness checks (seed ${SEED})`, () => {
  it('declares dead a peer that stays silent through every probe of a check', async () => {
    const { clock, peer, node } = setup(SEED)
    await node.start()
    const check = node.check(peer, false, 'test')
    await clock.advance(30_000)
    expect(await check).toBeUndefined()
    expect(node.liveness.status(peer.id)).toBe('dead')
    await node.stop()
  })

  it('does not declare dead a slow peer whose late reply arrives while the check still runs', async () => {
    const { clock, peer, transport, node } = setup(SEED)
    await node.start()
    const check = node.check(peer, false, 'test')
    await clock.advance(10)
    const first = transport.sent.map((s) => pastryProtocol.decodeBytes(s.data)).find((m) => m.name === 'probe')
    expect(first?.name).toBe('probe')
    const nonce = first?.name === 'probe' ? first.body.nonce : -1
    // The reply to the first probe comes after its timeout (RTO 1 s before any sample): too late
    // for that probe, but proof that the peer is alive. The later probes go unanswered.
    await clock.advance(1_500)
    transport.deliver(peer, pastryProtocol.encode('probeReply', { nonce, ready: true }))
    await clock.advance(30_000)
    expect(await check).toBeUndefined()
    expect(node.liveness.status(peer.id)).not.toBe('dead')
    await node.stop()
  })
})

/** A handle whose id starts with `hex` (zeros after it). */
const at = (hex: string, address: string): NodeHandle => handle(Id.fromHex(hex.padEnd(32, '0')), address)

/** A started node with id 1000…, on a scripted transport. */
async function startedAtOne() {
  const clock = new VirtualClock()
  const transport = new ScriptedTransport(at('1', 'test:self'))
  const node = pastry({})({ transport, clock, rng: new Rng(SEED) })
  await node.start()
  return { clock, transport, node }
}

describe('PastryNode routing through spares', () => {

  function nodeWith(cellSpares?: number) {
    const clock = new VirtualClock()
    const self = at('1', 'test:self')
    const transport = new ScriptedTransport(self)
    const node = pastry(cellSpares === undefined ? {} : { cellSpares })({ transport, clock, rng: new Rng(SEED) })
    // Row 0, column a: an entry far from the key, and a spare right next to it.
    node.table.consider(at('a0', 'test:entry'), 10)
    node.table.noteSpare(at('a5000000000000000000000000000001', 'test:spare'), clock.now())
    return node
  }
  const key = Id.fromHex('a5'.padEnd(32, '0'))

  it('goes straight to a spare next to the key, and to the entry once the spare is found forged', () => {
    const node = nodeWith()
    expect(node.nextHop(key)?.address).toBe('test:spare')
    node.liveness.markForged(at('a5000000000000000000000000000001', 'test:spare'))
    expect(node.nextHop(key)?.address).toBe('test:entry')
  })

  it('keeps Pastry’s plain rule with spares turned off', () => {
    expect(nodeWith(0).nextHop(key)?.address).toBe('test:entry')
  })

  it('looks across the cell’s edge: the root of a key at the end of a cell may lie in the next', () => {
    const node = nodeWith()
    const edge = Id.fromHex('af'.padEnd(32, 'f'))
    // Within the key's own cell (column a) the closest known node is the spare at a5..01, far
    // from this key; the next cell (column b) holds a node right past the edge.
    node.table.noteSpare(at('b0000000000000000000000000000002', 'test:next-spare'), 0)
    expect(node.nextHop(edge)?.address).toBe('test:next-spare')
    // The next cell's entry counts as well, when it is the closest.
    node.table.consider(at('b0000000000000000000000000000001', 'test:next-entry'), 10)
    expect(node.nextHop(edge)?.address).toBe('test:next-entry')
    // A key in the middle of its cell still goes to its own cell's spare.
    expect(node.nextHop(key)?.address).toBe('test:spare')
  })
})

describe('PastryNode row fetches', () => {

  it('asks a deep row’s entry for its leaf set too, and keeps its members as spares without probing them', async () => {
    const { clock, transport, node } = await startedAtOne()
    const entry = at('1a', 'test:entry')
    node.table.consider(entry, 10)
    // The entry's leaf set: nodes of its cell (row 1, column a), the one region of the ring where
    // a spare can lie next to a key this node routes through that cell.
    const neighbours = ['1a01', '1a02', '1a03'].map((x) => at(x, `test:${x}`))
    node.membership.fetchRow(entry, 1)
    await clock.advance(1)
    const sent = transport.sent.map((s) => ({ to: s.to, m: pastryProtocol.decodeBytes(s.data) }))
    const ask = sent.find((s) => s.m.name === 'probe')
    expect(ask?.to.address).toBe('test:entry')
    expect(ask?.m.body).toMatchObject({ row: 1, leafSet: true })
    const nonce = ask?.m.name === 'probe' ? ask.m.body.nonce : -1
    transport.deliver(entry, pastryProtocol.encode('probeReply', { nonce, ready: true, leafSet: schema.handlesToWire(neighbours), row: schema.handlesToWire([]), rtts: new Uint8Array(0) }))
    await clock.advance(1)
    expect(node.table.spares(1, 10).map((x) => x.address).sort()).toEqual(['test:1a01', 'test:1a02', 'test:1a03'])
    // Spares cost no probe: only the row request went out.
    expect(transport.sent.length).toBe(sent.length)
    // Row 0 entries are not asked: their leaf sets lie in cells of thousands of nodes.
    node.table.consider(at('5', 'test:row0'), 10)
    node.membership.fetchRow(at('5', 'test:row0'), 0)
    await clock.advance(1)
    const row0 = pastryProtocol.decodeBytes((transport.sent.at(-1) as { data: Uint8Array }).data)
    expect(row0.body).toMatchObject({ row: 0, leafSet: false })
    await node.stop()
  })
})

describe('PastryNode measuring an announced node by an echo', () => {
  it('answers an announcement with a nonce to echo, measures the round trip of the echo, and takes the node into its table if it is closer', async () => {
    const { clock, transport, node } = await startedAtOne()
    // A full leaf set (the newcomer is no candidate for it); row 0, column a holds an entry
    // 200 ms away, and a ready node of that cell announces itself.
    for (let i = 1; i <= 8; i++) {
      node.leafSet.add(at(`100${i}`, `test:cw${i}`))
      node.leafSet.add(at(`0ff${i}`, `test:ccw${i}`))
    }
    node.table.consider(at('a0', 'test:entry'), 200)
    const newcomer = at('a7', 'test:newcomer')
    const stranger = at('b1', 'test:stranger')
    transport.deliver(newcomer, pastryProtocol.encode('probe', { nonce: 5, leafSet: false, row: 0, announce: true }))
    await clock.advance(0)
    const sent = transport.sent.map((s) => ({ to: s.to.address, m: pastryProtocol.decodeBytes(s.data) }))
    // One frame: the reply, with a nonce to echo; no probe of our own.
    expect(sent.map((s) => `${s.m.name}>${s.to}`)).toEqual(['probeReply>test:newcomer'])
    const reply = sent[0]?.m
    const echo = reply?.name === 'probeReply' ? reply.body.echo : undefined
    expect(echo).toBeTypeOf('number')
    // An echo from anyone else measures nothing.
    await clock.advance(10)
    transport.deliver(stranger, pastryProtocol.encode('echo', { nonce: echo as number }))
    expect(node.liveness.rtt(newcomer.id)).toBeUndefined()
    await clock.advance(20)
    transport.deliver(newcomer, pastryProtocol.encode('echo', { nonce: echo as number }))
    await clock.advance(0)
    expect(node.liveness.rtt(newcomer.id)).toBe(30)
    expect(node.table.get(0, 10)?.handle.address).toBe('test:newcomer')
    await node.stop()
  })

  it('echoes the nonce of a probe reply straight back', async () => {
    const { clock, transport, node } = await startedAtOne()
    const entry = at('a0', 'test:entry')
    transport.deliver(entry, pastryProtocol.encode('probeReply', { nonce: 1, ready: true, echo: 42 }))
    const sent = transport.sent.map((s) => ({ to: s.to.address, m: pastryProtocol.decodeBytes(s.data) }))
    expect(sent).toEqual([{ to: 'test:entry', m: { name: 'echo', body: { nonce: 42 } } }])
    await node.stop()
  })
})

describe('PastryNode handing on what it held while joining', () => {
  const route = (mid: number, from: NodeHandle): Uint8Array => pastryProtocol.encode('route', { mid, key: Id.fromHex('1'.padEnd(32, '1')).bytes, source: handleToWire(from), hops: 1, app: 'test/app', payload: Uint8Array.of(mid) })

  it('keeps held messages for an application that registers after the node is ready, and drops them if none does in time', async () => {
    const { clock, transport, node } = await startedAtOne()
    const peer = at('5', 'test:peer')
    // Not ready, and root of the key (it knows no one): both are held.
    transport.deliver(peer, route(1, peer))
    transport.deliver(peer, route(2, peer))
    expect(node.stats().held).toBe(2)
    node.becomeReady()
    await clock.advance(1)
    // Released, but no application yet: they wait for it.
    const got: number[] = []
    node.register('test/app', { deliver: (m) => void got.push(m.payload[0] as number) })
    expect(got).toEqual([1, 2])
    // Held again for another application that never registers: dropped after the hold timeout.
    const other = await startedAtOne()
    other.transport.deliver(peer, route(3, peer))
    other.node.becomeReady()
    await other.clock.advance(HOLD_TIMEOUT_MS)
    other.node.releaseStaleHeld()
    expect(other.node.metrics.snapshot()['epost_pastry_route_dropped_total']).toBe(1)
    other.node.register('test/app', { deliver: (m) => void got.push(m.payload[0] as number) })
    expect(got).toEqual([1, 2])
    await node.stop()
    await other.node.stop()
  })
})

describe('PastryNode offering a candidate that is being checked', () => {
  it('takes it into the leaf set when the check already running answers', async () => {
    const { clock, transport, node } = await startedAtOne()
    const peer = at('11', 'test:peer')
    const check = node.check(peer, false, 'test')
    const probe = pastryProtocol.decodeBytes((transport.sent.at(-1) as { data: Uint8Array }).data)
    const nonce = probe.name === 'probe' ? probe.body.nonce : -1
    // Offered while that check runs: no second probe, and the leaf set (short: it wants anyone) waits for the answer.
    node.membership.offer([peer])
    expect(transport.sent).toHaveLength(1)
    transport.deliver(peer, pastryProtocol.encode('probeReply', { nonce, ready: true }))
    await clock.advance(1)
    expect(await check).toMatchObject({ ready: true })
    expect(node.leafSet.has(peer.id)).toBe(true)
    await node.stop()
  })
})
