import { afterEach, describe, expect, it } from 'vitest'
import { createMetrics, isEpostError } from '@epost/core'
import type { Metrics, NodeCredentials, NodeHandle } from '@epost/core'
import { randomBytes, sign } from '@epost/crypto'
import { testPki } from '../test-support/pki.js'
import type { TestPki } from '../test-support/pki.js'
import { rawConnect, rawDial, rawListen } from '../test-support/raw-peer.js'
import type { RawPeer } from '../test-support/raw-peer.js'
import { until } from '../test-support/real-io.js'
import { CLOSE } from './connection.js'
import { wsTransport } from './index.js'
import type { WsTransport } from './index.js'

const MAX_FRAME = 64 * 1024

interface Bed {
  pki: TestPki
  server: WsTransport
  metrics: Metrics
  got: Array<{ from: NodeHandle; data: Uint8Array }>
  honest: WsTransport
  honestCredentials: NodeCredentials
}

const cleanup: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f()
})

async function bed(): Promise<Bed> {
  const pki = testPki()
  const metrics = createMetrics()
  const server = wsTransport({ maxFrameBytes: MAX_FRAME, closeGraceMs: 200 })({ credentials: pki.node().credentials, verifier: pki.verifier, metrics })
  const honestCredentials = pki.node().credentials
  const honest = wsTransport({ maxFrameBytes: MAX_FRAME, closeGraceMs: 200 })({ credentials: honestCredentials, verifier: pki.verifier })
  await Promise.all([server.start(), honest.start()])
  cleanup.push(() => server.stop(), () => honest.stop())
  const got: Bed['got'] = []
  server.onFrame((from, data) => got.push({ from, data }))
  return { pki, server, metrics, got, honest, honestCredentials }
}

/** The server still serves an honest node after whatever happened. */
async function stillServes(b: Bed, tag: number): Promise<void> {
  const before = b.got.length
  await b.honest.send(b.server.localHandle, Uint8Array.of(tag))
  await until(() => b.got.length === before + 1, 'the honest frame to arrive')
  const last = b.got[b.got.length - 1] as Bed['got'][number]
  expect(last.from.id.equals(b.honest.localHandle.id)).toBe(true)
  expect(last.data[0]).toBe(tag)
}

async function expectRefused(b: Bed, peer: RawPeer, rejectedBefore: number, closeCodes: number[]): Promise<void> {
  const code = await peer.closed
  expect(closeCodes).toContain(code)
  await until(() => b.server.stats().peersRejected === rejectedBefore + 1, 'the rejection to be counted')
  expect(b.metrics.snapshot()['epost_transport_rejected_total']).toBe(rejectedBefore + 1)
  expect(b.server.stats().openConnections).toBeLessThanOrEqual(1)
}

describe('ws transport: forged handshakes', () => {
  it('refuses a wrong signature, a foreign CA, an expired certificate and an impostor, and keeps serving', async () => {
    const b = await bed()
    const target = b.server.localHandle
    const genuine = b.pki.node()
    const now = Date.now()
    const forgeries: Array<[string, NodeCredentials]> = [
      ['garbage signature', { ...genuine.credentials, sign: () => randomBytes(64) }],
      ['certificate from another CA', testPki().node().credentials],
      ['expired certificate', b.pki.node({ issuedAt: now - 2 * 86_400_000, expiresAt: now - 86_400_000 }).credentials],
      // Claims the honest node's id (its certificate) but can only sign with its own key.
      ['impostor', { id: b.honestCredentials.id, certificate: b.honestCredentials.certificate, sign: (m) => sign(genuine.keyPair.privateKey, m) }],
    ]
    let rejected = 0
    for (const [what, credentials] of forgeries) {
      const peer = await rawDial(target.address, { credentials, verifier: b.pki.verifier }, target.id)
      await expectRefused(b, peer, rejected, [CLOSE.authFailed])
      rejected++
      await stillServes(b, rejected)
      expect(b.got.every((g) => g.from.id.equals(b.honest.localHandle.id)), what).toBe(true)
    }
  })

  it('refuses to send to a listener whose certificate does not check out, and counts it', async () => {
    const b = await bed()
    const stranger = testPki()
    const node = stranger.node()
    // It accepts our certificate but presents one from another CA.
    const fake = await rawListen({ credentials: node.credentials, verifier: b.pki.verifier })
    cleanup.push(() => fake.close())
    const before = b.server.stats().peersRejected
    let err: unknown
    await b.server.send({ id: node.credentials.id, address: fake.address }, Uint8Array.of(1)).catch((e: unknown) => (err = e))
    expect(isEpostError(err, 'EPOST_TRANSPORT_AUTH_FAILED')).toBe(true)
    expect(b.server.stats().peersRejected).toBe(before + 1)
    await stillServes(b, 9)
  })
})

