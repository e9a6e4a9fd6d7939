import { describe, expect, it } from 'vitest'
import { Rng, VirtualClock, isEpostError } from '@epost/core'
import type { NodeHandle } from '@epost/core'
import { SIM_SLAB_MAX_FRAME_BYTES } from '../constants.js'
import { fakeCredentials, fakeVerifier } from '../test-support/fake-credentials.js'
import { testSeed } from '../test-support/seed.js'
import { SimNetwork, constantLatency, planeLatency } from './index.js'
import type { SimNetworkInit, SimTransport } from './index.js'

interface Net {
  clock: VirtualClock
  rng: Rng
  network: SimNetwork
  nodes: SimTransport[]
  /** Frames received per node, as [arrival time, sender address, first byte]. */
  inbox: Array<Array<[number, string, number]>>
}

async function net(seed: number, n: number, init: Partial<SimNetworkInit> = {}): Promise<Net> {
  const clock = new VirtualClock()
  const rng = new Rng(seed)
  const network = new SimNetwork({ clock, rng, ...init })
  const nodes = Array.from({ length: n }, () => network.createTransport({ credentials: fakeCredentials(rng) }))
  const inbox = nodes.map((t) => {
    const box: Array<[number, string, number]> = []
    t.onFrame((from, data) => box.push([clock.now(), from.address, data[0] ?? -1]))
    return box
  })
  await Promise.all(nodes.map((t) => t.start()))
  return { clock, rng, network, nodes, inbox }
}

function node(x: Net, i: number): SimTransport {
  return x.nodes[i] as SimTransport
}

