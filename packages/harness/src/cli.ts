import { parseArgs } from 'node:util'
import { stderrProgress } from './progress.js'
import { routingScenario } from './scenarios/routing.js'
import { churnScenario } from './scenarios/churn.js'
import { storageScenario } from './scenarios/storage.js'
import { reliabilityScenario } from './scenarios/reliability.js'
import { scribeScenario } from './scenarios/scribe.js'

const USAGE = `usage: pnpm sim <scenario> [options] [--json]

scenarios:
  routing  --nodes N (1000) --lookups M (10000) --seed S (1) [--b 4] [--leaf-set 16]
           [--join-interval-ms 20] [--settle-seconds 60] [--shards 2]
           builds a ring by joins, routes M lookups to random keys, reports hops,
           correct-root fraction, route/direct latency ratio (rdp), table size, memory;
           the ring runs in --shards worker threads (1: in this thread, one SimRing);
           figures depend on the seed and the number of shards, not on the machine
  churn    --nodes N (1000) --minutes T (60) --session-minutes S (30) --lookups-per-second R (10) --seed S (1)
           nodes crash after exponential sessions and are replaced; reports loss and wrong roots
  storage  --nodes N (500) --objects M (5000) --k K (5) --fail F (4) --seed S (1)
           PAST: inserts M objects, crashes F nodes of one replica set at once, lets upkeep
           run, reports lost objects and the share back on k replicas;
           with --churn-session-minutes S --minutes T, also continuous churn for T minutes
  scribe   --nodes N (1000) --topics T (10) --members M (50) --publishes P (1000) --seed S (1)
           [--churn-session-minutes S --minutes T (60)] [--heartbeat-seconds 30]
           Scribe trees: T topics of M members, P publishes from random nodes; reports delivery
           ratio (owed deliveries to members that stayed up), duplicates, tree depth, fan-out,
           rdp, and how long members stayed cut off from the root
  reliability --p P (0.9) --target PT (0.9999) [--nodes 1000 --trials 200000 --joins 100 --seed 1]
           k from the Kangasharju analysis, and the loss table for p in {0.99, 0.9, 0.5, 0.3};
           --joins: peers that join between a write and its read (loss cause 3)

  --json   print one JSON object with the figures as the last line`

async function main(): Promise<number> {
  const [scenario, ...rest] = process.argv.slice(2)
  const { values } = parseArgs({
    args: rest,
    options: {
      nodes: { type: 'string' },
      lookups: { type: 'string' },
      seed: { type: 'string' },
      b: { type: 'string' },
      'leaf-set': { type: 'string' },
      'join-interval-ms': { type: 'string' },
      'settle-seconds': { type: 'string' },
      minutes: { type: 'string' },
      'session-minutes': { type: 'string' },
      'lookups-per-second': { type: 'string' },
      objects: { type: 'string' },
      'churn-session-minutes': { type: 'string' },
      p: { type: 'string' },
      target: { type: 'string' },
      trials: { type: 'string' },
      joins: { type: 'string' },
      topics: { type: 'string' },
      members: { type: 'string' },
      publishes: { type: 'string' },
      'heartbeat-seconds': { type: 'string' },
      k: { type: 'string' },
      shards: { type: 'string' },
      fail: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  })
  const num = (name: keyof typeof values, dflt: number): number => {
    const v = values[name]
    if (v === undefined || typeof v === 'boolean') return dflt
    const n = Number(v)
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got '${v}'`)
    return n
  }
  const seconds = (s: number | undefined): number | undefined => (s === undefined ? undefined : s * 1000)
  /** An option with no default: undefined when not given. */
  const opt = (name: keyof typeof values): number | undefined => (values[name] === undefined ? undefined : num(name, 0))
  if (values.help === true || scenario === undefined || scenario === 'help') {
    process.stdout.write(USAGE + '\n')
    return scenario === undefined ? 2 : 0
  }
  let result: Record<string, unknown>
  switch (scenario) {
    case 'routing':
      result = {
        ...(await routingScenario(
          { nodes: num('nodes', 1000), lookups: num('lookups', 10_000), seed: num('seed', 1), b: num('b', 4), leafSetSize: num('leaf-set', 16), joinIntervalMs: opt('join-interval-ms'), settleMs: seconds(opt('settle-seconds')), shards: opt('shards') },
          stderrProgress,
        )),
      }
      break
    case 'churn':
      result = {
        ...(await churnScenario(
          { nodes: num('nodes', 1000), minutes: num('minutes', 60), sessionMinutes: num('session-minutes', 30), lookupsPerSecond: num('lookups-per-second', 10), seed: num('seed', 1) },
          stderrProgress,
        )),
      }
      break
    case 'reliability':
      result = { ...(await reliabilityScenario({ p: num('p', 0.9), target: num('target', 0.9999), peers: num('nodes', 1000), trials: num('trials', 200_000), joins: num('joins', 100), seed: num('seed', 1) }, stderrProgress)) }
      break
    case 'scribe':
      result = {
        ...(await scribeScenario(
          {
            nodes: num('nodes', 1000),
            topics: num('topics', 10),
            members: num('members', 50),
            publishes: num('publishes', 1000),
            seed: num('seed', 1),
            heartbeatSeconds: num('heartbeat-seconds', 30),
            minutes: opt('minutes'),
            churnSessionMinutes: opt('churn-session-minutes'),
          },
          stderrProgress,
        )),
      }
      break
    case 'storage':
      result = {
        ...(await storageScenario(
          {
            nodes: num('nodes', 500),
            objects: num('objects', 5000),
            k: num('k', 5),
            fail: num('fail', 4),
            seed: num('seed', 1),
            churnSessionMinutes: opt('churn-session-minutes'),
            minutes: opt('minutes'),
          },
          stderrProgress,
        )),
      }
      break
    default:
      process.stderr.write(`unknown scenario '${scenario}'\n\n${USAGE}\n`)
      return 2
  }
  printTable(scenario, result)
  if (values.json === true) process.stdout.write(JSON.stringify({ scenario, ...result }) + '\n')
  return 0
}

function printTable(title: string, r: Record<string, unknown>): void {
  process.stdout.write(`\n${title}\n${'-'.repeat(44)}\n`)
  for (const [k, v] of Object.entries(r)) {
    const s = typeof v === 'object' ? JSON.stringify(v) : String(v)
    process.stdout.write(`${k.padEnd(32)} ${s}\n`)
  }
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    process.stderr.write(`sim: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exitCode = 1
  },
)