describe('ws transport: malformed traffic', () => {
  it('disconnects and counts a text frame, garbage and an oversized frame before the handshake', async () => {
    const b = await bed()
    const addr = b.server.localHandle.address
    const text = await rawConnect(addr)
    text.ws.send('HELO')
    await expectRefused(b, text, 0, [CLOSE.malformed])
    const garbage = await rawConnect(addr)
    garbage.ws.send(randomBytes(300))
    await expectRefused(b, garbage, 1, [CLOSE.malformed])
    const huge = await rawConnect(addr)
    huge.ws.send(new Uint8Array(MAX_FRAME + 1))
    await expectRefused(b, huge, 2, [1009])
    await stillServes(b, 1)
  })

  it('disconnects and counts a text frame, an oversized frame and broken framing after the handshake', async () => {
    const b = await bed()
    const target = b.server.localHandle
    let rejected = 0
    for (const misbehave of [
      (p: RawPeer) => p.ws.send('not binary'),
      (p: RawPeer) => p.ws.send(new Uint8Array(MAX_FRAME + 1)),
      // An invalid WebSocket opcode straight onto the TCP stream.
      (p: RawPeer) => (p.ws as unknown as { _socket: { write(b: Uint8Array): void } })._socket.write(Uint8Array.of(0x83, 0x80, 0, 0, 0, 0)),
    ]) {
      const peer = await rawDial(target.address, { credentials: b.pki.node().credentials, verifier: b.pki.verifier }, target.id)
      expect(peer.isClosed).toBe(false)
      peer.ws.send(Uint8Array.of(7, 7, 7))
      await until(() => b.got.length === 1 + rejected * 2, 'the raw peer frame to arrive')
      misbehave(peer)
      await expectRefused(b, peer, rejected, [CLOSE.malformed, 1009, 1002])
      rejected++
      await stillServes(b, rejected)
    }
  })

  it('cuts an inbound peer that never finishes the handshake, and counts it', async () => {
    const pki = testPki()
    const server = wsTransport({ handshakeTimeoutMs: 100 })({ credentials: pki.node().credentials, verifier: pki.verifier })
    await server.start()
    cleanup.push(() => server.stop())
    const silent = await rawConnect(server.localHandle.address)
    expect(await silent.closed).toBe(CLOSE.handshakeTimeout)
    expect(server.stats().peersRejected).toBe(1)
  })

  it('refuses upgrades beyond maxPendingHandshakes with HTTP 503', async () => {
    const pki = testPki()
    const metrics = createMetrics()
    const server = wsTransport({ maxPendingHandshakes: 1 })({ credentials: pki.node().credentials, verifier: pki.verifier, metrics })
    await server.start()
    cleanup.push(() => server.stop())
    const first = await rawConnect(server.localHandle.address)
    await until(() => metrics.snapshot()['epost_transport_refused_upgrades_total'] === 0 && !first.isClosed, 'the first socket to be accepted')
    let err: unknown
    await rawConnect(server.localHandle.address).catch((e: unknown) => (err = e))
    expect(String(err)).toMatch(/503/)
    expect(metrics.snapshot()['epost_transport_refused_upgrades_total']).toBe(1)
    first.ws.terminate()
  })
})
