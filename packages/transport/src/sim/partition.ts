/**
 * A cut between two groups of nodes: frames between them are dropped while it is in place.
 * `b === undefined` means "everyone not in a".
 */
export class Partition<N> {
  readonly #a: ReadonlySet<N>
  readonly #b: ReadonlySet<N> | undefined
  readonly #onHeal: (p: Partition<N>) => void
  #healed = false

  constructor(a: ReadonlySet<N>, b: ReadonlySet<N> | undefined, onHeal: (p: Partition<N>) => void) {
    this.#a = a
    this.#b = b
    this.#onHeal = onHeal
  }

  get healed(): boolean {
    return this.#healed
  }

  /** Removes this cut (other partitions stay). Idempotent. */
  heal(): void {
    if (this.#healed) return
    this.#healed = true
    this.#onHeal(this)
  }

  /** Does this cut separate `x` and `y`? */
  separates(x: N, y: N): boolean {
    const xa = this.#a.has(x)
    const ya = this.#a.has(y)
    const b = this.#b
    if (b === undefined) return xa !== ya
    return (xa && b.has(y)) || (ya && b.has(x))
  }
}
