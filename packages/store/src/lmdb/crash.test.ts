import { fork } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ID_ZERO } from '@epost/core'
import { afterEach, describe, expect, it } from 'vitest'
import { crashKey, crashValue } from './crash-blocks.js'
import { lmdbStore } from './index.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const PACKAGE_DIR = join(HERE, '..', '..')
/** Acknowledged puts to wait for before the kill; more are in flight when it lands. */
const ACKS_BEFORE_KILL = 300

describe('lmdbStore crash safety', () => {
  let dir: string | undefined
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('keeps every acknowledged put after the writing process is killed with SIGKILL', async () => {
    dir = await mkdtemp(join(tmpdir(), 'epost-crash-'))
    // Node itself runs the child (tsx as a loader, not as a wrapper process), so the SIGKILL lands
    // on the process that holds the database.
    const child = fork(join(HERE, 'crash-child.ts'), [dir], {
      cwd: PACKAGE_DIR,
      execArgv: ['--conditions=@epost/source', '--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    })
    let stderr = ''
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
    const acked = new Set<number>()
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => {
      child.on('exit', (code, signal) => resolve(signal ?? code))
    })
    const disconnected = new Promise<void>((resolve) => child.on('disconnect', () => resolve()))
    child.on('message', (m: { acked?: number }) => {
      if (typeof m.acked !== 'number') return
      acked.add(m.acked)
      if (acked.size === ACKS_BEFORE_KILL) child.kill('SIGKILL')
    })
    const how = await exited
    await disconnected
    expect(how, `the child ended on its own before the kill:\n${stderr}`).toBe('SIGKILL')
    expect(acked.size).toBeGreaterThanOrEqual(ACKS_BEFORE_KILL)

    const store = lmdbStore({ path: dir })
    await store.start()
    try {
      for (const i of acked) {
        const value = await store.get(crashKey(i))
        expect(value, `acknowledged block ${i} is missing`).toBeDefined()
        expect(Buffer.compare(Buffer.from(value as Uint8Array), Buffer.from(crashValue(i))), `block ${i} differs`).toBe(0)
        expect(await store.getMeta(crashKey(i))).toEqual({ i })
      }
      // Blocks written but not acknowledged may or may not be there; whatever is there is intact,
      // and the recomputed accounting matches it.
      let count = 0
      let bytes = 0
      for await (const e of store.scan({ from: ID_ZERO, to: ID_ZERO.add(-1n) })) {
        const i = (e.meta as { i: number }).i
        expect(e.key.equals(crashKey(i))).toBe(true)
        expect(e.size).toBe(crashValue(i).length)
        expect(Buffer.compare(Buffer.from((await store.get(e.key)) as Uint8Array), Buffer.from(crashValue(i)))).toBe(0)
        count++
        bytes += e.size
      }
      expect(count).toBeGreaterThanOrEqual(acked.size)
      expect(store.stats()).toMatchObject({ count, bytes })
    } finally {
      await store.stop()
    }
  })
})
