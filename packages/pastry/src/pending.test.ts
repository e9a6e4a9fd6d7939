import { describe, expect, it } from 'vitest'
import { VirtualClock } from '@epost/core'
import { PendingReplies } from './pending.js'

describe('PendingReplies', () => {
  it('settles each request once: with its reply, or undefined on timeout or when all are dropped', async () => {
    const clock = new VirtualClock()
    const p = new PendingReplies<string>(clock)
    const a = p.open('aa', 100)
    const b = p.open('bb', 100)
    const c = p.open('cc', 50)
    expect(new Set([a.nonce, b.nonce, c.nonce]).size).toBe(3)
    // Only the peer asked can answer.
    expect(p.settle(a.nonce, 'forged', 'bb')).toBe(false)
    expect(p.settle(a.nonce, 'pong', 'aa')).toBe(true)
    expect(p.settle(a.nonce, 'again')).toBe(false)
    expect(p.settle(999, 'stray')).toBe(false)
    await clock.advance(60)
    expect(await a.reply).toBe('pong')
    expect(await c.reply).toBeUndefined()
    expect(p.size).toBe(1)
    // A reply after the timeout finds nobody waiting.
    expect(p.settle(c.nonce, 'late')).toBe(false)
    const d = p.open('dd', 1_000)
    p.settleAll()
    expect(await b.reply).toBeUndefined()
    expect(await d.reply).toBeUndefined()
    expect(p.size).toBe(0)
  })
})
