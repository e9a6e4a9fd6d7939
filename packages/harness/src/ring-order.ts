import type { Id } from '@epost/core'

/**
 * The `k` entries of `sorted` (ascending by id) numerically closest to `key`, closest first: the
 * simulator's oracle for a key's root and replica set.
 */
export function closestOnRing<T extends { id: Id }>(sorted: readonly T[], key: Id, k: number): T[] {
  const n = sorted.length
  const out: T[] = []
  if (n === 0) return out
  let lo = 0
  let hi = n
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if ((sorted[mid] as T).id.value < key.value) lo = mid + 1
    else hi = mid
  }
  // Walk out both ways from where `key` falls in the ring, taking the closer side each time.
  let right = lo
  let left = lo - 1
  const at = (i: number): T => sorted[((i % n) + n) % n] as T
  while (out.length < Math.min(k, n)) {
    const a = at(right)
    const b = at(left)
    if (a === b || key.isCloser(a.id, b.id)) {
      out.push(a)
      right++
    } else {
      out.push(b)
      left--
    }
  }
  return out
}
