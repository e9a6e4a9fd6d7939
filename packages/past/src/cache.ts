import type { Id } from '@epost/core'

/**
 * A bounded LRU of content-hash blocks (never mutable ones: a cached copy of a public-key block
 * could be a rollback). Bounded by total bytes; the least recently used go first.
 */
export class BlockCache {
  readonly #max: number
  readonly #map = new Map<string, Uint8Array>()
  #bytes = 0

  constructor(maxBytes: number) {
    this.#max = maxBytes
  }

  get(key: Id): Uint8Array | undefined {
    const v = this.#map.get(key.hex)
    if (v !== undefined) {
      this.#map.delete(key.hex)
      this.#map.set(key.hex, v)
    }
    return v
  }

  set(key: Id, bytes: Uint8Array): void {
    if (bytes.length > this.#max) return
    const old = this.#map.get(key.hex)
    if (old !== undefined) {
      this.#bytes -= old.length
      this.#map.delete(key.hex)
    }
    this.#map.set(key.hex, bytes)
    this.#bytes += bytes.length
    for (const [k, v] of this.#map) {
      if (this.#bytes <= this.#max) break
      this.#map.delete(k)
      this.#bytes -= v.length
    }
  }

  get size(): number {
    return this.#map.size
  }

  get bytes(): number {
    return this.#bytes
  }
}
