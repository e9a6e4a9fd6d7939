import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { isEpostError } from '@epost/core'
import type { EpostErrorCode, NodeHandle, Transport } from '@epost/core'

/**
 * What a Transport implementation hands the suite: started transports that can all reach each
 * other, and a way to wait that works in both worlds (advance a VirtualClock, or let real I/O
 * happen). The suite never sleeps for a fixed time.
 */
export interface TransportTestbed {
  /** Started transports, each able to reach every other. */
  readonly transports: readonly Transport[]
  /**
   * Resolves once `predicate()` holds, driving time as needed (advancing the virtual clock, or
   * yielding to real I/O); rejects naming `what` if it does not hold within the bed's patience.
   */
  until(predicate: () => boolean, what: string): Promise<void>
  /**
   * Lets every frame already handed to the network arrive or be lost: advances a virtual clock
   * past the largest latency, or drains real I/O. Used before asserting that something did NOT
   * arrive.
   */
  settle(): Promise<void>
  /** Makes `transports[i]` vanish: a crash in the simulator, stop() over a real network. */
  kill(i: number): Promise<void>
  /** Stops everything and frees ports, timers and sockets. */
  teardown(): Promise<void>
}

export interface TransportSetupOptions {
  /** How many transports to create and start. */
  n: number
}

export type TransportSetup = (options: TransportSetupOptions) => Promise<TransportTestbed>

interface Received {
  from: NodeHandle
  data: Uint8Array
}

function collect(t: Transport): Received[] {
  const got: Received[] = []
  t.onFrame((from, data) => got.push({ from, data: Uint8Array.from(data) }))
  return got
}

function frame(tag: number, size = 64): Uint8Array {
  const b = new Uint8Array(size)
  for (let i = 0; i < size; i++) b[i] = (tag * 31 + i * 7) & 0xff
  if (size >= 4) new DataView(b.buffer).setUint32(0, tag)
  return b
}

/** Byte equality without vitest's element-by-element diffing (slow for a 1 MB frame). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function tagOf(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0)
}

async function expectCode(p: Promise<unknown>, codes: EpostErrorCode[]): Promise<void> {
  let err: unknown
  try {
    await p
  } catch (e) {
    err = e
  }
  expect(err, `expected a rejection with ${codes.join(' or ')}`).toBeDefined()
  expect(isEpostError(err), `expected an EpostError, got ${String(err)}`).toBe(true)
  expect(codes).toContain((err as { code: string }).code)
}

function at(bed: TransportTestbed, i: number): Transport {
  const t = bed.transports[i]
  if (t === undefined) throw new Error(`the testbed has no transport ${i}`)
  return t
}

/**
 * The contract every Transport must meet (core `transport.ts`): authenticated sender handles,
 * intact bytes, frame limits, peer-id checks, crashed peers, statistics and lifecycle.
 */
