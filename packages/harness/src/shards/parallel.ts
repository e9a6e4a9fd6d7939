import { totalmem } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { Progress } from '../progress.js'
import { abortExchange, createExchangeBuffers } from './exchange.js'
import type { ShardInit, ShardMessage, ShardOptions, ShardResult } from './shard.js'

const SOURCE_CONDITION = '--conditions=@epost/source'
/** A shard's error as runShards reports it; `echo`: the shard only saw another fail (exchange.ts, ShardEcho). */
export class ShardError extends Error {
  override readonly name = 'ShardError'
  readonly echo: boolean

  constructor(shard: number, message: string, echo: boolean) {
    super(`shard ${shard}: ${message}`)
    this.echo = echo
  }
}
/**
 * Young generation per shard, for a process started without scripts/run.mjs's semi-space flags
 * (a built harness run by plain node): without it a shard's new space stays small and promotes
 * frames still in flight (see scripts/run.mjs). Under `npm run sim` the process's
 * --min-semi-space-size=256 governs every isolate and this cap has no effect (measured: new space
 * 256 MiB in a worker whatever it says), so the ninth session's comparison of 48, 192 and 768
 * here measured run-to-run noise.
 */
const YOUNG_GENERATION_MB = 192

/**
 * Runs the routing experiment's ring in `shards` worker threads, one shard each (shard.ts), and
 * waits for all of their results. A shard that fails aborts the others.
 */
export async function runShards(shards: number, options: ShardOptions, progress: Progress): Promise<ShardResult[]> {
  const buffers = createExchangeBuffers(shards)
  // Each worker is its own V8 isolate: the old space the process may use is split among them.
  const oldSpaceMb = Math.floor((totalmem() / 2 ** 20) * 0.75 / shards)
  const workers: Worker[] = []
  // Run from the TypeScript sources, the shards load the sources too (boot.mjs registers the
  // loader, which a worker does not inherit); built, they run dist/shards/worker.js. V8's flags
  // are the process's and not given again. EPOST_WORKER_PROF=<dir> writes a V8 CPU profile of
  // each shard there (node's own --cpu-prof profiles only the main thread, which waits).
  const fromSource = import.meta.url.endsWith('.ts')
  const entry = new URL(fromSource ? './boot.mjs' : './worker.js', import.meta.url)
  const profileDir = process.env['EPOST_WORKER_PROF']
  const execArgv = [...(fromSource ? [SOURCE_CONDITION] : []), ...(profileDir === undefined || profileDir === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`])]
  const results = Array.from({ length: shards }, (_, shard) => {
    const init: ShardInit = { shard, shards, options, buffers }
    const worker = new Worker(entry, { workerData: init, execArgv, resourceLimits: { maxOldGenerationSizeMb: oldSpaceMb, maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } })
    workers.push(worker)
    return new Promise<ShardResult>((resolve, reject) => {
      let done = false
      worker.on('message', (m: ShardMessage) => {
        if (m.type === 'progress') progress(m.line)
        else if (m.type === 'result') {
          done = true
          resolve(m.result)
        } else {
          done = true
          reject(new ShardError(shard, m.message, m.echo))
        }
      })
      worker.on('error', (err) => {
        done = true
        reject(err)
      })
      worker.on('exit', (code) => {
        if (!done) reject(new Error(`shard ${shard} exited (code ${code}) without a result`))
      })
    })
  })
  try {
    return await Promise.all(results)
  } catch (err) {
    abortExchange(buffers)
    // The first to report may be a shard that only learnt of another's failure (or was aborted
    // while waiting for it): report the failure itself, once every shard has told its own.
    throw rootCause((await Promise.allSettled(results)).flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []))) ?? err
  } finally {
    await Promise.allSettled(workers.map((w) => w.terminate()))
  }
}

/** The first of the shards' errors that is not an echo of another's (else the first of all). */
export function rootCause(errors: readonly unknown[]): unknown {
  return errors.find((e) => !(e instanceof ShardError && e.echo)) ?? errors[0]
}
