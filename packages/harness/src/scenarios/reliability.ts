import { Rng } from '@epost/core'
import type { Progress } from '../progress.js'

export interface ReliabilityOptions {
  /** Probability that a peer is up. */
  p: number
  /** Target probability that a user action (reading and sending: two objects) succeeds. */
  target: number
  /** Peers in the ring (I in the slides). @default 1000 */
  peers?: number
  /** Simulated objects per p. @default 200_000 */
  trials?: number
  /** Peers that join between the write and the read (cause 3). @default 100 */
  joins?: number
  seed?: number
}

export interface ReliabilityRow {
  p: number
  k: number
  /** (1 - p)^k: all k holders down at read time. */
  pl1: number
  /** The real k closest were down at write time and are up at read time (slide approximation). */
  pl2: number
  /** p_l3 ≈ Σ_{i=k}^{J} C(J, i) I^-i: at least k of J joining peers land closer than the holders. */
  pl3: number
  /** Loss observed in the simulation, and the part a reader avoids by searching 2k nodes. */
  simulatedLoss: number
  simulatedLossSearching2k: number
  /** Cause 3 simulated: the k closest at read time are all newcomers that never got the object. */
  simulatedJoinLoss: number
  trials: number
}

export interface ReliabilityResult {
  p: number
  target: number
  /** k = ceil(log(1 - sqrt(pt)) / log(1 - p)): the Kangasharju choice of k. */
  k: number
  /** p_t achieved with that k: (1 - (1 - p)^k)^2. */
  achieved: number
  /** The slides' table, recomputed with this k and simulated. */
  table: ReliabilityRow[]
}

/** k for target p_t (two objects per user action), as in Kangasharju, Ross & Turner. */
export function replicasFor(p: number, target: number): number {
  if (!(p > 0 && p < 1) || !(target > 0 && target < 1)) throw new RangeError('p and target must be in (0, 1)')
  return Math.max(1, Math.ceil(Math.log(1 - Math.sqrt(target)) / Math.log(1 - p)))
}

function binom(n: number, i: number): number {
  let r = 1
  for (let j = 1; j <= i; j++) r = (r * (n - i + j)) / j
  return r
}

/** p_l2 ≈ Σ_{i=k}^{(1-p)I} C((1-p)I, i) (p(1-p)/I)^i */
export function pl2(p: number, k: number, peers: number): number {
  const n = Math.floor((1 - p) * peers)
  let s = 0
  for (let i = k; i <= n; i++) s += binom(n, i) * Math.pow((p * (1 - p)) / peers, i)
  return s
}

/**
 * Monte Carlo of the slides' model: peers uniformly in hash space, each up with probability p at
 * write time and, independently, at read time. The writer stores on the k closest peers that are
 * up; the reader asks the k (or 2k) closest peers that are up when it reads. Lost when none of
 * those holds the object: causes 1 (holders down) and 2 (closer peers back up) both show.
 */
export function simulateLoss(p: number, k: number, peers: number, trials: number, rng: Rng): { loss: number; loss2k: number } {
  let lost = 0
  let lost2k = 0
  const window = Math.min(peers, 8 * k + 64)
  for (let t = 0; t < trials; t++) {
    // Only the nearest `window` peers to the key matter; they are in distance order.
    const holders = new Set<number>()
    for (let i = 0; i < window && holders.size < k; i++) if (rng.next() < p) holders.add(i)
    let asked = 0
    let found = false
    let found2k = false
    for (let i = 0; i < window && asked < 2 * k; i++) {
      if (rng.next() >= p) continue
      asked++
      if (holders.has(i)) {
        if (asked <= k) found = true
        found2k = true
        if (found) break
      }
    }
    if (!found) lost++
    if (!found2k) lost2k++
  }
  return { loss: lost / trials, loss2k: lost2k / trials }
}

/** p_l3 ≈ Σ_{i=k}^{J} C(J, i) (1/I)^i */
export function pl3(k: number, joins: number, peers: number): number {
  let s = 0
  for (let i = k; i <= joins; i++) s += binom(joins, i) * Math.pow(1 / peers, i)
  return s
}

/**
 * Cause 3 by Monte Carlo: `joins` peers join between write and read, each landing among the k
 * closest to the key with probability k / peers (ids are uniform); the object is lost to a reader
 * asking the k closest when at least k newcomers landed there (and no upkeep moved the object).
 */
export function simulateJoinLoss(k: number, joins: number, peers: number, trials: number, rng: Rng): number {
  let lost = 0
  const q = k / peers
  for (let t = 0; t < trials; t++) {
    let closer = 0
    for (let j = 0; j < joins && closer < k; j++) if (rng.next() < q) closer++
    if (closer >= k) lost++
  }
  return lost / trials
}

export async function reliabilityScenario(o: ReliabilityOptions, progress: Progress): Promise<ReliabilityResult> {
  const peers = o.peers ?? 1000
  const trials = o.trials ?? 200_000
  const joins = o.joins ?? 100
  const rng = new Rng(o.seed ?? 1)
  const k = replicasFor(o.p, o.target)
  const table: ReliabilityRow[] = []
  for (const p of [0.99, 0.9, 0.5, 0.3]) {
    progress(`simulating p = ${p}, k = ${k}, ${trials} objects`)
    const sim = simulateLoss(p, k, peers, trials, rng.fork(`p${p}`))
    const joinLoss = simulateJoinLoss(k, joins, peers, trials, rng.fork(`joins${p}`))
    table.push({ p, k, pl1: Math.pow(1 - p, k), pl2: pl2(p, k, peers), pl3: pl3(k, joins, peers), simulatedLoss: sim.loss, simulatedLossSearching2k: sim.loss2k, simulatedJoinLoss: joinLoss, trials })
  }
  return { p: o.p, target: o.target, k, achieved: Math.pow(1 - Math.pow(1 - o.p, k), 2), table }
}
