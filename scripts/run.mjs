#!/usr/bin/env node
// The README's entry points: `npm start`, `npm test`, `npm run bench`, `npm run sim -- <scenario>`.
// Works on a machine with only Node.js and npm: pnpm (pinned in package.json) is installed into
// .tools/ on first use, then the workspace is installed, then the task runs.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const [task = 'test', ...rest] = process.argv.slice(2)
// `node scripts/run.mjs sim -- --json` and `npm run sim -- --json` both work.
const args = rest[0] === '--' ? rest.slice(1) : rest
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const pnpmVersion = pkg.packageManager.replace(/^pnpm@/, '')
const toolsDir = join(root, '.tools')
const pnpmBin = join(toolsDir, 'node_modules', '.bin', 'pnpm')

// Tools that look for the package manager (turbo) find the pinned pnpm first on PATH.
const env = { ...process.env, PATH: `${join(toolsDir, 'node_modules', '.bin')}:${process.env.PATH ?? ''}` }

function run(cmd, cmdArgs, opts = {}) {
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit', env, ...opts })
  if (r.error) throw r.error
  return r.status ?? 1
}

function step(label) {
  process.stderr.write(`\n▶ ${label}\n`)
}

function ensurePnpm() {
  if (existsSync(pnpmBin)) {
    const r = spawnSync(pnpmBin, ['--version'], { encoding: 'utf8' })
    if (r.stdout?.trim() === pnpmVersion) return
  }
  step(`installing pnpm ${pnpmVersion} into .tools/`)
  const code = run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', toolsDir, `pnpm@${pnpmVersion}`])
  if (code !== 0) process.exit(code)
}

function pnpm(pArgs, opts) {
  return run(pnpmBin, pArgs, opts)
}

function install() {
  step('pnpm install')
  const frozen = process.env.CI ? ['--frozen-lockfile'] : []
  const code = pnpm(['install', '--reporter=append-only', ...frozen])
  if (code !== 0) process.exit(code)
}

/** Runs a TypeScript entry point under node, with tsx as the loader and `nodeArgs` for node and V8. */
function tsx(script, scriptArgs, nodeArgs = []) {
  return run(process.execPath, [...nodeArgs, '--import', 'tsx', '--conditions=@epost/source', script, ...scriptArgs])
}

// --expose-gc lets scenarios collect before they measure memory per node. The simulator
// allocates many short-lived frames, and in a big ring a simulated millisecond takes long in
// wall time, so what is in flight (frames, probe timers) outlives small young generations and is
// promoted, to die in the old one. A young generation of 3 x 256 MiB from the start keeps it
// young: a 10,000-node build with joins every 2 ms spent 49 s in GC with 64 MiB semi-spaces and
// 32 s with 256 (512: no better). These go on node's command line: V8 does not take
// --min-semi-space-size from NODE_OPTIONS. Big rings need a big old space. --no-memory-reducer:
// V8's memory reducer runs full GCs in isolates it finds idle: the main thread, which waits for
// the shards, and three more (the TypeScript loader's threads, by their count), all with the big
// young generations the flags above give every isolate. A 10,000-node run had 8 such GCs of
// 219-539 ms each, 3.1 s of CPU taken from the shards on two cores; the shards, never idle,
// never ran one.
const SIM_NODE_ARGS = ['--expose-gc', '--no-memory-reducer', '--max-semi-space-size=256', '--min-semi-space-size=256', `--max-old-space-size=${Math.floor((totalmem() / 1048576) * 0.75)}`]

function test() {
  step('typecheck (tsc -b, tests, bench)')
  const tc = pnpm(['run', '--silent', 'typecheck'])
  step('vitest (all projects)')
  const report = join(root, '.vitest-report.json')
  rmSync(report, { force: true })
  const vt = pnpm(['exec', 'vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...args])
  let passed = 0, failed = 0, skipped = 0
  if (existsSync(report)) {
    const r = JSON.parse(readFileSync(report, 'utf8'))
    passed = r.numPassedTests ?? 0
    failed = r.numFailedTests ?? 0
    skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0)
    if ((r.numFailedTestSuites ?? 0) > 0 && failed === 0) failed = r.numFailedTestSuites
  } else if (vt !== 0) {
    failed = 1
  }
  if (tc !== 0) process.stdout.write('typecheck failed\n')
  process.stdout.write(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`)
  return tc !== 0 || vt !== 0 || failed > 0 || passed === 0 ? 1 : 0
}

const tasks = {
  test,
  build: () => pnpm(['exec', 'turbo', 'run', 'build', ...args]),
  bench: () => tsx('bench/src/main.ts', args),
  sim: () => tsx('packages/harness/src/cli.ts', args, SIM_NODE_ARGS),
  // The main job. Until the overlay exists it is the benchmark suite.
  start: () => (existsSync(join(root, 'packages/harness/src/cli.ts')) ? tsx('packages/harness/src/cli.ts', ['routing', ...args], SIM_NODE_ARGS) : tsx('bench/src/main.ts', args)),
}

const fn = tasks[task]
if (!fn) {
  process.stderr.write(`unknown task '${task}'; one of: ${Object.keys(tasks).join(', ')}\n`)
  process.exit(2)
}
ensurePnpm()
install()
process.exit(fn())
