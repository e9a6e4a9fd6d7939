import { EpostError, abortError } from '@epost/core'

/**
 * At most `max` operations at once; up to `maxWaiting` more wait (first come, first served, each
 * abortable); beyond that a caller is refused at once with EPOST_PAST_BUSY. Back-pressure without
 * an unbounded queue.
 */
export class Limiter {
  readonly #max: number
  readonly #maxWaiting: number
  #active = 0
  readonly #waiting: Array<() => void> = []

  constructor(max: number, maxWaiting: number) {
    this.#max = max
    this.#maxWaiting = maxWaiting
  }

  get active(): number {
    return this.#active
  }

  get waiting(): number {
    return this.#waiting.length
  }

  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.#acquire(signal)
    try {
      return await fn()
    } finally {
      this.#active--
      this.#waiting.shift()?.()
    }
  }

  #acquire(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted === true) return Promise.reject(abortError(signal))
    if (this.#active < this.#max) {
      this.#active++
      return Promise.resolve()
    }
    if (this.#waiting.length >= this.#maxWaiting) {
      return Promise.reject(new EpostError('EPOST_PAST_BUSY', `${this.#active} operations running and ${this.#waiting.length} waiting; retry later`))
    }
    return new Promise((resolve, reject) => {
      const go = (): void => {
        signal?.removeEventListener('abort', onAbort)
        this.#active++
        resolve()
      }
      const onAbort = (): void => {
        const i = this.#waiting.indexOf(go)
        if (i >= 0) this.#waiting.splice(i, 1)
        reject(abortError(signal))
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiting.push(go)
    })
  }
}
