import { SIM_SLAB_BYTES, SIM_SLAB_MAX_FRAME_BYTES } from '../constants.js'

/**
 * Copies frames at send, so a sender that reuses its buffer cannot change a frame in flight.
 * Small frames are carved out of shared slabs (like Node's Buffer pool): allocating a fresh
 * ArrayBuffer costs V8 several times more than the copy itself. A receiver that keeps a small
 * frame for long therefore pins its slab; copy what you keep (the stores do).
 */
export class FrameCopier {
  #slab = new ArrayBuffer(SIM_SLAB_BYTES)
  #offset = 0

  copy(data: Uint8Array): Uint8Array {
    const n = data.length
    if (n > SIM_SLAB_MAX_FRAME_BYTES) return data.slice()
    if (this.#offset + n > SIM_SLAB_BYTES) {
      this.#slab = new ArrayBuffer(SIM_SLAB_BYTES)
      this.#offset = 0
    }
    const out = new Uint8Array(this.#slab, this.#offset, n)
    out.set(data)
    this.#offset += (n + 7) & ~7
    return out
  }
}
