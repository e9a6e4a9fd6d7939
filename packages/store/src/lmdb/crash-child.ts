/**
 * Child process of crash.test.ts: puts blocks 0, 1, 2... into the LMDB store at argv[2], several
 * at a time, and reports each put over IPC once its promise resolved, until it is killed.
 */
import { crashKey, crashValue } from './crash-blocks.js'
import { lmdbStore } from './lmdb-store.js'

const CONCURRENT_PUTS = 8
const path = process.argv[2]
if (path === undefined || process.send === undefined) throw new Error('usage: fork crash-child.ts <dir> (with an IPC channel)')
const send = process.send.bind(process)

const store = lmdbStore({ path })
await store.start()
send({ ready: true })
let next = 0
async function writer(): Promise<void> {
  for (;;) {
    const i = next++
    await store.put(crashKey(i), crashValue(i), { i })
    send({ acked: i })
  }
}
await Promise.all(Array.from({ length: CONCURRENT_PUTS }, writer))
