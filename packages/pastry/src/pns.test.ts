import { describe, expect, it } from 'vitest'
import { Id, Rng, handle } from '@epost/core'
import type { NodeHandle } from '@epost/core'
import { RoutingTable } from './routing-table.js'
import { CellHolds, WireRows, leastRtts, wireRow } from './pns.js'
import { MAX_QUEUED_PER_CELL } from './constants.js'

const SEED = Number(process.env['EPOST_TEST_SEED'] ?? 4)

function node(hex: string): NodeHandle {
  return handle(Id.fromHex(hex.padEnd(32, '0')), `sim:${hex}`)
}

describe(`PNS helpers (seed ${SEED})`, () => {
  it('puts a row on the wire with our RTTs, and bounds the RTT to each entry from below', () => {
    const self = node('a')
    const table = new RoutingTable(self, 4)
    table.consider(node('1'), 30.4)
    table.consider(node('2'), Infinity)
    table.consider(node('3'), 1e9)
    const { row, rtts } = wireRow(table, 0)
    expect(row[1]).toEqual(['sim:1', 'sim:2', 'sim:3'])
    // A sender 100 ms from us: |100 - 30| = 70; not measured -> 0; capped -> |100 - 65534|.
    expect(leastRtts(100, rtts)).toEqual([70, 0, 65434])
    // We never measured the sender: nothing is ruled out.
    expect(leastRtts(undefined, rtts)).toEqual([0, 0, 0])
    expect(wireRow(table, 5).row[1]).toEqual([])
  })

  it('measures one candidate per cell at a time and offers the waiting ones again, most promising first', () => {
    const offered: Array<{ ids: string[]; least: number[] }> = []
    const holds = new CellHolds(16, (c, least) => offered.push({ ids: c.map((h) => h.address), least }))
    const cell = { row: 0, col: 1 }
    expect(holds.wait(cell, node('11'), 5)).toBe(false)
    const release = holds.hold(cell)
    expect(holds.held(cell)).toBe(true)
    expect(holds.held({ row: 0, col: 2 })).toBe(false)
    const rng = new Rng(SEED)
    const least = Array.from({ length: MAX_QUEUED_PER_CELL + 4 }, () => rng.int(300))
    least.forEach((l, i) => expect(holds.wait(cell, node(`1${i.toString(16)}`), l)).toBe(true))
    release()
    expect(holds.held(cell)).toBe(false)
    expect(offered).toHaveLength(1)
    const got = offered[0] as { ids: string[]; least: number[] }
    // At most MAX_QUEUED_PER_CELL wait; the first ones to come are kept, sorted by their bound.
    expect(got.least).toEqual(least.slice(0, MAX_QUEUED_PER_CELL).sort((a, b) => a - b))
    release()
    expect(offered).toHaveLength(1)
    // A release from an older hold leaves a newer hold of the same cell alone.
    const second = holds.hold(cell)
    release()
    expect(holds.held(cell)).toBe(true)
    second()
    expect(holds.held(cell)).toBe(false)
  })
})

describe('WireRows', () => {
  it('serves a row from its cache until the row or an RTT (in whole ms) changes', () => {
    const table = new RoutingTable(node('a'), 4)
    const rows = new WireRows(table)
    table.consider(node('1'), 30)
    const first = rows.get(0)
    expect(rows.get(0)).toBe(first)
    table.setRtt(node('1').id, 30.2)
    expect(rows.get(0)).toBe(first)
    table.setRtt(node('1').id, 41)
    const second = rows.get(0)
    expect(second).not.toBe(first)
    expect(leastRtts(0, second.rtts)).toEqual([41])
    table.consider(node('2'), 10)
    expect(rows.get(0).row[1]).toEqual(['sim:1', 'sim:2'])
    table.remove(node('1').id)
    expect(rows.get(0).row[1]).toEqual(['sim:2'])
    // Beyond the table: nothing, and nothing cached.
    expect(rows.get(40).row[1]).toEqual([])
  })
})
