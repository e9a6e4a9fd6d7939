import { Worker } from 'node:worker_threads'
import { describe, expect, it } from 'vitest'
import { ShardEcho, ShardExchange, abortExchange, createExchangeBuffers } from './exchange.js'
import type { InboundFrame, WindowNews } from './exchange.js'

/** News with only the fields a test looks at set. */
function news(over: Partial<WindowNews> = {}): WindowNews {
  return { ready: [], delivered: 0, sent: 0, failed: false, wantsScavenge: false, ...over }
}

/** A frame whose bytes say which shard sent it in which window. */
function payload(shard: number, window: number, i: number): Uint8Array {
  return Uint8Array.from({ length: 1 + ((window * 7 + i) % 13) }, (_, k) => (shard * 100 + window * 3 + i + k) & 0xff)
}

/**
 * Both shards of these tests run in the test's thread, which a shard waiting for a window never
 * published would block for good (Atomics.wait): a watchdog thread aborts the exchange after a
 * while, so such a wait throws instead.
 */
function watchdog(control: SharedArrayBuffer, ms = 5000): Worker {
  const code = `const { workerData } = require('node:worker_threads'); const c = new Int32Array(workerData); setTimeout(() => { Atomics.store(c, 0, 1); for (let i = 0; i < c.length; i++) Atomics.notify(c, i) }, ${ms})`
  return new Worker(code, { eval: true, workerData: control })
}

describe('the exchange between shards', () => {
  it('hands a frame sent in window w to the other shard before window w + lag, once, intact, and not earlier', () => {
    // Both shards in one thread: with lag 2 neither has to wait as long as they take turns.
    for (const lag of [1, 2, 3]) {
      const buffers = createExchangeBuffers(2, lag, 4096)
      const got: Array<Array<{ window: number; frame: InboundFrame }>> = [[], []]
      const windows = 5 * lag + 3
      const dog = watchdog(buffers.control)
      try {
        const shards = [new ShardExchange(buffers, 0), new ShardExchange(buffers, 1)]
        for (let w = 0; w < windows; w++) {
          for (const x of shards) {
            expect(x.window).toBe(w)
            const report = x.collect((frame) => got[x.shard]?.push({ window: w, frame }))
            if (w < lag) expect(report).toBeUndefined()
            else {
              expect(report?.window).toBe(w - lag)
              // Every shard's news of that window, its own included, in shard order.
              expect(report?.news.map((n) => n.ready)).toEqual([[w - lag], [1000 + w - lag]])
              expect(report?.news.map((n) => n.delivered)).toEqual([w - lag, 2 * (w - lag)])
            }
            // Two frames a window to the other shard (node 1 of shard 0 and node 2 of shard 1).
            for (let i = 0; i < 2; i++) x.send(w + lag + i, x.shard + 1, 2 - x.shard, payload(x.shard, w, i))
            x.publish(news({ ready: [x.shard * 1000 + w], delivered: (x.shard + 1) * w }))
          }
        }
      } finally {
        void dog.terminate()
      }
      for (const me of [0, 1]) {
        const other = 1 - me
        const frames = got[me] ?? []
        // Frames of windows 0 .. windows - lag - 1 have been read; the last lag windows' not yet.
        expect(frames.length, `lag ${lag}`).toBe(2 * (windows - lag))
        for (const [k, { window, frame }] of frames.entries()) {
          const sentIn = Math.floor(k / 2)
          expect(window, `lag ${lag}: a frame of window ${sentIn} read before window ${window}`).toBe(sentIn + lag)
          expect(frame.at).toBe(sentIn + lag + (k % 2))
          expect([frame.from, frame.to]).toEqual([other + 1, 2 - other])
          expect([...frame.data]).toEqual([...payload(other, sentIn, k % 2)])
        }
      }
    }
  })

  it('makes a shard wait for the window it needs: an aborted run throws instead of reading a slot not yet written', () => {
    const buffers = createExchangeBuffers(2, 2, 4096)
    const a = new ShardExchange(buffers, 0)
    a.publish(news())
    a.publish(news())
    // Shard 1 has finished no window, so window 2 of shard 0 cannot run.
    abortExchange(buffers)
    // An echo: the shard did not fail, it was stopped because another did (parallel.ts, rootCause).
    expect(() => a.collect(() => undefined)).toThrow(ShardEcho)
  })

  it('refuses more frames in a window than a slot holds, with an error that says what to raise', () => {
    const buffers = createExchangeBuffers(2, 2, 256)
    const a = new ShardExchange(buffers, 0)
    expect(() => {
      for (let i = 0; i < 20; i++) a.send(10, 0, 1, new Uint8Array(16))
    }).toThrow(/OUTBOX_SLOT_BYTES/)
    expect(() => createExchangeBuffers(2, 0)).toThrow(/lag/)
  })
})
