import { describe, expect, it } from 'vitest'
import { Id, Rng, handle } from '@epost/core'
import type { NodeHandle } from '@epost/core'
import { RoutingTable } from './routing-table.js'
import { CellHolds, UNBOUNDED, WireRows, rowBounds, wireRow, worthProbing } from './pns.js'
import type { RttBounds } from './pns.js'
import { MAX_QUEUED_PER_CELL } from './constants.js'

const SEED = Number(process.env['EPOST_TEST_SEED'] ?? 4)

function node(hex: string): NodeHandle {
  return handle(Id.fromHex(hex.padEnd(32, '0')), `sim:${hex}`)
}

describe(`PNS helpers (seed ${SEED})`, () => {
  it('puts a row on the wire with our RTTs, and bounds the RTT to each entry from both sides', () => {
    const self = node('a')
    const table = new RoutingTable(self, 4)
    table.consider(node('1'), 30.4)
    table.consider(node('2'), Infinity)
    table.consider(node('3'), 1e9)
    const { row, rtts } = wireRow(table, 0)
    expect(row[1]).toEqual(['sim:1', 'sim:2', 'sim:3'])
    // A sender 100 ms from us: 30 ms from it is 70..130 ms from us; not measured -> unbounded;
    // capped -> |100 - 65534| .. 100 + 65534.
    expect(rowBounds(100, rtts)).toEqual([{ least: 70, most: 130 }, UNBOUNDED, { least: 65434, most: 65634 }])
    // We never measured the sender: nothing is ruled out.
    expect(rowBounds(undefined, rtts)).toEqual([UNBOUNDED, UNBOUNDED, UNBOUNDED])
    expect(wireRow(table, 5).row[1]).toEqual([])
  })

  it('probes a candidate that may win, and not one that cannot or would win by little', () => {
    // Entry 50 ms away, slack 2 ms, factor 1.2: the estimate sqrt((least^2 + most^2) / 2) must stay under 60 ms.
    const worth = (least: number, most: number, occupant = 50): boolean => worthProbing({ least, most }, occupant, 2, 1.2)
    // A relay 30 ms away whose candidate is 40 ms from it: bounds 10..70, estimate 50.
    expect(worth(10, 70)).toBe(true)
    expect(worth(52, 60)).toBe(true)
    // Cannot win: at least 53 ms, more than the entry's 50 and the 2 ms of slack.
    expect(worth(53, 60)).toBe(false)
    // Bounds 0..84 estimate 59.4 ms; 0..85, 60.1 ms.
    expect(worth(0, 84)).toBe(true)
    expect(worth(0, 85)).toBe(false)
    // A relay 45 ms away, the candidate 40 ms from it: it could be 5 ms away, but likely is not.
    expect(worth(5, 85)).toBe(false)
    // No bound from above, or an entry not yet measured: only the least bound can rule it out.
    expect(worthProbing(UNBOUNDED, 50, 2, 1.2)).toBe(true)
    expect(worth(10, 900, Infinity)).toBe(true)
  })

  it('measures one candidate per cell at a time and offers the waiting ones again, most promising first', () => {
    const offered: Array<{ ids: string[]; bounds: RttBounds[] }> = []
    const holds = new CellHolds(16, (c, bounds) => offered.push({ ids: c.map((h) => h.address), bounds }))
    const cell = { row: 0, col: 1 }
    expect(holds.wait(cell, node('11'), { least: 5, most: 9 })).toBe(false)
    const release = holds.hold(cell)
    expect(holds.held(cell)).toBe(true)
    expect(holds.held({ row: 0, col: 2 })).toBe(false)
    const rng = new Rng(SEED)
    const bounds = Array.from({ length: MAX_QUEUED_PER_CELL + 4 }, () => {
      const least = rng.int(300)
      return { least, most: least + rng.int(300) }
    })
    bounds.forEach((b, i) => expect(holds.wait(cell, node(`1${i.toString(16).padStart(2, '0')}`), b)).toBe(true))
    // The same candidate heard of again: the two bounds meet.
    const first = bounds[0] as RttBounds
    expect(holds.wait(cell, node('100'), { least: first.least + 1, most: first.most + 50 })).toBe(true)
    release()
    expect(holds.held(cell)).toBe(false)
    expect(offered).toHaveLength(1)
    const got = offered[0] as { ids: string[]; bounds: RttBounds[] }
    // At most MAX_QUEUED_PER_CELL wait; the first ones to come are kept, sorted by the middle of their bounds.
    const kept = bounds.slice(0, MAX_QUEUED_PER_CELL)
    kept[0] = { least: first.least + 1, most: first.most }
    const mid = (b: RttBounds): number => (b.least + b.most) / 2
    expect(got.bounds).toHaveLength(MAX_QUEUED_PER_CELL)
    expect(got.bounds.map(mid)).toEqual(kept.map(mid).sort((a, b) => a - b))
    expect(got.bounds).toContainEqual(kept[0])
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
    expect(rowBounds(0, second.rtts)).toEqual([{ least: 41, most: 41 }])
    table.consider(node('2'), 10)
    expect(rows.get(0).row[1]).toEqual(['sim:1', 'sim:2'])
    table.remove(node('1').id)
    expect(rows.get(0).row[1]).toEqual(['sim:2'])
    // Beyond the table: nothing, and nothing cached.
    expect(rows.get(40).row[1]).toEqual([])
  })
})
