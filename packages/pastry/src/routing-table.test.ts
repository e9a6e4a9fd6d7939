import { describe, expect, it } from 'vitest'
import { Id } from '@epost/core'
import type { NodeHandle } from '@epost/core'
import { RoutingTable } from './routing-table.js'

const h = (hex: string): NodeHandle => ({ id: Id.fromHex(hex.padEnd(32, '0')), address: `sim:${hex}` })

describe('RoutingTable', () => {
  const self = h('a1b2')

  it('files a node under its shared-prefix row and next digit', () => {
    const t = new RoutingTable(self, 4)
    expect(t.cellOf(h('f').id)).toEqual({ row: 0, col: 15 })
    expect(t.cellOf(h('a1c').id)).toEqual({ row: 2, col: 12 })
    expect(t.cellOf(self.id)).toBeUndefined()
    expect(t.consider(h('a1c'), 30).taken).toBe(true)
    expect(t.get(2, 12)?.handle.address).toBe('sim:a1c')
    expect(t.lastRow).toBe(2)
    expect(t.size).toBe(1)
  })

  it('keeps the proximally closest candidate per cell (PNS)', () => {
    const t = new RoutingTable(self, 4)
    t.consider(h('f1'), 50)
    expect(t.consider(h('f2'), 80).taken).toBe(false)
    const r = t.consider(h('f3'), 20)
    expect(r.taken).toBe(true)
    expect(r.displaced?.address).toBe('sim:f1')
    expect(t.get(0, 15)?.handle.address).toBe('sim:f3')
    expect(t.wants(h('f4').id, 10)).toBe(true)
    expect(t.wants(h('f4').id, 30)).toBe(false)
  })

  it('removes entries and lists rows', () => {
    const t = new RoutingTable(self, 4)
    t.consider(h('0'), 1)
    t.consider(h('1'), 1)
    t.consider(h('a0'), 1)
    expect(t.row(0)).toHaveLength(2)
    expect(t.remove(h('1').id)).toBe(true)
    expect(t.remove(h('1').id)).toBe(false)
    expect(t.row(0)).toHaveLength(1)
    expect([...t.entries()]).toHaveLength(2)
    expect(t.has(h('a0').id)).toBe(true)
  })

  it('works with other digit sizes', () => {
    const t = new RoutingTable(self, 2)
    expect(t.rows).toBe(64)
    expect(t.cols).toBe(4)
    // a = 1010: first base-4 digit 2, second 2; 0x8 = 1000: digits 2, 0
    expect(t.cellOf(h('8').id)).toEqual({ row: 1, col: 0 })
  })
})
