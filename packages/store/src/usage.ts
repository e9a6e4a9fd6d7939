import type { BlockStoreStats } from '@epost/core'
import { storeFullError } from './errors.js'

/**
 * Count and bytes of the values a store holds, and the quota they must stay under. Callers
 * account each write when they issue it (in issue order), so concurrent puts cannot overshoot.
 */
export class Usage {
  readonly quotaBytes: number
  #count = 0
  #bytes = 0

  constructor(quotaBytes: number) {
    this.quotaBytes = quotaBytes
  }

  /**
   * Accounts storing `size` bytes under a key that held `previousSize` bytes (undefined: no
   * block). Throws EPOST_STORE_FULL, changing nothing, when the quota would be exceeded; a write
   * that does not grow the store is always allowed.
   */
  replace(previousSize: number | undefined, size: number): void {
    const prev = previousSize ?? 0
    const delta = size - prev
    if (delta > 0 && this.#bytes + delta > this.quotaBytes) {
      throw storeFullError({ quotaBytes: this.quotaBytes, bytes: this.#bytes, size, previousSize: prev })
    }
    this.#bytes += delta
    if (previousSize === undefined) this.#count++
  }

  remove(previousSize: number): void {
    this.#bytes -= previousSize
    this.#count--
  }

  reset(count: number, bytes: number): void {
    this.#count = count
    this.#bytes = bytes
  }

  stats(): BlockStoreStats {
    return { count: this.#count, bytes: this.#bytes, quotaBytes: this.quotaBytes }
  }
}
