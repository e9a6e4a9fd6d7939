import { parentPort, workerData } from 'node:worker_threads'
import { ShardEcho } from './exchange.js'
import { runShard } from './shard.js'
import type { ShardInit, ShardMessage } from './shard.js'

/**
 * A simulation shard's worker thread: runs its shard and posts progress and the result (or the
 * error) to the thread that started it (parallel.ts). Built, it runs as dist/shards/worker.js;
 * from the sources, boot.mjs registers the TypeScript loader first and imports this file.
 */
const port = parentPort
if (port === null) throw new Error('a shard runs in a worker thread (see parallel.ts)')
try {
  await runShard(workerData as ShardInit, (m: ShardMessage) => port.postMessage(m))
} catch (err) {
  const m: ShardMessage = { type: 'error', message: err instanceof Error ? err.message : String(err), stack: err instanceof Error ? err.stack : undefined, echo: err instanceof ShardEcho }
  port.postMessage(m)
}
