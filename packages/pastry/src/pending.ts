import type { Clock, Timer } from '@epost/core'

/**
 * Requests waiting for a reply, by nonce: each settles once, with the reply, or with undefined
 * when its time runs out, its send fails, or the node stops. A reply settles a request only if it
 * comes from the peer the request went to: nonces are sequential, and a peer must not be able to
 * answer for another (vouch for a dead node, or give it a tiny RTT).
 */
export class PendingReplies<T> {
  readonly #clock: Clock
  readonly #pending = new Map<number, { peer: string; openedAt: number; timer: Timer; resolve: (r: T | undefined) => void }>()
  #seq = 0

  constructor(clock: Clock) {
    this.#clock = clock
  }

  get size(): number {
    return this.#pending.size
  }

  /** A fresh nonce for a request to `peer` (its id, hex) and the promise of its reply (undefined after `timeoutMs`). */
  open(peer: string, timeoutMs: number): { nonce: number; reply: Promise<T | undefined> } {
    const nonce = ++this.#seq
    const reply = new Promise<T | undefined>((resolve) => {
      const timer = this.#clock.setTimeout(() => {
        this.#pending.delete(nonce)
        resolve(undefined)
      }, timeoutMs)
      this.#pending.set(nonce, { peer, openedAt: this.#clock.now(), timer, resolve })
    })
    return { nonce, reply }
  }

  /**
   * Settles `nonce` with `value` and returns when the request was opened (a reply's round trip is
   * measured from it, before whoever awaits the reply runs); undefined if nothing waits under it
   * (unknown, late or settled) or, given `from` (the replier's id, hex), if the request went to
   * someone else.
   */
  settle(nonce: number, value: T | undefined, from?: string): number | undefined {
    const p = this.#pending.get(nonce)
    if (p === undefined || (from !== undefined && from !== p.peer)) return undefined
    this.#pending.delete(nonce)
    p.timer.cancel()
    p.resolve(value)
    return p.openedAt
  }

  /** Settles every open request with undefined (the node stops). */
  settleAll(): void {
    for (const nonce of [...this.#pending.keys()]) this.settle(nonce, undefined)
  }
}