export function transportSuite(name: string, setup: TransportSetup): void {
  describe(`Transport compliance: ${name}`, () => {
    let bed: TransportTestbed

    beforeEach(async () => {
      bed = await setup({ n: 3 })
    })

    afterEach(async () => {
      await bed.teardown()
    })

    it('gives every started transport a distinct, non-empty address', () => {
      const addresses = bed.transports.map((t) => t.localHandle.address)
      for (const a of addresses) expect(a.length).toBeGreaterThan(0)
      expect(new Set(addresses).size).toBe(addresses.length)
      const ids = bed.transports.map((t) => t.localHandle.id.hex)
      expect(new Set(ids).size).toBe(ids.length)
    })

    it('delivers a frame intact with the authenticated sender handle', async () => {
      const [a, b] = [at(bed, 0), at(bed, 1)]
      const got = collect(b)
      const data = frame(1, 200)
      await a.send(b.localHandle, data)
      await bed.until(() => got.length === 1, 'the frame to arrive')
      const r = got[0] as Received
      expect(r.data).toEqual(frame(1, 200))
      expect(r.from.id.equals(a.localHandle.id)).toBe(true)
      expect(r.from.address).toBe(a.localHandle.address)
    })

    it('lets the receiver answer the sender handle it was given', async () => {
      const [a, b] = [at(bed, 0), at(bed, 1)]
      const gotA = collect(a)
      b.onFrame((from, data) => {
        void b.send(from, data.slice().reverse()).catch(() => {})
      })
      await a.send(b.localHandle, Uint8Array.of(1, 2, 3))
      await bed.until(() => gotA.length === 1, 'the reply to arrive')
      expect((gotA[0] as Received).data).toEqual(Uint8Array.of(3, 2, 1))
      expect((gotA[0] as Received).from.id.equals(b.localHandle.id)).toBe(true)
    })

    it('delivers many frames between every pair', async () => {
      const per = 60
      const got = bed.transports.map(collect)
      const sends: Array<Promise<void>> = []
      bed.transports.forEach((src, i) => {
        bed.transports.forEach((dst, j) => {
          if (i === j) return
          for (let k = 0; k < per; k++) sends.push(src.send(dst.localHandle, frame(i * 1_000_000 + j * 1000 + k, 100 + k)))
        })
      })
      await Promise.all(sends)
      const expected = per * (bed.transports.length - 1)
      await bed.until(() => got.every((g) => g.length === expected), 'every frame to arrive')
      got.forEach((g, j) => {
        const byTag = new Map(g.map((r) => [tagOf(r.data), r]))
        expect(byTag.size).toBe(expected)
        bed.transports.forEach((src, i) => {
          if (i === j) return
          for (let k = 0; k < per; k++) {
            const r = byTag.get(i * 1_000_000 + j * 1000 + k)
            expect(r, `frame ${i}->${j} #${k}`).toBeDefined()
            expect(sameBytes((r as Received).data, frame(i * 1_000_000 + j * 1000 + k, 100 + k))).toBe(true)
            expect((r as Received).from.id.equals(src.localHandle.id)).toBe(true)
          }
        })
      })
    })

    it('delivers a frame of exactly maxFrameBytes', async () => {
      const [a, b] = [at(bed, 0), at(bed, 1)]
      const got = collect(b)
      const size = Math.min(a.maxFrameBytes, b.maxFrameBytes)
      await a.send(b.localHandle, frame(7, size))
      await bed.until(() => got.length === 1, 'the largest frame to arrive')
      expect((got[0] as Received).data.length).toBe(size)
      expect(sameBytes((got[0] as Received).data, frame(7, size))).toBe(true)
    })

    it('rejects an oversized frame with EPOST_TRANSPORT_FRAME_TOO_LARGE and stays usable', async () => {
      const [a, b] = [at(bed, 0), at(bed, 1)]
      const got = collect(b)
      await expectCode(a.send(b.localHandle, new Uint8Array(a.maxFrameBytes + 1)), ['EPOST_TRANSPORT_FRAME_TOO_LARGE'])
      await a.send(b.localHandle, frame(2))
      await bed.until(() => got.length === 1, 'the next frame to arrive')
      expect(tagOf((got[0] as Received).data)).toBe(2)
      await bed.settle()
      expect(got.length).toBe(1)
    })

    it('rejects a send whose id does not match the node at the address with EPOST_TRANSPORT_PEER_MISMATCH', async () => {
      const [a, b, c] = [at(bed, 0), at(bed, 1), at(bed, 2)]
      const gotB = collect(b)
      const gotC = collect(c)
      const forged: NodeHandle = { id: c.localHandle.id, address: b.localHandle.address }
      // Before any connection exists between them...
      await expectCode(a.send(forged, frame(1)), ['EPOST_TRANSPORT_PEER_MISMATCH'])
      // ...and after one does, in both directions.
      await a.send(b.localHandle, frame(2))
      await a.send(c.localHandle, frame(3))
      await bed.until(() => gotB.length === 1 && gotC.length === 1, 'the genuine frames to arrive')
      await expectCode(a.send(forged, frame(4)), ['EPOST_TRANSPORT_PEER_MISMATCH'])
      await expectCode(a.send({ id: b.localHandle.id, address: c.localHandle.address }, frame(5)), ['EPOST_TRANSPORT_PEER_MISMATCH'])
      await bed.settle()
      expect(gotB.map((r) => tagOf(r.data))).toEqual([2])
      expect(gotC.map((r) => tagOf(r.data))).toEqual([3])
    })

    it('loses frames to a dead peer while the others keep working', async () => {
      const [a, b, c] = [at(bed, 0), at(bed, 1), at(bed, 2)]
      const gotB = collect(b)
      const gotC = collect(c)
      const gotA = collect(a)
      await a.send(b.localHandle, frame(1))
      await bed.until(() => gotB.length === 1, 'the first frame to arrive')
      await bed.kill(1)
      for (let k = 0; k < 3; k++) {
        // A crashed host either swallows the frame or cannot be reached; both are honest.
        await a.send(b.localHandle, frame(10 + k)).catch((err: unknown) => {
          expect(isEpostError(err, 'EPOST_TRANSPORT_UNREACHABLE') || isEpostError(err, 'EPOST_TRANSPORT_CLOSED')).toBe(true)
        })
      }
      await a.send(c.localHandle, frame(20))
      await c.send(a.localHandle, frame(21))
      await bed.until(() => gotC.length === 1 && gotA.length === 1, 'the live peers to exchange frames')
      await bed.settle()
      expect(gotB.length).toBe(1)
    })

    it('counts frames and bytes in stats()', async () => {
      const [a, b] = [at(bed, 0), at(bed, 1)]
      const got = collect(b)
      const sa = a.stats()
      const sb = b.stats()
      const k = 10
      const size = 300
      for (let i = 0; i < k; i++) await a.send(b.localHandle, frame(i, size))
      await bed.until(() => got.length === k, 'the frames to arrive')
      const sa2 = a.stats()
      const sb2 = b.stats()
      expect(sa2.framesSent - sa.framesSent).toBe(k)
      expect(sa2.bytesSent - sa.bytesSent).toBe(k * size)
      expect(sb2.framesReceived - sb.framesReceived).toBe(k)
      expect(sb2.bytesReceived - sb.bytesReceived).toBe(k * size)
      expect(sb2.peersRejected).toBe(sb.peersRejected)
      expect(sa2.openConnections).toBeGreaterThanOrEqual(0)
    })

    it('makes start() and stop() idempotent and refuses to send once stopped', async () => {
      const [a, b] = [at(bed, 0), at(bed, 1)]
      await Promise.all([a.start(), a.start()])
      expect(a.start()).toBe(a.start())
      const s1 = a.stop()
      const s2 = a.stop()
      expect(s1).toBe(s2)
      await s1
      await a.stop()
      await expectCode(a.send(b.localHandle, frame(1)), ['EPOST_STOPPED'])
    })

    it('rejects a send whose signal is already aborted with EPOST_ABORTED', async () => {
      const [a, b] = [at(bed, 0), at(bed, 1)]
      const got = collect(b)
      const ctl = new AbortController()
      ctl.abort()
      await expectCode(a.send(b.localHandle, frame(1), { signal: ctl.signal }), ['EPOST_ABORTED'])
      await bed.settle()
      expect(got.length).toBe(0)
    })

    it('keeps delivering after the frame handler throws', async () => {
      const [a, b] = [at(bed, 0), at(bed, 1)]
      const got: number[] = []
      b.onFrame((_from, data) => {
        got.push(tagOf(data))
        if (got.length === 1) throw new Error('handler bug')
      })
      await a.send(b.localHandle, frame(1))
      await bed.until(() => got.length === 1, 'the first frame to arrive')
      await a.send(b.localHandle, frame(2))
      await bed.until(() => got.length === 2, 'the second frame to arrive')
      expect(got).toEqual([1, 2])
    })

    it('counts reject() and keeps serving other peers', async () => {
      const [a, b, c] = [at(bed, 0), at(bed, 1), at(bed, 2)]
      const gotB = collect(b)
      await a.send(b.localHandle, frame(1))
      await bed.until(() => gotB.length === 1, 'the frame to arrive')
      const before = b.stats().peersRejected
      b.reject(a.localHandle.id, 'compliance test')
      expect(b.stats().peersRejected).toBe(before + 1)
      await c.send(b.localHandle, frame(2))
      await bed.until(() => gotB.length === 2, 'the other peer to get through')
      expect((gotB[1] as Received).from.id.equals(c.localHandle.id)).toBe(true)
    })
  })
}
