import { describe, expect, it } from 'vitest'
import { Id, Rng, VirtualClock, handle } from '@epost/core'
import type { NodeHandle } from '@epost/core'
import { HOLD_TIMEOUT_MS, PARTITION_CHECK_BACKOFF, PARTITION_CHECK_INTERVAL_MS, ROW_EXCHANGE_BACKOFF, ROW_EXCHANGE_INTERVAL_MS, TABLE_PROBE_BACKOFF, TABLE_PROBE_INTERVAL_MS } from './constants.js'
import { LeafSet } from './leaf-set.js'
import { Liveness } from './liveness.js'
import { Maintenance } from './maintenance.js'
import type { MaintenanceHost } from './maintenance.js'
import { RoutingTable } from './routing-table.js'

const SEED = Number(process.env['EPOST_TEST_SEED'] ?? 11)

const node = (hex: string): NodeHandle => handle(Id.fromHex(hex.padEnd(32, '0')), `sim:${hex}`)

/** A task that found nothing to do for `quiet` ms ran at `times`: its period doubled up to `cap` (±10 % jitter). */
function expectBackedOff(times: readonly number[], quiet: number, cap: number): void {
  expect(times.length).toBeLessThan(quiet / cap + 6)
  const gaps = times.slice(1).map((t, i) => t - (times[i] as number))
  expect(Math.max(...gaps)).toBeGreaterThan(0.9 * cap)
  expect(Math.max(...gaps)).toBeLessThanOrEqual(1.1 * cap)
}

