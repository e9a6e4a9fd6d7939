import { blockStoreSuite } from '@epost/compliance'
import { EpostError, ID_ZERO, Id, isEpostError } from '@epost/core'
import { describe, expect, it } from 'vitest'
import { memoryStore } from './index.js'

blockStoreSuite('memory', async ({ quotaBytes }) => ({ store: memoryStore({ quotaBytes }) }))

describe('memoryStore', () => {
  it('rejects a bad quota when created', () => {
    for (const quotaBytes of [-1, 1.5, Number.NaN]) {
      expect(() => memoryStore({ quotaBytes })).toThrow(EpostError)
    }
    expect(memoryStore({ quotaBytes: 0 }).stats().quotaBytes).toBe(0)
  })

  it('cannot be started after it was stopped without ever starting', async () => {
    const store = memoryStore()
    await store.stop()
    const err = await store.start().then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isEpostError(err, 'EPOST_STORE_CLOSED')).toBe(true)
  })

  it('ends a scan in progress with EPOST_STORE_CLOSED once stopped', async () => {
    const store = memoryStore()
    await store.start()
    for (let i = 0; i < 600; i++) await store.put(Id.fromBigInt(BigInt(i)), new Uint8Array(1))
    let seen = 0
    const err = await (async () => {
      for await (const _ of store.scan({ from: ID_ZERO, to: ID_ZERO.add(-1n) })) {
        if (++seen === 1) void store.stop()
      }
    })().then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isEpostError(err, 'EPOST_STORE_CLOSED')).toBe(true)
    expect(seen).toBeLessThan(600)
  })
})
