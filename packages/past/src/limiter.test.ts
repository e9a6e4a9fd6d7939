import { describe, expect, it } from 'vitest'
import { Limiter } from './limiter.js'

describe('Limiter (maxOps)', () => {
  it('runs at most max at once, queues a bounded number, refuses the rest, and honours aborts', async () => {
    const lim = new Limiter(2, 1)
    const gates: Array<() => void> = []
    let peak = 0
    const op = (): Promise<void> =>
      lim.run(
        () =>
          new Promise<void>((resolve) => {
            peak = Math.max(peak, lim.active)
            gates.push(resolve)
          }),
      )
    const a = op()
    const b = op()
    const c = op() // waits
    await expect(op()).rejects.toMatchObject({ code: 'EPOST_PAST_BUSY' })
    expect([lim.active, lim.waiting]).toEqual([2, 1])
    gates.shift()?.()
    await a
    await new Promise((r) => setTimeout(r, 0))
    expect(lim.active).toBe(2)
    for (const g of gates.splice(0)) g()
    await Promise.all([b, c])
    expect(peak).toBe(2)
    // An aborted waiter leaves the queue.
    const lim2 = new Limiter(1, 5)
    let release: () => void = () => {}
    const first = lim2.run(() => new Promise<void>((r) => (release = r)))
    const ctl = new AbortController()
    const second = lim2.run(async () => 'ran', ctl.signal)
    ctl.abort()
    await expect(second).rejects.toMatchObject({ code: 'EPOST_ABORTED' })
    expect(lim2.waiting).toBe(0)
    release()
    await first
  })
})
