import { describe, expect, it } from 'vitest'
import { churnScenario } from './scenarios/churn.js'
import { noProgress } from './progress.js'

const SEED = Number(process.env['EPOST_TEST_SEED'] ?? 11)

describe(`Pastry under churn in the simulator (seed ${SEED})`, () => {
  it('keeps delivering at the right root while nodes crash and join (5-minute sessions)', async () => {
    const r = await churnScenario({ nodes: 100, minutes: 5, sessionMinutes: 5, lookupsPerSecond: 5, seed: SEED }, noProgress)
    // About 100 crashes and as many joins among 100 nodes in 5 minutes: far harsher than the
    // 30-minute sessions of the experiment.
    expect(r.crashes).toBeGreaterThan(60)
    expect(r.lookups).toBe(1500)
    expect(r.wrongRoot).toBe(0)
    // What the overlay lost itself, not counting lookups whose sender crashed with them: a
    // message in the custody of a hop that crashes before passing it on. With a crash every
    // 3 s among 100 nodes that is rare but not nil; the 30-minute experiment measures the rate.
    expect(r.lost - r.lostSourceCrashed).toBeLessThanOrEqual(7)
  }, 120_000)
})
