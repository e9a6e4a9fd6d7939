import { Id, Rng } from '@epost/core'

/** The blocks the crash test writes: block i is reproducible from i alone, in both processes. */
export function crashKey(i: number): Id {
  // An odd multiplier spreads consecutive blocks over the whole ring.
  return Id.fromBigInt(BigInt(i) * 0x9e3779b97f4a7c15f39cc0605cedc835n)
}

export function crashValue(i: number): Uint8Array {
  const size = (i * 7919) % 20_000 // 0 .. ~20 KB, some spill into LMDB overflow pages
  return new Rng(`crash-${i}`).bytes(size)
}
