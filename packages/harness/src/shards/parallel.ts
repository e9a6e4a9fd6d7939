import { totalmem } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { Progress } from '../progress.js'
import { abortExchange, createExchangeBuffers } from './exchange.js'
import type { ShardInit, ShardMessage, ShardOptions, ShardResult } from './shard.js'

const SOURCE_CONDITION = '--conditions=@epost/source'
/**
 * Young generation per shard. The simulator allocates many short-lived frames, and a small young
 * generation promotes what is still in flight (see scripts/run.mjs); 192 MiB ran a 3,000-node
 * build as fast as 768 and faster than 48.
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
      worker.on('message', (m: ShardMessage | { type: 'error'; message: string; stack?: string }) => {
        if (m.type === 'progress') progress(m.line)
        else if (m.type === 'result') {
          done = true
          resolve(m.result)
        } else {
          done = true
          reject(new Error(`shard ${shard}: ${m.message}`))
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
    throw err
  } finally {
    await Promise.allSettled(workers.map((w) => w.terminate()))
  }
}
