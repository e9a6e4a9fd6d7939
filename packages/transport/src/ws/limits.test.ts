import { afterEach, describe, expect, it } from 'vitest'
import { VirtualClock, createMetrics, isEpostError } from '@epost/core'
import type { Metrics, NodeHandle } from '@epost/core'
import { testPki } from '../test-support/pki.js'
import type { TestPki } from '../test-support/pki.js'
import { rawListen } from '../test-support/raw-peer.js'
import { until } from '../test-support/real-io.js'
import { wsTransport } from './index.js'
import type { WsTransport, WsTransportInit } from './index.js'

const cleanup: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f()
})

async function node(pki: TestPki, init: WsTransportInit = {}, extra: { metrics?: Metrics; clock?: VirtualClock } = {}): Promise<WsTransport> {
  const t = wsTransport({ closeGraceMs: 200, ...init })({ credentials: pki.node().credentials, verifier: pki.verifier, ...extra })
  await t.start()
  cleanup.push(() => t.stop())
  return t
}

function inbox(t: WsTransport): Array<{ from: NodeHandle; data: Uint8Array }> {
  const got: Array<{ from: NodeHandle; data: Uint8Array }> = []
  t.onFrame((from, data) => got.push({ from, data }))
  return got
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p
  } catch (err) {
    return isEpostError(err) ? err.code : String(err)
  }
  return undefined
}

describe('ws transport: connection pool', () => {
  it('keeps at most maxConns connections, evicting the least recently used idle one', async () => {
    const pki = testPki()
    const metrics = createMetrics()
    const server = await node(pki, { maxConns: 2 }, { metrics })
    const got = inbox(server)
    const clients = [await node(pki), await node(pki), await node(pki)]
    for (const [i, c] of clients.entries()) {
      await c.send(server.localHandle, Uint8Array.of(i))
      await until(() => got.length === i + 1, `frame ${i} to arrive`)
      expect(server.stats().openConnections).toBeLessThanOrEqual(2)
    }
    await until(() => clients[0]?.stats().openConnections === 0, 'the oldest client to be evicted')
    expect(metrics.snapshot()['epost_transport_evictions_total']).toBe(1)
    // The evicted client just dials again.
    await clients[0]?.send(server.localHandle, Uint8Array.of(9))
    await until(() => got.length === 4, 'the evicted client to get through again')
    expect(server.stats().openConnections).toBe(2)
    expect(got.map((g) => g.data[0])).toEqual([0, 1, 2, 9])
  })

  it('refuses a new connection with EPOST_TRANSPORT_CONN_LIMIT when every connection is busy', async () => {
    const pki = testPki()
    const slow = await rawListen({ credentials: pki.node().credentials, verifier: pki.verifier }, { pauseAfterHandshake: true })
    cleanup.push(() => slow.close())
    const metrics = createMetrics()
    const a = await node(pki, { maxConns: 1, highWaterMarkBytes: 64 * 1024 }, { metrics })
    const b = await node(pki)
    const pending = fillUntilBlocked(a, slow.handle, metrics)
    await until(() => (metrics.snapshot()['epost_transport_blocked_sends'] ?? 0) >= 1, 'a send to block on back-pressure')
    expect(await codeOf(a.send(b.localHandle, Uint8Array.of(1)))).toBe('EPOST_TRANSPORT_CONN_LIMIT')
    void pending.catch(() => {})
  })

  it('keeps one connection per pair when both nodes dial each other at once', async () => {
    const pki = testPki()
    const a = await node(pki)
    const b = await node(pki)
    const gotA = inbox(a)
    const gotB = inbox(b)
    const sends: Array<Promise<void>> = []
    for (let k = 0; k < 20; k++) sends.push(a.send(b.localHandle, Uint8Array.of(k)), b.send(a.localHandle, Uint8Array.of(k)))
    await Promise.all(sends)
    await until(() => gotA.length === 20 && gotB.length === 20, 'every frame to arrive')
    await until(() => a.stats().openConnections === 1 && b.stats().openConnections === 1, 'one connection each way')
    await a.send(b.localHandle, Uint8Array.of(99))
    await until(() => gotB.length === 21, 'a frame on the surviving connection')
  })
})

describe('ws transport: back-pressure', () => {
  it('stalls sends to a slow reader instead of buffering without bound, and resumes on drain', async () => {
    const pki = testPki()
    const slow = await rawListen({ credentials: pki.node().credentials, verifier: pki.verifier }, { pauseAfterHandshake: true })
    cleanup.push(() => slow.close())
    const metrics = createMetrics()
    const hwm = 256 * 1024
    const frameBytes = 64 * 1024
    const a = await node(pki, { highWaterMarkBytes: hwm }, { metrics })
    const target = slow.handle
    const state = { sent: 0, stop: false }
    const loop = (async () => {
      while (!state.stop) {
        await a.send(target, new Uint8Array(frameBytes))
        state.sent++
      }
    })()
    await until(() => (metrics.snapshot()['epost_transport_blocked_sends'] ?? 0) === 1, 'the sender to stall', 30_000)
    // Stalled: what the transport holds is bounded by the high-water mark plus one frame.
    expect(a.pendingBytes).toBeLessThanOrEqual(hwm + frameBytes)
    const stalledAt = state.sent

    // A send that waits can be abandoned.
    const ctl = new AbortController()
    const abandoned = a.send(target, new Uint8Array(frameBytes), { signal: ctl.signal })
    await until(() => metrics.snapshot()['epost_transport_blocked_sends'] === 2, 'the second send to wait')
    ctl.abort()
    expect(await codeOf(abandoned)).toBe('EPOST_ABORTED')
    expect(metrics.snapshot()['epost_transport_blocked_sends']).toBe(1)

    state.stop = true
    const reader = slow.peers[0]
    reader?.ws.resume()
    await loop
    expect(state.sent).toBe(stalledAt + 1)
    await until(() => (reader?.received.length ?? 0) === state.sent, 'the reader to catch up', 30_000)
  })
})

