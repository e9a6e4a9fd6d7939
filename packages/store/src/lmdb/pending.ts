/**
 * What the writes issued but not yet committed will leave under each key: the size of the value
 * (undefined: no block). Reads of committed state do not see in-flight writes, but the quota and
 * `delete`'s answer must, in the order the calls were made (which is the order LMDB applies them).
 */
export class PendingWrites {
  readonly #byKey = new Map<string, { size: number | undefined; ops: number }>()

  /** [known, size]: known is false when no write to `hex` is in flight. */
  lookup(hex: string): [boolean, number | undefined] {
    const p = this.#byKey.get(hex)
    return p === undefined ? [false, undefined] : [true, p.size]
  }

  begin(hex: string, size: number | undefined): void {
    const p = this.#byKey.get(hex)
    if (p === undefined) this.#byKey.set(hex, { size, ops: 1 })
    else {
      p.size = size
      p.ops++
    }
  }

  end(hex: string): void {
    const p = this.#byKey.get(hex)
    if (p === undefined) return
    if (--p.ops === 0) this.#byKey.delete(hex)
  }
}
