import { describe, expect, it } from 'vitest'
import { RealClock, VirtualClock } from './clock.js'
import type { Timer } from './clock.js'
import { isEpostError } from './errors.js'
import { Rng } from './rng.js'

const SEED = Number(process.env['EPOST_TEST_SEED'] ?? 7)

describe(`VirtualClock (seed ${SEED})`, () => {
  it('fires timers in time order, ties in insertion order', async () => {
    const clock = new VirtualClock()
    const seen: string[] = []
    clock.setTimeout(() => seen.push('b@20'), 20)
    clock.setTimeout(() => seen.push('a@10'), 10)
    clock.setTimeout(() => seen.push('c@20'), 20)
    const cancelled = clock.setTimeout(() => seen.push('never'), 15)
    cancelled.cancel()
    await clock.advance(19)
    expect(seen).toEqual(['a@10'])
    expect(clock.now()).toBe(19)
    await clock.advance(100)
    expect(seen).toEqual(['a@10', 'b@20', 'c@20'])
    expect(clock.now()).toBe(119)
  })

  it('lets async code run between timers', async () => {
    const clock = new VirtualClock()
    const trace: number[] = []
    const task = (async () => {
      await clock.sleep(10)
      trace.push(clock.now())
      await clock.sleep(5)
      trace.push(clock.now())
    })()
    await clock.advance(100)
    await task
    expect(trace).toEqual([10, 15])
  })

  it('with a resolution, fires each timer at the first grid instant at or after its time, timers of one step together', async () => {
    const clock = new VirtualClock(0, { resolutionMs: 1 })
    const seen: Array<[string, number]> = []
    const at = (name: string) => () => seen.push([name, clock.now()])
    clock.setTimeout(at('b@1.3'), 1.3)
    clock.setTimeout(at('a@0.2'), 0.2)
    clock.setTimeout(at('c@2'), 2)
    clock.setTimeout(at('d@1.9'), 1.9)
    const t = clock.setInterval(at('i'), 2.5)
    await clock.advance(0.5)
    // Never early: a@0.2 waits for the grid instant 1.
    expect(seen).toEqual([])
    await clock.advance(5)
    t.cancel()
    // Same instant: scheduling order; the interval keeps its period from its last instant.
    expect(seen).toEqual([
      ['a@0.2', 1],
      ['b@1.3', 2],
      ['c@2', 2],
      ['d@1.9', 2],
      ['i', 3],
    ])
    expect(() => new VirtualClock(0, { resolutionMs: -1 })).toThrow(RangeError)
  })

  it('repeats intervals until cancelled', async () => {
    const clock = new VirtualClock()
    let n = 0
    const t = clock.setInterval(() => {
      n++
      if (n === 3) t.cancel()
    }, 10)
    await clock.advance(1000)
    expect(n).toBe(3)
  })

  it('aborts a sleep through its signal and times out through timeoutSignal', async () => {
    const clock = new VirtualClock()
    const ctl = new AbortController()
    const p = clock.sleep(1000, { signal: ctl.signal })
    ctl.abort()
    await expect(p).rejects.toMatchObject({ code: 'EPOST_ABORTED' })
    const sig = clock.timeoutSignal(50)
    const q = clock.sleep(1000, { signal: sig }).catch((e: unknown) => e)
    await clock.advance(60)
    const err = await q
    expect(isEpostError(err, 'EPOST_TIMEOUT')).toBe(true)
  })

  it('runs until a predicate holds, or gives up at the deadline', async () => {
    const clock = new VirtualClock()
    let flag = false
    clock.setTimeout(() => (flag = true), 40)
    expect(await clock.runUntilTrue(() => flag, 100)).toBe(true)
    expect(clock.now()).toBe(40)
    expect(await clock.runUntilTrue(() => false, 100)).toBe(false)
    expect(clock.now()).toBe(140)
  })

  it('drops cancelled timers from its queue and still fires the rest in order', async () => {
    const clock = new VirtualClock()
    const rng = new Rng(SEED)
    const fired: number[] = []
    const timers = Array.from({ length: 20_000 }, (_, i) => ({ i, at: 1 + rng.int(5_000), t: undefined as Timer | undefined }))
    for (const x of timers) x.t = clock.setTimeout(() => fired.push(x.i), x.at)
    // A timer that already fired, cancelled later, must not count as waiting in the queue.
    const early = clock.setTimeout(() => undefined, 0)
    await clock.advance(0)
    early.cancel()
    const kept = timers.filter((x) => x.i % 10 === 0)
    for (const x of timers) if (x.i % 10 !== 0) x.t?.cancel()
    expect(clock.pending).toBe(kept.length)
    await clock.advance(5_000)
    kept.sort((a, b) => a.at - b.at || a.i - b.i)
    expect(fired).toEqual(kept.map((x) => x.i))
    expect(clock.pending).toBe(0)
  })

  it('keeps (time, order of scheduling) order while callbacks schedule and cancel timers', async () => {
    const clock = new VirtualClock()
    const rng = new Rng(SEED + 1)
    // The reference: every timer with its time and scheduling order; fired ones in the order seen.
    const ref: Array<{ at: number; seq: number; cancelled: boolean }> = []
    const fired: number[] = []
    const live: Array<{ id: number; t: Timer }> = []
    const schedule = (depth: number): void => {
      const id = ref.length
      const delay = rng.next() < 0.3 ? rng.int(50) : rng.next() * 50
      ref.push({ at: clock.now() + delay, seq: id, cancelled: false })
      const t = clock.setTimeout(() => {
        fired.push(id)
        if (depth < 3) for (let k = rng.int(3); k > 0; k--) schedule(depth + 1)
        if (live.length > 0 && rng.next() < 0.3) {
          const [victim] = live.splice(rng.int(live.length), 1)
          if (victim !== undefined && !fired.includes(victim.id)) {
            ;(ref[victim.id] as { cancelled: boolean }).cancelled = true
            victim.t.cancel()
          }
        }
      }, delay)
      live.push({ id, t })
    }
    for (let i = 0; i < 3_000; i++) schedule(0)
    await clock.advance(1_000)
    // Each timer fires once, unless cancelled before its time, and no earlier timer fires later.
    expect(new Set(fired).size).toBe(fired.length)
    expect(fired.length).toBe(ref.filter((r) => !r.cancelled).length)
    for (let i = 1; i < fired.length; i++) {
      const a = ref[fired[i - 1] as number] as { at: number; seq: number }
      const b = ref[fired[i] as number] as { at: number; seq: number }
      expect(a.at < b.at || (a.at === b.at && a.seq < b.seq)).toBe(true)
    }
    expect(clock.pending).toBe(0)
  })
})

describe('RealClock', () => {
  it('sleeps for about the time asked and never keeps the process alive', async () => {
    const clock = new RealClock()
    const t0 = clock.now()
    await clock.sleep(5)
    expect(clock.now()).toBeGreaterThanOrEqual(t0 + 4)
  })
})
