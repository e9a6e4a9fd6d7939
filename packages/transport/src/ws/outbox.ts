import { abortError } from '@epost/core'
import type { EpostError } from '@epost/core'

/** What the outbox writes to: `ws`'s send, whose callback fires once the bytes left for the kernel. */
export type WriteFn = (data: Uint8Array, written: (err?: Error) => void) => void

interface Waiter {
  data: Uint8Array
  resolve(): void
  reject(err: unknown): void
  signal: AbortSignal | undefined
  onAbort: (() => void) | undefined
}

const RESOLVED: Promise<void> = Promise.resolve()

/**
 * Back-pressure for one connection. A frame is written at once while fewer than
 * `highWaterMarkBytes` are queued in the socket and not yet handed to the kernel; otherwise the
 * send waits (FIFO) until written bytes drain below the mark. Memory held per connection is thus
 * the mark plus one frame, plus the frames of callers that are themselves awaiting: nothing
 * grows without a caller waiting for it.
 */
export class Outbox {
  readonly #write: WriteFn
  readonly #highWaterMarkBytes: number
  readonly #onBlocked: (delta: number) => void
  readonly #queue: Waiter[] = []
  #pendingBytes = 0
  #failure: EpostError | undefined

  constructor(write: WriteFn, highWaterMarkBytes: number, onBlocked: (delta: number) => void = () => {}) {
    this.#write = write
    this.#highWaterMarkBytes = highWaterMarkBytes
    this.#onBlocked = onBlocked
  }

  /** Bytes handed to the socket and not yet written out. */
  get pendingBytes(): number {
    return this.#pendingBytes
  }

  /** Sends waiting for the queue to drain. */
  get waiting(): number {
    return this.#queue.length
  }

  /** Nothing queued and nobody waiting: the connection may be closed without losing a frame. */
  get idle(): boolean {
    return this.#pendingBytes === 0 && this.#queue.length === 0
  }

  write(data: Uint8Array, signal?: AbortSignal): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure)
    if (signal?.aborted === true) return Promise.reject(abortError(signal))
    if (this.#pendingBytes < this.#highWaterMarkBytes && this.#queue.length === 0) {
      this.#send(data)
      return RESOLVED
    }
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { data, resolve, reject, signal, onAbort: undefined }
      if (signal !== undefined) {
        w.onAbort = () => {
          const i = this.#queue.indexOf(w)
          if (i >= 0) {
            this.#queue.splice(i, 1)
            this.#onBlocked(-1)
          }
          reject(abortError(signal))
        }
        signal.addEventListener('abort', w.onAbort, { once: true })
      }
      this.#queue.push(w)
      this.#onBlocked(1)
    })
  }

  /** Rejects every waiting send with `err` and refuses new ones (the connection is going). */
  fail(err: EpostError): void {
    if (this.#failure !== undefined) return
    this.#failure = err
    const q = this.#queue.splice(0)
    if (q.length > 0) this.#onBlocked(-q.length)
    for (const w of q) {
      if (w.onAbort !== undefined) w.signal?.removeEventListener('abort', w.onAbort)
      w.reject(err)
    }
  }

  #send(data: Uint8Array): void {
    const n = data.length
    this.#pendingBytes += n
    this.#write(data, () => {
      this.#pendingBytes -= n
      this.#pump()
    })
  }

  #pump(): void {
    while (this.#failure === undefined && this.#queue.length > 0 && this.#pendingBytes < this.#highWaterMarkBytes) {
      const w = this.#queue.shift() as Waiter
      this.#onBlocked(-1)
      if (w.onAbort !== undefined) w.signal?.removeEventListener('abort', w.onAbort)
      this.#send(w.data)
      w.resolve()
    }
  }
}
