import { Id, Rng, VirtualClock } from '@epost/core'
import type { NodeCredentials, NodeHandle } from '@epost/core'
import { createCertificateVerifier, createNodeCredentials, generateSigningKeyPair, issueNodeCertificate } from '@epost/crypto'
import { SimNetwork } from '@epost/transport/sim'
import type { SimTransport } from '@epost/transport/sim'
import { wsTransport } from '@epost/transport/ws'
import type { WsTransport, WsTransportInit } from '@epost/transport/ws'
import type { BenchSection, Figure } from './harness.js'
import { median, quantile } from './harness.js'

const SIZES = [100, 16 * 1024]

function pki(): { verifier: ReturnType<typeof createCertificateVerifier>; node(): NodeCredentials } {
  const ca = generateSigningKeyPair()
  const now = Date.now()
  return {
    verifier: createCertificateVerifier(ca.publicKey),
    node() {
      const kp = generateSigningKeyPair()
      return createNodeCredentials(kp, issueNodeCertificate(ca, { publicKey: kp.publicKey, issuedAt: now - 60_000, expiresAt: now + 3_600_000 }))
    },
  }
}

/** Resolves when `count()` reaches `n`, checking once per event-loop turn. */
function reach(count: () => number, n: number): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (count() >= n) resolve()
      else setImmediate(check)
    }
    check()
  })
}

async function wsPair(init: WsTransportInit = {}): Promise<[WsTransport, WsTransport]> {
  const p = pki()
  const a = wsTransport(init)({ credentials: p.node(), verifier: p.verifier })
  const b = wsTransport(init)({ credentials: p.node(), verifier: p.verifier })
  await Promise.all([a.start(), b.start()])
  return [a, b]
}

/** Ping-pong: A sends, B echoes, A waits for the echo. Microseconds per round trip. */
async function roundTrips(a: WsTransport, b: WsTransport, size: number, n: number): Promise<number[]> {
  b.onFrame((from, data) => void b.send(from, data))
  let resolveEcho: () => void = () => {}
  a.onFrame(() => resolveEcho())
  const frame = new Uint8Array(size)
  const out: number[] = []
  const warmup = 500
  for (let i = 0; i < n + warmup; i++) {
    const echoed = new Promise<void>((r) => (resolveEcho = r))
    const t0 = performance.now()
    await a.send(b.localHandle, frame)
    await echoed
    if (i >= warmup) out.push((performance.now() - t0) * 1000)
  }
  return out
}

/** One way: A sends `n` frames back to back (awaiting each send, i.e. back-pressure), B counts. */
async function oneWay(a: WsTransport, b: WsTransport, size: number, n: number): Promise<number> {
  let got = 0
  b.onFrame(() => got++)
  const frame = new Uint8Array(size)
  const t0 = performance.now()
  for (let i = 0; i < n; i++) await a.send(b.localHandle, frame)
  await reach(() => got, n)
  return (n * 1000) / (performance.now() - t0)
}

function fakeCredentials(rng: Rng): NodeCredentials {
  return { id: Id.random((k) => rng.bytes(k)), certificate: new Uint8Array(0), sign: () => new Uint8Array(0) }
}

/**
 * Routing-like load on the simulator: `starts` frames each hop `hops` times between random
 * nodes (each delivery sends the next hop from inside the frame handler).
 */
