/**
 * Hex keys kept sorted. Ids are fixed-length lowercase hex, so string order is ring order.
 * Insert and remove are a binary search plus an array splice (a memmove), fine for the tens of
 * thousands of blocks a simulated node holds.
 */
export class SortedKeys {
  readonly #keys: string[] = []

  get size(): number {
    return this.#keys.length
  }

  insert(hex: string): void {
    const i = this.#lowerBound(hex)
    if (this.#keys[i] !== hex) this.#keys.splice(i, 0, hex)
  }

  remove(hex: string): void {
    const i = this.#lowerBound(hex)
    if (this.#keys[i] === hex) this.#keys.splice(i, 1)
  }

  /** Up to `max` keys with `lo <= key <= hi`, ascending. */
  between(lo: string, hi: string, max: number): string[] {
    const out: string[] = []
    for (let i = this.#lowerBound(lo); i < this.#keys.length && out.length < max; i++) {
      const k = this.#keys[i] as string
      if (k > hi) break
      out.push(k)
    }
    return out
  }

  /** Index of the first key >= hex. */
  #lowerBound(hex: string): number {
    let lo = 0
    let hi = this.#keys.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.#keys[mid] as string) < hex) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}
