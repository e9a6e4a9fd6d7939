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
    // Only the peer asked can answer; settling tells when the request was opened.
    expect(p.settle(a.nonce, 'forged', 'bb')).toBeUndefined()
    expect(p.settle(a.nonce, 'pong', 'aa')).toBe(0)
    expect(p.settle(a.nonce, 'again')).toBeUndefined()
    expect(p.settle(999, 'stray')).toBeUndefined()
    await clock.advance(60)
    expect(await a.reply).toBe('pong')
    expect(await c.reply).toBeUndefined()
    expect(p.size).toBe(1)
    // A reply after the timeout finds nobody waiting.
    expect(p.settle(c.nonce, 'late')).toBeUndefined()
    const d = p.open('dd', 1_000)
    const e = p.open('ee', 1_000)
    expect(p.settle(e.nonce, 'pong', 'ee')).toBe(60)
    p.settleAll()
    expect(await b.reply).toBeUndefined()
    expect(await d.reply).toBeUndefined()
    expect(p.size).toBe(0)
  })
})
