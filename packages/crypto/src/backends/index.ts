import { nodePrimitives } from './node.js'
import { noblePrimitives } from './noble.js'
import type { Primitives } from './types.js'

export type { Primitives, ScryptParams } from './types.js'

/**
 * Both implementations of the raw primitives, for cross-checks and bench/. Application code uses
 * the validated functions of this package, never these (they assume well-formed inputs).
 */
export const implementations: { readonly node: Primitives; readonly noble: Primitives } = {
  node: nodePrimitives,
  noble: noblePrimitives,
}

/** The implementation on the hot paths (see docs/crypto.md for the figures behind the choice). */
export const primitives: Primitives = nodePrimitives