/** A host that does nothing, with `self`'s own empty state, but for what the test gives. */
function hostFor(clock: VirtualClock, self: NodeHandle, given: Partial<MaintenanceHost>): MaintenanceHost {
  return {
    localHandle: self,
    leafSet: new LeafSet(self, 16),
    table: new RoutingTable(self, 4),
    liveness: new Liveness(clock),
    ready: true,
    bootstraps: [],
    check: async () => undefined,
    wireLeafSet: () => [new Uint8Array(0), []],
    probe: async () => undefined,
    membership: { offer: () => undefined, fetchRow: () => undefined },
    sendControl: () => undefined,
    releaseStaleHeld: () => undefined,
    ...given,
  }
}

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
    const host = hostFor(clock, self, {
      table,
      membership: {
        offer: () => undefined,
        fetchRow: () => {
          fetched.push(clock.now())
          // What an exchange brings: a closer entry for some cell, or nothing.
          if (improve) table.consider(node(`2${closer}`), closer--)
        },
      },
    })
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
    expectBackedOff(fetched, quiet, cap)
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
    const host = hostFor(clock, self, {
      liveness,
      // A bootstrap this node no longer knows: a candidate for every check.
      bootstraps: [boot],
      probe: async (h) => {
        probed.push({ at: clock.now(), hex: h.id.hex })
        return { nonce: 0, ready: true }
      },
      sendControl: (to, name) => void (name === 'joinRequest' && joinRequests.push(to.id.hex)),
    })
    const base = PARTITION_CHECK_INTERVAL_MS
    const m = new Maintenance(host, clock, new Rng(SEED), { leafProbeIntervalMs: 10_000, rowExchangeIntervalMs: ROW_EXCHANGE_INTERVAL_MS, partitionCheckIntervalMs: base })
    m.start()
    // No node dies: the period doubles up to its cap, and each check asks the bootstrap.
    const quiet = 40 * base
    await clock.advance(quiet)
    const cap = base * PARTITION_CHECK_BACKOFF
    expectBackedOff(probed.map((p) => p.at), quiet, cap)
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
    const host = hostFor(clock, self, {
      table,
      ready: false,
      membership: { offer: () => undefined, fetchRow: () => void fetched++ },
      releaseStaleHeld: () => void released.push(clock.now()),
    })
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

  it('exchanges leaf sets with the neighbours only, checks the members a leaf set lacks, and skips a neighbour that pushed this round', async () => {
    const clock = new VirtualClock()
    const self = node('80')
    const n = (hex: string): NodeHandle => node(hex)
    const [cw1, cw2, cw3, ccw1, ccw2, ccw3] = [n('81'), n('82'), n('83'), n('7f'), n('7e'), n('7d')]
    // Three a side, both full.
    const leafSet = new LeafSet(self, 6)
    for (const h of [cw1, cw2, cw3, ccw1, ccw2, ccw3]) leafSet.add(h)
    const liveness = new Liveness(clock)
    // The neighbours' leaf sets (three a side): cw1's lacks cw3 (declared dead there, say).
    const withoutCw3 = [ccw2, ccw1, self, cw2, n('84'), n('85')]
    const withCw3 = [ccw1, self, cw2, cw3, n('84')]
    const theirs = new Map([
      [cw1.id.hex, withoutCw3],
      [ccw1.id.hex, [n('7c'), ccw3, ccw2, self, cw1, cw2]],
    ])
    const checks: Array<{ peer: string; reason: string; pushed: boolean }> = []
    let offered = 0
    const interval = 10_000
    const host = hostFor(clock, self, {
      leafSet,
      liveness,
      check: async (h, _want, reason, extra) => {
        checks.push({ peer: h.address, reason, pushed: extra?.own !== undefined })
        return { nonce: 0, ready: true, leafSet: theirs.get(h.id.hex) ?? [] }
      },
      membership: { offer: () => void offered++, fetchRow: () => undefined },
    })
    const m = new Maintenance(host, clock, new Rng(SEED), { leafProbeIntervalMs: interval, rowExchangeIntervalMs: ROW_EXCHANGE_INTERVAL_MS, partitionCheckIntervalMs: PARTITION_CHECK_INTERVAL_MS })
    m.start()
    const round = async (): Promise<Array<{ peer: string; reason: string; pushed: boolean }>> => {
      checks.length = 0
      await clock.advance(interval * 1.1)
      return checks.filter((c) => c.reason.startsWith('leaf'))
    }
    // Both neighbours are probed with our leaf set; cw3, missing from cw1's, is checked; nobody else.
    expect(await round()).toEqual([
      { peer: cw1.address, reason: 'leafset', pushed: true },
      { peer: ccw1.address, reason: 'leafset', pushed: true },
      { peer: cw3.address, reason: 'leafgap', pushed: false },
    ])
    expect(offered).toBe(2)
    // The same leaf sets again are no news: nothing is offered or checked.
    expect((await round()).map((c) => c.peer)).toEqual([cw1.address, ccw1.address])
    expect(offered).toBe(2)
    // cw1's changes, still without cw3: cw3 is checked again, though heard from a moment ago (it
    // may have died since, and an unchanged leaf set is not looked at again).
    theirs.set(cw1.id.hex, [...withoutCw3.slice(0, -1), n('86')])
    liveness.heard(cw3)
    expect((await round()).map((c) => c.peer)).toEqual([cw1.address, ccw1.address, cw3.address])
    expect(offered).toBe(3)
    // cw1 pushes its leaf set (now with cw3): this round only ccw1 is probed.
    theirs.set(cw1.id.hex, withCw3)
    m.onPushedLeafSet(cw1, withCw3)
    expect((await round()).map((c) => c.peer)).toEqual([ccw1.address])
    // A push from a node that is not our neighbour saves no probe; what it lacks in its span is checked.
    checks.length = 0
    m.onPushedLeafSet(cw2, [ccw1, cw1, self, n('84'), n('85'), n('86')])
    expect(checks).toEqual([{ peer: cw3.address, reason: 'leafgap', pushed: false }])
    await clock.advance(0.2 * interval)
    expect((await round()).map((c) => c.peer)).toEqual([cw1.address, ccw1.address])
    // A neighbour died: both neighbours and every other member get our leaf set at once.
    m.onPushedLeafSet(cw1, withCw3)
    checks.length = 0
    m.leafSetLostMember(true)
    expect(checks).toEqual([
      { peer: cw1.address, reason: 'leafset', pushed: true },
      { peer: ccw1.address, reason: 'leafset', pushed: true },
      ...[cw2, cw3, ccw2, ccw3].map((h) => ({ peer: h.address, reason: 'leafnews', pushed: true })),
    ])
    // Another member died: only the neighbours.
    checks.length = 0
    m.leafSetLostMember(false)
    expect(checks.map((c) => c.peer)).toEqual([cw1.address, ccw1.address])
    m.stop()
  })

  it('probes silent routing-table entries every minute while peers die, and backs off while none do', async () => {
    const clock = new VirtualClock()
    const self = node('a')
    const table = new RoutingTable(self, 4)
    const entry = node('1')
    table.consider(entry, 40)
    const liveness = new Liveness(clock)
    const probed: number[] = []
    const host = hostFor(clock, self, {
      table,
      liveness,
      check: async (h, _want, reason) => {
        if (reason === 'table' && h.id.equals(entry.id)) probed.push(clock.now())
        return undefined
      },
    })
    const base = TABLE_PROBE_INTERVAL_MS
    const m = new Maintenance(host, clock, new Rng(SEED), { leafProbeIntervalMs: 10_000, rowExchangeIntervalMs: ROW_EXCHANGE_INTERVAL_MS, partitionCheckIntervalMs: PARTITION_CHECK_INTERVAL_MS })
    m.start()
    // Nobody dies: the silent entry is probed at periods doubling up to the cap.
    const quiet = 40 * base
    await clock.advance(quiet)
    expectBackedOff(probed, quiet, base * TABLE_PROBE_BACKOFF)
    // One death: the next tick (within a period) runs a round.
    probed.length = 0
    const diedAt = clock.now()
    liveness.markDead(node('c'))
    while (probed.length === 0) await clock.advance(1_000)
    expect((probed[0] as number) - diedAt).toBeLessThanOrEqual(1.1 * base)
    // An entry heard from since the last round is not probed in the next one.
    liveness.heard(entry)
    liveness.markDead(node('d'))
    await clock.advance(1.1 * base)
    expect(probed).toHaveLength(1)
    // A peer dies every half minute: rounds come a minute apart.
    probed.length = 0
    for (let i = 0; i < 28; i++) {
      liveness.markDead(node(`c${i}`))
      await clock.advance(base / 2)
    }
    const last = probed.slice(-4)
    expect(last).toHaveLength(4)
    expect(Math.max(...last.slice(1).map((t, i) => t - (last[i] as number)))).toBeLessThanOrEqual(1.1 * base)
    m.stop()
  })
})