describe('SimNetwork', () => {
  it('delivers after exactly the base latency, never before', async () => {
    const x = await net(testSeed('latency'), 20)
    for (let i = 1; i < 20; i++) {
      const a = node(x, 0)
      const b = node(x, i)
      const lat = x.network.latency(a.localHandle.address, b.localHandle.address)
      expect(lat).toBeGreaterThanOrEqual(1)
      expect(lat).toBeLessThanOrEqual(200)
      expect(x.network.latency(b.localHandle.address, a.localHandle.address)).toBe(lat)
      const t0 = x.clock.now()
      await a.send(b.localHandle, Uint8Array.of(i))
      await x.clock.advance(lat - 1)
      expect(x.inbox[i]?.length).toBe(0)
      await x.clock.advance(1)
      expect(x.inbox[i]).toEqual([[t0 + lat, a.localHandle.address, i]])
    }
  })

  it('adds jitter within [0, jitterMs) on top of the base latency', async () => {
    const x = await net(testSeed('jitter'), 2, { jitterMs: 30 })
    const [a, b] = [node(x, 0), node(x, 1)]
    const lat = x.network.latency(a.localHandle.address, b.localHandle.address)
    const t0 = x.clock.now()
    for (let k = 0; k < 200; k++) await a.send(b.localHandle, Uint8Array.of(k))
    await x.clock.advance(lat + 31)
    const delays = (x.inbox[1] ?? []).map(([t]) => t - t0)
    expect(delays.length).toBe(200)
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(lat)
    expect(Math.max(...delays)).toBeLessThanOrEqual(lat + 30)
    expect(new Set(delays).size).toBeGreaterThan(10)
  })

  it('places nodes where asked and measures latency by distance', async () => {
    const clock = new VirtualClock()
    const network = new SimNetwork({ clock, rng: new Rng(1), latency: planeLatency({ minMs: 10, maxMs: 110 }) })
    const rng = new Rng(2)
    const a = network.createTransport({ credentials: fakeCredentials(rng), position: [0, 0] })
    const b = network.createTransport({ credentials: fakeCredentials(rng), position: [1, 1] })
    const c = network.createTransport({ credentials: fakeCredentials(rng), position: [0, 0] })
    expect(network.latency(a.localHandle.address, b.localHandle.address)).toBe(110)
    expect(network.latency(a.localHandle.address, c.localHandle.address)).toBe(10)
    expect(() => network.latency(a.localHandle.address, 'sim:999')).toThrow(/no node/)
  })

  it('drops roughly lossRate of the frames', async () => {
    const seed = testSeed('loss')
    const x = await net(seed, 10, { lossRate: 0.2 })
    const n = 10_000
    for (let k = 0; k < n; k++) await node(x, k % 10).send(node(x, (k + 1) % 10).localHandle, Uint8Array.of(k & 0xff))
    await x.clock.advance(1000)
    const got = x.inbox.reduce((s, b) => s + b.length, 0)
    const stats = x.network.stats()
    expect(stats.lost + stats.delivered).toBe(n)
    expect(got).toBe(stats.delivered)
    expect(Math.abs(stats.lost / n - 0.2), `loss ${stats.lost / n} with seed ${seed}`).toBeLessThan(0.02)
  })

  it('blocks frames across a partition in both directions and heal() restores them', async () => {
    const x = await net(testSeed('partition'), 4, { latency: constantLatency(10) })
    const [a, b, c, d] = [node(x, 0), node(x, 1), node(x, 2), node(x, 3)]
    const p = x.network.partition([a.localHandle, b.localHandle], [c.localHandle.address])
    await a.send(c.localHandle, Uint8Array.of(1))
    await c.send(b.localHandle, Uint8Array.of(2))
    await a.send(b.localHandle, Uint8Array.of(3))
    await a.send(d.localHandle, Uint8Array.of(4))
    await c.send(d.localHandle, Uint8Array.of(5))
    await x.clock.advance(20)
    expect(x.inbox.map((box) => box.map((r) => r[2]))).toEqual([[], [3], [], [4, 5]])
    expect(x.network.stats().blocked).toBe(2)
    p.heal()
    expect(p.healed).toBe(true)
    await a.send(c.localHandle, Uint8Array.of(6))
    await x.clock.advance(20)
    expect(x.inbox[2]?.map((r) => r[2])).toEqual([6])
  })

  it('cuts one group from everyone else, drops frames in flight across a new cut, and heals all', async () => {
    const x = await net(testSeed('partition-rest'), 3, { latency: constantLatency(10) })
    const [a, b, c] = [node(x, 0), node(x, 1), node(x, 2)]
    await a.send(b.localHandle, Uint8Array.of(1))
    x.network.partition([a.localHandle])
    x.network.partition([c.localHandle])
    await b.send(c.localHandle, Uint8Array.of(2))
    await x.clock.advance(20)
    expect(x.inbox.map((box) => box.length)).toEqual([0, 0, 0])
    x.network.heal()
    await b.send(c.localHandle, Uint8Array.of(3))
    await b.send(a.localHandle, Uint8Array.of(4))
    await x.clock.advance(20)
    expect(x.inbox.map((box) => box.map((r) => r[2]))).toEqual([[4], [], [3]])
  })

  it('kills a node: frames to it and sent by it afterwards are lost; what it sent before still arrives', async () => {
    const x = await net(testSeed('kill'), 3, { latency: constantLatency(10) })
    const [a, b, c] = [node(x, 0), node(x, 1), node(x, 2)]
    await a.send(b.localHandle, Uint8Array.of(1))
    await b.send(c.localHandle, Uint8Array.of(2))
    x.network.kill(b.localHandle.address)
    expect(x.network.isAlive(b.localHandle.address)).toBe(false)
    await a.send(b.localHandle, Uint8Array.of(3))
    await b.send(c.localHandle, Uint8Array.of(4))
    // A dead host cannot say who it was: even a wrong id just vanishes.
    await a.send({ id: c.localHandle.id, address: b.localHandle.address }, Uint8Array.of(5))
    await a.send(c.localHandle, Uint8Array.of(6))
    await x.clock.advance(20)
    // 1 (to b, in flight at the kill) is lost with b; 2 (from b, already on the wire) arrives.
    expect(x.inbox.map((box) => box.map((r) => r[2]))).toEqual([[], [], [2, 6]])
    expect(x.network.stats().undeliverable).toBe(4)
  })

  it('loses frames to an unknown address or a stopped node without an error', async () => {
    const x = await net(testSeed('unknown'), 2)
    const [a, b] = [node(x, 0), node(x, 1)]
    await a.send({ id: b.localHandle.id, address: 'sim:12345' }, Uint8Array.of(1))
    await b.stop()
    expect(x.network.isAlive(b.localHandle.address)).toBe(false)
    await a.send(b.localHandle, Uint8Array.of(2))
    await x.clock.advance(500)
    expect(x.inbox[1]?.length).toBe(0)
    expect(x.network.stats()).toMatchObject({ sent: 2, delivered: 0, undeliverable: 2, inFlight: 0 })
  })

  it('refuses a send before start with EPOST_NOT_STARTED', async () => {
    const clock = new VirtualClock()
    const rng = new Rng(3)
    const network = new SimNetwork({ clock, rng })
    const a = network.createTransport({ credentials: fakeCredentials(rng) })
    const b = network.createTransport({ credentials: fakeCredentials(rng) })
    await expect(a.send(b.localHandle, Uint8Array.of(1))).rejects.toMatchObject({ code: 'EPOST_NOT_STARTED' })
  })

  it('copies frames, so a sender reusing its buffer does not change what arrives', async () => {
    const x = await net(testSeed('copy'), 2)
    const [a, b] = [node(x, 0), node(x, 1)]
    const small = Uint8Array.of(42)
    const large = new Uint8Array(SIM_SLAB_MAX_FRAME_BYTES + 1).fill(43)
    await a.send(b.localHandle, small)
    await a.send(b.localHandle, large)
    small[0] = 7
    large[0] = 7
    await x.clock.advance(500)
    expect(x.inbox[1]?.map((r) => r[2])).toEqual([42, 43])
  })

  it('enforces a per-transport maxFrameBytes', async () => {
    const clock = new VirtualClock()
    const rng = new Rng(4)
    const network = new SimNetwork({ clock, rng, maxFrameBytes: 1000 })
    const a = network.createTransport({ credentials: fakeCredentials(rng), maxFrameBytes: 10 })
    const b = network.createTransport({ credentials: fakeCredentials(rng) })
    await Promise.all([a.start(), b.start()])
    expect(a.maxFrameBytes).toBe(10)
    expect(b.maxFrameBytes).toBe(1000)
    await expect(a.send(b.localHandle, new Uint8Array(11))).rejects.toMatchObject({ code: 'EPOST_TRANSPORT_FRAME_TOO_LARGE' })
    await expect(b.send(a.localHandle, new Uint8Array(1001))).rejects.toMatchObject({ code: 'EPOST_TRANSPORT_FRAME_TOO_LARGE' })
  })

  it('checks certificates once at attach with the verifier', () => {
    const rng = new Rng(5)
    const good = fakeCredentials(rng)
    const revoked = fakeCredentials(rng)
    const network = new SimNetwork({ clock: new VirtualClock(), rng, verifier: fakeVerifier(new Set([revoked.id.hex])) })
    expect(network.createTransport({ credentials: good }).localHandle.id.equals(good.id)).toBe(true)
    let err: unknown
    try {
      network.createTransport({ credentials: revoked })
    } catch (e) {
      err = e
    }
    expect(isEpostError(err, 'EPOST_TRANSPORT_AUTH_FAILED')).toBe(true)
    const liar = { ...fakeCredentials(rng), certificate: good.certificate }
    expect(() => network.createTransport({ credentials: liar })).toThrow(/certificate is for/)
  })

  it('replays identically from the same seed and differently from another', async () => {
    async function run(seed: number): Promise<string[]> {
      const clock = new VirtualClock()
      const rng = new Rng(seed)
      const network = new SimNetwork({ clock, rng, jitterMs: 20, lossRate: 0.05 })
      const traffic = rng.fork('traffic')
      const nodes = Array.from({ length: 50 }, () => network.createTransport({ credentials: fakeCredentials(rng) }))
      const trace: string[] = []
      for (const t of nodes) {
        t.onFrame((from, data) => {
          trace.push(`${clock.now()} ${from.address}>${t.localHandle.address} ${data.join(',')}`)
          const ttl = data[0] as number
          if (ttl > 0) void t.send((traffic.pick(nodes) as SimTransport).localHandle, Uint8Array.of(ttl - 1, data[1] as number))
        })
      }
      await Promise.all(nodes.map((t) => t.start()))
      for (let k = 0; k < 100; k++) {
        const src = traffic.pick(nodes)
        const dst: NodeHandle = traffic.pick(nodes).localHandle
        await src.send(dst, Uint8Array.of(8, k))
      }
      await clock.runUntilTrue(() => network.stats().inFlight === 0, 100_000)
      return trace
    }
    const seed = testSeed('determinism')
    const one = await run(seed)
    const two = await run(seed)
    expect(one.length).toBeGreaterThan(500)
    expect(two).toEqual(one)
    expect(await run(seed + 1)).not.toEqual(one)
  })

  it('rejects bad configuration with EPOST_INVALID_ARGUMENT', () => {
    const base = { clock: new VirtualClock(), rng: new Rng(6) }
    expect(() => new SimNetwork({ ...base, lossRate: 1.5 })).toThrow(/lossRate/)
    expect(() => new SimNetwork({ ...base, jitterMs: -1 })).toThrow(/jitterMs/)
    const network = new SimNetwork(base)
    expect(() => {
      network.lossRate = -0.1
    }).toThrow(/lossRate/)
    expect(() => network.partition(['sim:77'])).toThrow(/no node/)
  })

  it('hands frames for remote nodes to the remote sink, due at their arrival, and takes frames from other shards in', async () => {
    // Two shards of one ring, each a SimNetwork on its own clock, wired through their sinks.
    const rng = new Rng(testSeed('shards'))
    const latency = constantLatency(7)
    const made = [0, 1].map(() => {
      const clock = new VirtualClock()
      const out: Array<{ from: string; to: string; data: Uint8Array; at: number }> = []
      const network = new SimNetwork({ clock, rng: rng.fork('net'), latency, remote: { transmit: (from, to, data, at) => out.push({ from: from.localHandle.address, to: to.localHandle.address, data, at }) } })
      return { clock, network, out }
    })
    const [s0, s1] = made as [(typeof made)[0], (typeof made)[0]]
    const a = s0.network.createTransport({ credentials: fakeCredentials(rng), address: 'sim:a' })
    const b = s1.network.createTransport({ credentials: fakeCredentials(rng), address: 'sim:b' })
    const got: Array<[number, string, number]> = []
    b.onFrame((from, data) => got.push([s1.clock.now(), from.address, data[0] ?? -1]))
    await Promise.all([a.start(), b.start()])
    const bAtS0 = s0.network.attachRemote(b.localHandle, b.position)
    const aAtS1 = s1.network.attachRemote(a.localHandle, a.position)
    expect(bAtS0.remote).toBe(true)
    expect(s0.network.isAlive('sim:b')).toBe(true)

    await s0.clock.advance(3)
    await a.send(b.localHandle, Uint8Array.of(42))
    expect(s0.out).toEqual([{ from: 'sim:a', to: 'sim:b', data: Uint8Array.of(42), at: 10 }])
    // A handle that names the remote address with another id is caught as on a local node.
    const liar: NodeHandle = { id: a.localHandle.id, address: 'sim:b' }
    await expect(a.send(liar, Uint8Array.of(1))).rejects.toSatisfy((e: unknown) => isEpostError(e, 'EPOST_TRANSPORT_PEER_MISMATCH'))

    const f = s0.out[0] as { data: Uint8Array; at: number }
    s1.network.arrive(aAtS1, b, f.data, f.at)
    await s1.clock.advance(9)
    expect(got).toEqual([])
    await s1.clock.advance(1)
    expect(got).toEqual([[10, 'sim:a', 42]])
  })

  it('refuses a taken address, and remote nodes without a remote sink', async () => {
    const x = await net(testSeed('addresses'), 1)
    const taken = node(x, 0).localHandle.address
    expect(() => x.network.createTransport({ credentials: fakeCredentials(x.rng), address: taken })).toThrowError(expect.objectContaining({ code: 'EPOST_INVALID_ARGUMENT' }))
    expect(() => x.network.attachRemote({ id: node(x, 0).localHandle.id, address: 'sim:elsewhere' }, [0, 0, 1])).toThrowError(/remote sink/)
    // Addresses the network assigns itself step over ones taken by hand.
    x.network.createTransport({ credentials: fakeCredentials(x.rng), address: 'sim:1' })
    expect(x.network.createTransport({ credentials: fakeCredentials(x.rng) }).localHandle.address).toBe('sim:2')
  })
})
