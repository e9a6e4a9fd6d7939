import { describe, expect, it } from 'vitest'
import { Rng } from '@epost/core'
import { pl3, replicasFor, simulateJoinLoss, simulateLoss } from './scenarios/reliability.js'

describe('the Kangasharju reliability analysis', () => {
  it('chooses k = ceil(log(1 - sqrt(pt)) / log(1 - p)) and meets the target with it', () => {
    expect(replicasFor(0.9, 0.9999)).toBe(5)
    expect(replicasFor(0.5, 0.99)).toBe(8)
    for (const [p, t] of [[0.99, 0.999999], [0.9, 0.99], [0.5, 0.9], [0.3, 0.9]] as const) {
      const k = replicasFor(p, t)
      expect((1 - (1 - p) ** k) ** 2).toBeGreaterThanOrEqual(t)
      expect((1 - (1 - p) ** (k - 1)) ** 2).toBeLessThan(t)
    }
  })

  it('cause 1 is (1 - p)^k: a reader searching 2k nodes loses that much; one asking only k loses more (cause 2)', () => {
    const rng = new Rng(4)
    for (const p of [0.5, 0.3]) {
      const { loss, loss2k } = simulateLoss(p, 5, 1000, 100_000, rng.fork(p))
      const pl1 = (1 - p) ** 5
      expect(Math.abs(loss2k - pl1) / pl1).toBeLessThan(0.1)
      expect(loss).toBeGreaterThan(loss2k)
    }
  })

  it('cause 3: loss to newcomers follows the binomial tail, and is negligible for k = 5', () => {
    const rng = new Rng(9)
    // Many joins in a small ring, so that the effect is measurable.
    const sim = simulateJoinLoss(2, 200, 100, 100_000, rng)
    const exact = 1 - (1 - 0.02) ** 200 - 200 * 0.02 * (1 - 0.02) ** 199
    expect(Math.abs(sim - exact) / exact).toBeLessThan(0.05)
    expect(pl3(5, 100, 1000)).toBeLessThan(1e-7)
  })
})
