import { onTestFailed } from 'vitest'
import { hashString } from '@epost/core'

/**
 * The seed of a seeded test: EPOST_SEED if set (to reproduce a failure), else one derived from
 * the test's label. Printed if the test fails.
 */
export function testSeed(label: string): number {
  const env = process.env['EPOST_SEED']
  const seed = env !== undefined && env !== '' ? Number(env) >>> 0 : hashString(label)
  onTestFailed(() => {
    process.stderr.write(`\n[seed] '${label}' failed with seed ${seed}; rerun with EPOST_SEED=${seed}\n`)
  })
  return seed
}
