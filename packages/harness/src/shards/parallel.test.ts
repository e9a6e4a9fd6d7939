import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { routingScenario } from '../scenarios/routing.js'
import type { RoutingResult } from '../scenarios/routing.js'
import { noProgress } from '../progress.js'
import { ShardError, rootCause } from './parallel.js'

const SEED = Number(process.env['EPOST_TEST_SEED'] ?? 20261206)

/** The figures that depend on the simulation only (not on the machine's speed). */
function simulated(r: RoutingResult): Omit<RoutingResult, 'buildSeconds' | 'lookupSeconds' | 'wallSeconds' | 'memoryPerNodeKB'> {
  const { buildSeconds: _b, lookupSeconds: _l, wallSeconds: _w, memoryPerNodeKB: _m, ...rest } = r
  return rest
}

describe(`the routing experiment in parallel shards (seed ${SEED})`, () => {
  it('builds one ring across two worker threads and routes every lookup to the correct root, the same way each run', async () => {
    const options = { nodes: 150, lookups: 2000, seed: SEED, settleMs: 10_000, shards: 2 }
    const a = await routingScenario(options, noProgress)
    expect(a.delivered).toBe(2000)
    expect(a.correctRootFraction).toBe(1)
    expect(a.leafSetPerNode).toBe(16)
    // Nodes of both shards are in every table: a ring split in two would have half-full tables
    // and send lookups to the wrong root.
    expect(a.tableEntriesPerNode).toBeGreaterThan(15)
    expect(a.messagesPerNode).toBeGreaterThan(0)
    const b = await routingScenario(options, noProgress)
    expect(simulated(b)).toEqual(simulated(a))
  }, 120_000)

  it('runs from the built package too, where no TypeScript loader is registered', () => {
    // `npm test` builds dist/ (tsc -b) before vitest runs.
    const dist = fileURLToPath(new URL('../../dist/index.js', import.meta.url))
    expect(existsSync(dist), `${dist} is missing: build the workspace first (tsc -b; npm test does)`).toBe(true)
    const script = `const { routingScenario } = await import(${JSON.stringify(dist)}); const r = await routingScenario({ nodes: 150, lookups: 2000, seed: ${SEED}, settleMs: 10000, shards: 2 }, () => {}); console.log(JSON.stringify(r))`
    // Plain node: no tsx, no source condition, so every package resolves to its dist/.
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 110_000, env: { ...process.env, NODE_OPTIONS: '' } })
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    const r = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as RoutingResult
    expect([r.delivered, r.correctRootFraction, r.leafSetPerNode]).toEqual([2000, 1, 16])
    expect(r.tableEntriesPerNode).toBeGreaterThan(15)
  }, 120_000)

  it('scavenges in every shard at once when one asks (with --expose-gc), and routes exactly as without', async () => {
    // A shard whose young generation is nearly full asks every shard to scavenge when they read
    // its window's news (shard.ts). Under --expose-gc, with the small young generation a worker starts with,
    // that happens many times in a short run; each shard reports its count, which must agree.
    const dist = fileURLToPath(new URL('../../dist/index.js', import.meta.url))
    expect(existsSync(dist), `${dist} is missing: build the workspace first (tsc -b; npm test does)`).toBe(true)
    const options = { nodes: 150, lookups: 2000, seed: SEED, settleMs: 10_000, shards: 2 }
    const script = `const { routingScenario } = await import(${JSON.stringify(dist)}); const lines = []; const r = await routingScenario(${JSON.stringify(options)}, (l) => lines.push(l)); console.log(JSON.stringify({ r, lines }))`
    const run = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 110_000, env: { ...process.env, NODE_OPTIONS: '', EPOST_SIM_DEBUG: '1' } })
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    const out = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as { r: RoutingResult; lines: string[] }
    const together = out.lines.map((l) => /^shard (\d+): .*\((\d+) scavenges together;/.exec(l)).filter((m) => m !== null)
    expect(together.map((m) => m[1]).sort()).toEqual(['0', '1'])
    const counts = together.map((m) => Number(m[2]))
    expect(counts[0]).toBeGreaterThan(0)
    expect(counts[1]).toBe(counts[0])
    // Collecting is invisible to the simulation: the same figures as a run that never does.
    expect(simulated(out.r)).toEqual(simulated(await routingScenario(options, noProgress)))
  }, 120_000)

  it('reports a shard that fails instead of leaving the others waiting for it', async () => {
    // b = 3 is refused by every node as it is created: both shards fail at their first join,
    // and neither may wait for ever for the other's next window.
    await expect(routingScenario({ nodes: 4, lookups: 10, seed: SEED, shards: 2, b: 3 }, noProgress)).rejects.toThrow(/shard \d: b must be 1, 2, 4 or 8/)
  }, 60_000)

  it('reports the failure itself, not a shard that only saw it or was aborted waiting for it', () => {
    const echo = new ShardError(0, 'shard 1 failed', true)
    const aborted = new ShardError(2, 'the parallel simulation was aborted', true)
    const cause = new ShardError(1, 'a frame from node 74 to node 31 would arrive at 1830 ms, before the shard it goes to reads it (1832 ms)', false)
    // A worker that died without posting (an Error, not a ShardError) is a cause too.
    const crash = new Error('shard 3 exited (code 1) without a result')
    expect(rootCause([echo, aborted, cause])).toBe(cause)
    expect(rootCause([echo, crash, cause])).toBe(crash)
    expect(rootCause([echo, aborted])).toBe(echo)
    expect(rootCause([])).toBeUndefined()
  })
})
