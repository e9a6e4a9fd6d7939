import { describe, expect, it } from 'vitest'
import { Id, Rng, VirtualClock, handle } from '@epost/core'
import type { NodeHandle } from '@epost/core'
import { ROW_EXCHANGE_BACKOFF, ROW_EXCHANGE_INTERVAL_MS, TABLE_PROBE_INTERVAL_MS } from './constants.js'
import { LeafSet } from './leaf-set.js'
import { Liveness } from './liveness.js'
import { Maintenance } from './maintenance.js'
import type { MaintenanceHost } from './maintenance.js'
import { RoutingTable } from './routing-table.js'

const SEED = Number(process.env['EPOST_TEST_SEED'] ?? 11)

const node = (hex: string): NodeHandle => handle(Id.fromHex(hex.padEnd(32, '0')), `sim:${hex}`)

describe(`Maintenance (seed ${SEED})`, () => {
  it('exchanges rows often while the table improves, and backs off once it stops', async () => {
    const clock = new VirtualClock()
    const self = node('a')
    const table = new RoutingTable(self, 4)
    table.consider(node('1'), 40)
    const fetched: number[] = []
    // A neighbour that never answers with anything better, until `improve` says otherwise.
    let improve = false
    let closer = 30
    const host: MaintenanceHost = {
      localHandle: self,
      leafSet: new LeafSet(self, 16),
      table,
      liveness: new Liveness(clock),
      ready: true,
      bootstraps: [],
      check: async () => undefined,
      probe: async () => undefined,
      membership: {
        offer: () => undefined,
        fetchRow: () => {
          fetched.push(clock.now())
          // What an exchange brings: a closer entry for some cell, or nothing.
          if (improve) table.consider(node(`2${closer}`), closer--)
        },
      },
      sendControl: () => undefined,
      releaseStaleHeld: () => undefined,
    }
    const m = new Maintenance(host, clock, new Rng(SEED), { leafProbeIntervalMs: 10_000, rowExchangeIntervalMs: ROW_EXCHANGE_INTERVAL_MS, partitionCheckIntervalMs: 60_000 })
    m.start()
    // Every exchange improves the table: the period stays at its minimum (±10 % jitter).
    improve = true
    await clock.advance(10 * ROW_EXCHANGE_INTERVAL_MS)
    const busy = fetched.length
    expect(busy).toBeGreaterThanOrEqual(8)
    // Nothing improves any more: the period doubles up to its cap.
    improve = false
    fetched.length = 0
    const quiet = 40 * ROW_EXCHANGE_INTERVAL_MS
    await clock.advance(quiet)
    const cap = ROW_EXCHANGE_INTERVAL_MS * ROW_EXCHANGE_BACKOFF
    expect(fetched.length).toBeLessThan(quiet / cap + 5)
    const gaps = fetched.slice(1).map((t, i) => t - (fetched[i] as number))
    expect(Math.max(...gaps)).toBeGreaterThan(0.9 * cap)
    expect(Math.max(...gaps)).toBeLessThanOrEqual(1.1 * cap)
    // A change in the table (a churned entry replaced, a newcomer) brings the short period back.
    table.remove(node('1').id)
    table.consider(node('3'), 15)
    fetched.length = 0
    await clock.advance(2 * cap)
    const first = fetched[0] as number
    expect(fetched.filter((t) => t <= first + 1.1 * ROW_EXCHANGE_INTERVAL_MS)).toHaveLength(2)
    m.stop()
    // Stopped: nothing more.
    fetched.length = 0
    await clock.advance(TABLE_PROBE_INTERVAL_MS)
    expect(fetched).toEqual([])
  })
})
