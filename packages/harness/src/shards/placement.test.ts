import { describe, expect, it } from 'vitest'
import { Rng } from '@epost/core'
import { constantLatency, planeLatency, sphereLatency } from '@epost/transport/sim'
import type { LatencyModel, Point } from '@epost/transport/sim'
import { planShards } from './placement.js'

const SEED = Number(process.env['EPOST_TEST_SEED'] ?? 20261206)

function points(model: LatencyModel, n: number, seed = SEED): Point[] {
  const rng = new Rng(seed)
  return Array.from({ length: n }, () => model.place(rng))
}

/** Every pair of nodes in different shards, measured (the plan's promise, checked the slow way). */
function closestAcross(pts: Point[], shardOf: Uint16Array, model: LatencyModel): number {
  let least = Infinity
  for (let i = 0; i < pts.length; i++)
    for (let j = i + 1; j < pts.length; j++) if (shardOf[i] !== shardOf[j]) least = Math.min(least, Math.round(model.latencyMs(pts[i] as Point, pts[j] as Point)))
  return least
}

describe(`planShards (seed ${SEED})`, () => {
  it('keeps nodes closer than the lookahead in one shard, and the shards even', () => {
    const model = sphereLatency()
    // Dense enough that near pairs exist (hundreds under 3.5 ms among 3,000 points), in small groups.
    const pts = points(model, 3000)
    const plan = planShards(pts, 2, model)
    expect(plan.lookaheadMs).toBe(4)
    expect(closestAcross(pts, plan.shardOf, model)).toBeGreaterThanOrEqual(plan.lookaheadMs)
    const zero = plan.shardOf.filter((s) => s === 0).length
    expect(Math.abs(zero - 1500)).toBeLessThanOrEqual(20)
    // The same points give the same plan (every shard computes it on its own).
    expect(planShards(pts, 2, model).shardOf).toEqual(plan.shardOf)
  })

  it('falls back to 1 ms and round robin where near pairs chain into large groups', () => {
    // 4,000 points in a plane whose latency spans only 1..3 ms: nearly every pair rounds under 2 ms.
    const model = planeLatency({ minMs: 1, maxMs: 3 })
    const plan = planShards(points(model, 4000), 2, model)
    expect(plan.lookaheadMs).toBe(1)
    expect([...plan.shardOf.slice(0, 4)]).toEqual([0, 1, 0, 1])
  })

  it('needs no grouping when every pair is far enough apart', () => {
    const model = constantLatency(5)
    const plan = planShards(points(model, 10), 3, model)
    expect(plan.lookaheadMs).toBe(4)
    expect([...plan.shardOf]).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
  })
})
