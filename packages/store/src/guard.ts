import { Lifecycle } from '@epost/core'
import type { Startable } from '@epost/core'
import { closedError, notStartedError } from './errors.js'

/**
 * Lifecycle of a store: idempotent start/stop (core's Lifecycle), plus the checks every operation
 * makes. `stop()` closes the store for new operations at once, before its hooks run; a store that
 * was stopped cannot be started again.
 */
export class StoreGuard implements Startable {
  readonly #name: string
  readonly #life: Lifecycle
  #closed = false
  #startCalled = false

  constructor(name: string, onStart: () => Promise<void> | void, onStop: () => Promise<void> | void) {
    this.#name = name
    this.#life = new Lifecycle(onStart, onStop)
  }

  get closed(): boolean {
    return this.#closed
  }

  start(): Promise<void> {
    if (this.#closed && !this.#startCalled) return Promise.reject(closedError(this.#name))
    this.#startCalled = true
    return this.#life.start()
  }

  stop(): Promise<void> {
    this.#closed = true
    return this.#life.stop()
  }

  /** Throws EPOST_STORE_CLOSED after stop(), EPOST_NOT_STARTED before start() has resolved. */
  assertOpen(): void {
    if (this.#closed) throw closedError(this.#name)
    if (!this.#life.running) throw notStartedError(this.#name)
  }
}
