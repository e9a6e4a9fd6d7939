import { describe, expect, it } from 'vitest'
import { Id, Rng, VirtualClock, handle } from '@epost/core'
import type { NodeHandle } from '@epost/core'
import { HOLD_TIMEOUT_MS, PARTITION_CHECK_BACKOFF, PARTITION_CHECK_INTERVAL_MS, ROW_EXCHANGE_BACKOFF, ROW_EXCHANGE_INTERVAL_MS, TABLE_PROBE_INTERVAL_MS } from './constants.js'
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

  it('checks for a healed partition every minute while nodes die, and backs off while none do', async () => {
    const clock = new VirtualClock()
    const self = node('a')
    const boot = node('b')
    const liveness = new Liveness(clock)
    const probed: Array<{ at: number; hex: string }> = []
    const joinRequests: string[] = []
    const host: MaintenanceHost = {
      localHandle: self,
      leafSet: new LeafSet(self, 16),
      table: new RoutingTable(self, 4),
      liveness,
      ready: true,
      // A bootstrap this node no longer knows: a candidate for every check.
      bootstraps: [boot],
      check: async () => undefined,
      probe: async (h) => {
        probed.push({ at: clock.now(), hex: h.id.hex })
        return { nonce: 0, ready: true }
      },
      membership: { offer: () => undefined, fetchRow: () => undefined },
      sendControl: (to, name) => void (name === 'joinRequest' && joinRequests.push(to.id.hex)),
      releaseStaleHeld: () => undefined,
    }
    const base = PARTITION_CHECK_INTERVAL_MS
    const m = new Maintenance(host, clock, new Rng(SEED), { leafProbeIntervalMs: 10_000, rowExchangeIntervalMs: ROW_EXCHANGE_INTERVAL_MS, partitionCheckIntervalMs: base })
    m.start()
    // No node dies: the period doubles up to its cap, and each check asks the bootstrap.
    const quiet = 40 * base
    await clock.advance(quiet)
    const cap = base * PARTITION_CHECK_BACKOFF
    expect(probed.length).toBeLessThan(quiet / cap + 6)
    const gaps = probed.slice(1).map((p, i) => p.at - (probed[i] as { at: number }).at)
    expect(Math.max(...gaps)).toBeGreaterThan(0.9 * cap)
    expect(Math.max(...gaps)).toBeLessThanOrEqual(1.1 * cap)
    expect(joinRequests).toHaveLength(probed.length)
    // Nodes are declared dead (a partition cuts off the other side), and the bootstrap is now
    // known: after the check already scheduled, the next comes a minute later, and probes the dead.
    host.leafSet.add(boot)
    const lost = [node('c1'), node('c2'), node('c3')]
    for (const h of lost) liveness.markDead(h)
    probed.length = 0
    await clock.advance(1.1 * cap + 1.1 * base)
    expect(probed.length).toBeGreaterThanOrEqual(2)
    expect((probed[1] as { at: number }).at - (probed[0] as { at: number }).at).toBeLessThanOrEqual(1.1 * base)
    expect(probed.every((p) => lost.some((h) => h.id.hex === p.hex))).toBe(true)
    // Each dead node that answered (the partition healed) is alive again, and was asked to route
    // a join request for us; while they keep answering, checks stay a minute apart.
    await clock.advance(2 * 1.1 * base)
    for (const h of lost) expect(liveness.status(h.id)).toBe('alive')
    for (const h of lost) expect(joinRequests).toContain(h.id.hex)
    const gapsAfter = probed.slice(1).map((p, i) => p.at - (probed[i] as { at: number }).at)
    expect(Math.max(...gapsAfter)).toBeLessThanOrEqual(1.1 * base)
    m.stop()
  })

  it('hands held messages on from the start of the join, once per period, before and after the node is ready', async () => {
    const clock = new VirtualClock()
    const self = node('a')
    const released: number[] = []
    let fetched = 0
    const table = new RoutingTable(self, 4)
    table.consider(node('1'), 40)
    const host: MaintenanceHost = {
      localHandle: self,
      leafSet: new LeafSet(self, 16),
      table,
      liveness: new Liveness(clock),
      ready: false,
      bootstraps: [],
      check: async () => undefined,
      probe: async () => undefined,
      membership: { offer: () => undefined, fetchRow: () => void fetched++ },
      sendControl: () => undefined,
      releaseStaleHeld: () => void released.push(clock.now()),
    }
    const m = new Maintenance(host, clock, new Rng(SEED), { leafProbeIntervalMs: 10_000, rowExchangeIntervalMs: ROW_EXCHANGE_INTERVAL_MS, partitionCheckIntervalMs: PARTITION_CHECK_INTERVAL_MS })
    // Joining: only the hand-off of held messages runs.
    m.startHeldRelease()
    await clock.advance(3.5 * HOLD_TIMEOUT_MS)
    expect(released.length).toBeGreaterThanOrEqual(3)
    expect(fetched).toBe(0)
    // Ready: the rest starts, and the hand-off keeps one timer.
    m.start()
    released.length = 0
    await clock.advance(10 * HOLD_TIMEOUT_MS)
    expect(released.length).toBeGreaterThanOrEqual(9)
    expect(released.length).toBeLessThanOrEqual(12)
    expect(fetched).toBeGreaterThan(0)
    m.stop()
  })
})
