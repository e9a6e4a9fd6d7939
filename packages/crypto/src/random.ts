import { randomBytes as nodeRandomBytes } from 'node:crypto'
import { toUint8Array } from './bytes.js'
import { cryptoError } from './errors.js'

/** A source of random bytes; the CSPRNG below by default, a seeded Rng's `bytes` in simulations. */
export type RandomBytes = (n: number) => Uint8Array

/** `n` bytes from the operating system's CSPRNG. */
export function randomBytes(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw cryptoError('EPOST_INVALID_ARGUMENT', `randomBytes needs a non-negative integer, got ${String(n)}`)
  return toUint8Array(nodeRandomBytes(n))
}

/** Draws `n` bytes from `source` and checks that it returned exactly that many. */
export function draw(source: RandomBytes, n: number): Uint8Array {
  const out = source(n)
  if (!(out instanceof Uint8Array) || out.length !== n) {
    throw cryptoError('EPOST_INVALID_ARGUMENT', `the randomBytes source must return ${n} bytes`)
  }
  return out
}
