// Entry point of a simulation shard's worker thread. Workers do not inherit the TypeScript loader
// the main thread was started with, so the shard registers tsx before it loads the TypeScript.
import { register } from 'tsx/esm/api'
import { parentPort, workerData } from 'node:worker_threads'

register()
const { runShard } = await import('./shard.ts')
try {
  await runShard(workerData, (m) => parentPort.postMessage(m))
} catch (err) {
  parentPort.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err), stack: err instanceof Error ? err.stack : undefined })
}
