import { describe, expect, it } from 'vitest'
import { storageScenario } from './scenarios/storage.js'
import { noProgress } from './progress.js'

const SEED = Number(process.env['EPOST_TEST_SEED'] ?? 3)

describe(`PAST on Pastry in the simulator: the k-replica invariant (seed ${SEED})`, () => {
  it('loses nothing and is back on k replicas after k-1 nodes of one replica set crash at once', async () => {
    const r = await storageScenario({ nodes: 60, objects: 300, k: 5, fail: 4, seed: SEED }, noProgress)
    expect(r.inserted).toBe(300)
    expect(r.lost).toBe(0)
    expect(r.retrievable).toBe(300)
    expect(r.replicasAtK).toBe(1)
  }, 120_000)
})
