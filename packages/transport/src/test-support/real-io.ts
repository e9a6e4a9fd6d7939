/**
 * Waiting on real I/O without fixed sleeps: poll `predicate` once per event-loop turn (after
 * I/O callbacks ran) until it holds or `patienceMs` of wall time pass.
 */
export async function until(predicate: () => boolean, what: string, patienceMs = 10_000): Promise<void> {
  const deadline = performance.now() + patienceMs
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${patienceMs} ms waiting for ${what}`)
    await new Promise<void>((resolve) => setImmediate(resolve))
  }
}

/** Lets pending I/O run: a few event-loop turns with nothing left to read or write. */
export async function drainIo(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}
