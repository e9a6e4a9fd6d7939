import type { Rng } from '@epost/core'
import { SIM_MAX_LATENCY_MS, SIM_MIN_LATENCY_MS } from '../constants.js'

/** A node's place in the model's metric space (coordinates; their meaning is the model's). */
export type Point = readonly number[]

/**
 * Where nodes sit and how long a frame takes between two places. The network asks for a point
 * once per node and for a latency once per frame, so both must be cheap and allocation-free.
 */
export interface LatencyModel {
  /** Draws a position for a node that did not bring one. */
  place(rng: Rng): Point
  /** One-way base latency between two positions in ms, before jitter and rounding. */
  latencyMs(a: Point, b: Point): number
  /**
   * Latency never falls as the straight-line (Euclidean) distance between the points grows, so
   * a spatial index over the points finds the nearest node (the simulator's bootstrap search).
   */
  readonly euclidean?: boolean
  /**
   * A straight-line distance beyond which two points are at least `ms` apart in latency (0 when
   * every pair is; Infinity when no distance is enough). A parallel simulator uses it to find the
   * few pairs of nodes closer than its lookahead without measuring every pair.
   */
  reach?(ms: number): number
}

export interface ScaledLatencyInit {
  /** Latency between coincident points, in ms. @default SIM_MIN_LATENCY_MS */
  minMs?: number
  /** Latency between the farthest possible points, in ms. @default SIM_MAX_LATENCY_MS */
  maxMs?: number
}

function scale(init: ScaledLatencyInit): { min: number; span: number } {
  const min = init.minMs ?? SIM_MIN_LATENCY_MS
  const max = init.maxMs ?? SIM_MAX_LATENCY_MS
  if (!(min >= 0) || !(max >= min)) throw new RangeError(`latency bounds must satisfy 0 <= minMs <= maxMs, got ${min}..${max}`)
  return { min, span: max - min }
}

/**
 * Points uniform on the unit sphere; latency grows linearly with the great-circle distance, from
 * `minMs` (same place) to `maxMs` (antipodes). No edges, so every node sees the same spread:
 * FreePastry's SphereNetwork.
 */
export function sphereLatency(init: ScaledLatencyInit = {}): LatencyModel {
  const { min, span } = scale(init)
  return {
    // The great-circle distance grows with the chord.
    euclidean: true,
    place(rng) {
      const z = rng.range(-1, 1)
      const phi = rng.range(0, 2 * Math.PI)
      const r = Math.sqrt(1 - z * z)
      return [r * Math.cos(phi), r * Math.sin(phi), z]
    },
    latencyMs(a, b) {
      const dot = (a[0] as number) * (b[0] as number) + (a[1] as number) * (b[1] as number) + (a[2] as number) * (b[2] as number)
      return min + (span * Math.acos(dot > 1 ? 1 : dot < -1 ? -1 : dot)) / Math.PI
    },
    // The great-circle angle is at least the chord.
    reach: (ms) => (ms <= min ? 0 : span === 0 ? Infinity : ((ms - min) * Math.PI) / span),
  }
}

/**
 * Points uniform in the unit square; latency grows linearly with Euclidean distance, from
 * `minMs` to `maxMs` at opposite corners: FreePastry's EuclideanNetwork.
 */
export function planeLatency(init: ScaledLatencyInit = {}): LatencyModel {
  const { min, span } = scale(init)
  const perUnit = span / Math.SQRT2
  return {
    euclidean: true,
    place(rng) {
      return [rng.next(), rng.next()]
    },
    latencyMs(a, b) {
      const dx = (a[0] as number) - (b[0] as number)
      const dy = (a[1] as number) - (b[1] as number)
      return min + perUnit * Math.sqrt(dx * dx + dy * dy)
    },
    reach: (ms) => (ms <= min ? 0 : perUnit === 0 ? Infinity : (ms - min) / perUnit),
  }
}

/** Every pair of nodes `ms` apart (tests that want exact numbers). */
export function constantLatency(ms: number): LatencyModel {
  if (!(ms >= 0)) throw new RangeError(`latency must be >= 0 ms, got ${ms}`)
  const origin: Point = [0]
  return {
    euclidean: true,
    place: () => origin,
    latencyMs: () => ms,
    reach: (x) => (x <= ms ? 0 : Infinity),
  }
}
