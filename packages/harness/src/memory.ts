/**
 * The memory a ring's JavaScript objects hold: the V8 heap in use plus ArrayBuffer backing
 * stores, which V8 keeps outside its heap (typed arrays over 64 bytes: the routing table's spare
 * slots, id bytes, encoded frames). Until the fifteenth session the scenarios counted the heap
 * alone, and memory per node left those out.
 */
export function retainedBytes(): number {
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}
