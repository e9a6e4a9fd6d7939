import { describe, expect, it } from 'vitest'
import { Rng } from '@epost/core'
import { constantLatency, planeLatency, sphereLatency } from '@epost/transport/sim'
import type { LatencyModel, Point } from '@epost/transport/sim'
import { NearestIndex } from './nearest.js'

const seed = Number(process.env['EPOST_TEST_SEED'] ?? 7)

/** The answer by brute force: least latency, first added on ties. */
function scan(model: LatencyModel, points: Array<{ id: number; at: Point; alive: boolean }>, here: Point): number | undefined {
  let best: number | undefined
  let lat = Infinity
  for (const p of points) {
    if (!p.alive) continue
    const l = model.latencyMs(here, p.at)
    if (l < lat) {
      lat = l
      best = p.id
    }
  }
  return best
}

describe(`NearestIndex (seed ${seed})`, () => {
  for (const [name, model] of [
    ['sphere', sphereLatency()],
    ['plane', planeLatency()],
  ] as const) {
    it(`finds the nearest live point in the ${name} model as a scan does, as points die`, () => {
      const rng = new Rng(seed)
      const points: Array<{ id: number; at: Point; alive: boolean }> = []
      const index = new NearestIndex<{ id: number; at: Point; alive: boolean }>(model, (p) => p.alive)
      let checked = 0
      for (let i = 0; i < 3000; i++) {
        const p = { id: i, at: model.place(rng), alive: true }
        points.push(p)
        index.add(p, p.at)
        if (i % 7 === 0) (rng.pick(points) as { alive: boolean }).alive = false
        if (i % 10 === 0) {
          const here = model.place(rng)
          const want = scan(model, points, here)
          const got = index.nearest(here)
          // Equal latency is a tie either may win; compare latencies, not ids.
          expect(got === undefined ? undefined : model.latencyMs(here, got.at), `query ${i}`).toBe(want === undefined ? undefined : model.latencyMs(here, (points[want] as { at: Point }).at))
          expect(got?.alive ?? true).toBe(true)
          checked++
        }
      }
      expect(checked).toBe(300)
      // The ring shrinks back to a few live points: still the nearest, found by scanning the cells.
      const survivors = new Set(points.filter((p) => p.alive).slice(0, 10))
      for (const p of points) p.alive = survivors.has(p)
      for (let q = 0; q < 20; q++) {
        const here = model.place(rng)
        const want = scan(model, points, here)
        expect(model.latencyMs(here, (index.nearest(here) as { at: Point }).at)).toBe(model.latencyMs(here, (points[want as number] as { at: Point }).at))
      }
    })
  }

  it('scans when the model is not Euclidean, and answers undefined when nobody is left', () => {
    const model: LatencyModel = { place: (r) => [r.next()], latencyMs: (a, b) => Math.abs(Math.sin(((a[0] as number) - (b[0] as number)) * 50)) }
    const index = new NearestIndex<{ at: Point; alive: boolean }>(model, (p) => p.alive)
    const a = { at: [0.1], alive: true }
    const b = { at: [0.5], alive: true }
    index.add(a, a.at)
    index.add(b, b.at)
    expect(index.nearest([0.5])).toBe(b)
    b.alive = false
    expect(index.nearest([0.5])).toBe(a)
    a.alive = false
    expect(index.nearest([0.5])).toBeUndefined()
    const flat = new NearestIndex<number>(constantLatency(5), () => true)
    flat.add(1, [0])
    expect(flat.nearest([0])).toBe(1)
  })
})
