import { describe, expect, it } from 'vitest'
import { Id, Rng, VirtualClock, handle } from '@epost/core'
import type { FrameHandler, NodeHandle, Transport, TransportStats } from '@epost/core'
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

describe('PastryNode routing through spares', () => {
  const at = (hex: string, address: string): NodeHandle => handle(Id.fromHex(hex.padEnd(32, '0')), address)

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
})