async function simRun(nodes: number, starts: number, hops: number): Promise<{ framesPerSecond: number; heapPerNodeBytes: number; attachMs: number }> {
  const clock = new VirtualClock()
  const rng = new Rng(42)
  const pick = rng.fork('traffic')
  global.gc?.()
  const heap0 = process.memoryUsage().heapUsed
  const t0 = performance.now()
  const network = new SimNetwork({ clock, rng, jitterMs: 2 })
  const ts: SimTransport[] = []
  for (let i = 0; i < nodes; i++) ts.push(network.createTransport({ credentials: fakeCredentials(rng) }))
  const handles: NodeHandle[] = ts.map((t) => t.localHandle)
  let delivered = 0
  for (const t of ts) {
    t.onFrame((_from, data) => {
      delivered++
      const left = data[0] as number
      if (left > 0) {
        data[0] = left - 1
        void t.send(handles[pick.int(nodes)] as NodeHandle, data)
      }
    })
  }
  await Promise.all(ts.map((t) => t.start()))
  const attachMs = performance.now() - t0
  const heapPerNodeBytes = (process.memoryUsage().heapUsed - heap0) / nodes
  const payload = new Uint8Array(200)
  const total = starts * (hops + 1)
  const t1 = performance.now()
  for (let i = 0; i < starts; i++) {
    payload[0] = hops
    await (ts[pick.int(nodes)] as SimTransport).send(handles[pick.int(nodes)] as NodeHandle, payload)
  }
  await clock.runUntilTrue(() => delivered >= total, 10_000_000)
  const seconds = (performance.now() - t1) / 1000
  if (delivered !== total) throw new Error(`sim bench delivered ${delivered} of ${total} frames`)
  return { framesPerSecond: total / seconds, heapPerNodeBytes, attachMs }
}

const section: BenchSection = {
  title: 'transport',
  async run({ quick }) {
    const figures: Figure[] = []
    const rounds = quick ? 1 : 3
    for (const size of SIZES) {
      for (const maskFrames of size > 1000 ? [true, false] : [true]) {
        const p50s: number[] = []
        const p99s: number[] = []
        const rates: number[] = []
        for (let r = 0; r < rounds; r++) {
          const [a, b] = await wsPair({ maskFrames })
          try {
            const rtt = await roundTrips(a, b, size, quick ? 300 : 3000)
            p50s.push(quantile(rtt, 0.5))
            p99s.push(quantile(rtt, 0.99))
            rates.push(await oneWay(a, b, size, quick ? 2000 : size > 1000 ? 20_000 : 100_000))
          } finally {
            await Promise.all([a.stop(), b.stop()])
          }
        }
        const tag = maskFrames ? '' : ' unmasked'
        const note = `loopback, ${size} B frames${maskFrames ? '' : ', maskFrames: false'}, median of ${rounds} round(s)`
        figures.push(
          { section: 'transport', name: `ws round trip p50 ${size} B${tag}`, value: median(p50s), unit: 'µs', note },
          { section: 'transport', name: `ws round trip p99 ${size} B${tag}`, value: median(p99s), unit: 'µs', note },
          { section: 'transport', name: `ws one-way ${size} B${tag}`, value: median(rates), unit: 'msgs/s', note },
        )
      }
    }
    const runs = quick ? [{ nodes: 10_000, starts: 2_000, hops: 49 }] : [
      { nodes: 10_000, starts: 10_000, hops: 99 },
      { nodes: 100_000, starts: 10_000, hops: 99 },
    ]
    for (const { nodes, starts, hops } of runs) {
      const results = []
      for (let r = 0; r < (quick ? 1 : 3); r++) results.push(await simRun(nodes, starts, hops))
      const note = `${nodes.toLocaleString('en-US')} nodes, ${(starts * (hops + 1)).toLocaleString('en-US')} frames of 200 B, sphere latency + 2 ms jitter`
      figures.push(
        { section: 'transport', name: `sim frames/s (${nodes / 1000}k nodes)`, value: median(results.map((x) => x.framesPerSecond)), unit: 'frames/s', note },
        { section: 'transport', name: `sim heap per node (${nodes / 1000}k nodes)`, value: median(results.map((x) => x.heapPerNodeBytes)), unit: 'B', note: 'SimTransport + handle + credentials + position + handler closure' },
        { section: 'transport', name: `sim attach+start (${nodes / 1000}k nodes)`, value: median(results.map((x) => x.attachMs)), unit: 'ms', note: 'no verifier' },
      )
    }
    return figures
  },
}

export default section
