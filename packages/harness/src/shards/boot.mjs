// Entry point of a simulation shard's worker thread when the harness runs from its TypeScript
// sources (as `npm run sim` does): workers do not inherit the loader the main thread was started
// with, so this registers tsx, then loads the worker proper. A built harness starts
// dist/shards/worker.js instead (parallel.ts picks).
import { register } from 'tsx/esm/api'

register()
await import('./worker.ts')