describe('ws transport: reconnects and failures', () => {
  it('fails promptly with EPOST_TRANSPORT_UNREACHABLE, then reaches the peer again after it restarts on the same port', async () => {
    const pki = testPki()
    const a = await node(pki)
    const bCreds = pki.node().credentials
    const b = wsTransport({ closeGraceMs: 200 })({ credentials: bCreds, verifier: pki.verifier })
    await b.start()
    const gotB = inbox(b)
    const bHandle = b.localHandle
    await a.send(bHandle, Uint8Array.of(1))
    await until(() => gotB.length === 1, 'the first frame')
    await b.stop()
    await until(() => a.stats().openConnections === 0, 'a to notice the close')
    expect(await codeOf(a.send(bHandle, Uint8Array.of(2)))).toBe('EPOST_TRANSPORT_UNREACHABLE')

    const port = Number(new URL(bHandle.address).port)
    const b2 = wsTransport({ port, closeGraceMs: 200 })({ credentials: bCreds, verifier: pki.verifier })
    await b2.start()
    cleanup.push(() => b2.stop())
    expect(b2.localHandle.address).toBe(bHandle.address)
    const gotB2 = inbox(b2)
    await a.send(bHandle, Uint8Array.of(3))
    await until(() => gotB2.length === 1, 'the frame after the restart')
    expect(gotB2[0]?.from.id.equals(a.localHandle.id)).toBe(true)
  })

  it('rejects an address that is not a WebSocket URL with EPOST_TRANSPORT_UNREACHABLE', async () => {
    const pki = testPki()
    const a = await node(pki)
    expect(await codeOf(a.send({ id: a.localHandle.id.add(1n), address: 'sim:4' }, Uint8Array.of(1)))).toBe('EPOST_TRANSPORT_UNREACHABLE')
  })

  it('drops a peer on reject() and lets it reconnect later', async () => {
    const pki = testPki()
    const a = await node(pki)
    const b = await node(pki)
    const gotB = inbox(b)
    await a.send(b.localHandle, Uint8Array.of(1))
    await until(() => gotB.length === 1, 'the first frame')
    b.reject(a.localHandle.id, 'malformed frame — «reason» '.repeat(20))
    await until(() => a.stats().openConnections === 0 && b.stats().openConnections === 0, 'the connection to close')
    expect(b.stats().peersRejected).toBe(1)
    await a.send(b.localHandle, Uint8Array.of(2))
    await until(() => gotB.length === 2, 'the frame after reconnecting')
  })

  it('closes idle connections after idleTimeoutMs of the injected clock', async () => {
    const pki = testPki()
    const clock = new VirtualClock(Date.now())
    const a = await node(pki, { idleTimeoutMs: 60_000 }, { clock })
    const b = await node(pki)
    const gotB = inbox(b)
    await a.send(b.localHandle, Uint8Array.of(1))
    await until(() => gotB.length === 1 && b.stats().openConnections === 1, 'the frame')
    await clock.advance(30_000)
    expect(a.stats().openConnections).toBe(1)
    await clock.advance(60_000)
    await until(() => a.stats().openConnections === 0 && b.stats().openConnections === 0, 'the idle connection to close')
  })

  it('sends to itself without a socket', async () => {
    const pki = testPki()
    const a = await node(pki)
    const got = inbox(a)
    await a.send(a.localHandle, Uint8Array.of(5))
    await until(() => got.length === 1, 'the frame to itself')
    expect(got[0]?.from.id.equals(a.localHandle.id)).toBe(true)
    expect(await codeOf(a.send({ id: a.localHandle.id.add(1n), address: a.localHandle.address }, Uint8Array.of(1)))).toBe('EPOST_TRANSPORT_PEER_MISMATCH')
  })

  it('refuses to start with a certificate the CA does not vouch for', async () => {
    const pki = testPki()
    const t = wsTransport()({ credentials: testPki().node().credentials, verifier: pki.verifier })
    expect(await codeOf(t.start())).toBe('EPOST_TRANSPORT_AUTH_FAILED')
    await t.stop()
  })
})

async function fillUntilBlocked(a: WsTransport, target: NodeHandle, metrics: Metrics): Promise<void> {
  while ((metrics.snapshot()['epost_transport_blocked_sends'] ?? 0) === 0) await a.send(target, new Uint8Array(64 * 1024))
}
