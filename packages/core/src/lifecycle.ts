export interface Startable {
  /** Idempotent: a second call returns the first call's promise. */
  start(): Promise<void>
  /** Idempotent: a second call returns the same promise. Stops in reverse order of start. */
  stop(): Promise<void>
}

export type LifecycleState = 'new' | 'starting' | 'started' | 'stopping' | 'stopped'

/**
 * Idempotent start/stop around a component's own hooks. Compose it instead of re-writing the
 * promise bookkeeping in every class.
 */
export class Lifecycle implements Startable {
  #state: LifecycleState = 'new'
  #starting: Promise<void> | undefined
  #stopping: Promise<void> | undefined
  readonly #onStart: () => Promise<void> | void
  readonly #onStop: () => Promise<void> | void

  constructor(onStart: () => Promise<void> | void, onStop: () => Promise<void> | void) {
    this.#onStart = onStart
    this.#onStop = onStop
  }

  get state(): LifecycleState {
    return this.#state
  }

  get running(): boolean {
    return this.#state === 'started'
  }

  start(): Promise<void> {
    if (this.#starting !== undefined) return this.#starting
    this.#state = 'starting'
    this.#starting = (async () => {
      await this.#onStart()
      if (this.#state === 'starting') this.#state = 'started'
    })()
    return this.#starting
  }

  stop(): Promise<void> {
    if (this.#stopping !== undefined) return this.#stopping
    this.#stopping = (async () => {
      if (this.#starting !== undefined) await this.#starting.catch(() => {})
      this.#state = 'stopping'
      try {
        await this.#onStop()
      } finally {
        this.#state = 'stopped'
      }
    })()
    return this.#stopping
  }
}

/** Starts components in order; stops the ones already started (in reverse) if one fails. */
export async function startAll(components: readonly Startable[]): Promise<void> {
  const started: Startable[] = []
  try {
    for (const c of components) {
      await c.start()
      started.push(c)
    }
  } catch (err) {
    await stopAll(started)
    throw err
  }
}

export async function stopAll(components: readonly Startable[]): Promise<void> {
  for (const c of [...components].reverse()) await c.stop()
}
