import { handleToWire } from '@epost/core'
import type { Clock, Id, NodeHandle, Timer } from '@epost/core'
import { schema } from '@epost/codec'
import { ANYCAST_FAIL_WAIT_MS, MAX_ANYCAST_VISITS } from './constants.js'
import type { ScribeBody } from './messages.js'
import type { Topic } from './topic.js'

/** Orders the nodes an anycast may visit next (children of the current node, then its parent). */
export type AnycastPolicy = (topic: Id, candidates: NodeHandle[], proximity: (h: NodeHandle) => number | undefined) => NodeHandle[]

/** Default anycast policy: nearest first by measured RTT; unmeasured ones last, in tree order. */
export const nearestFirst: AnycastPolicy = (_topic, candidates, proximity) =>
  candidates
    .map((h, i) => ({ h, i, d: proximity(h) ?? Infinity }))
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .map((x) => x.h)

type AnycastBody = ScribeBody<'anycast'>
type Send = (to: NodeHandle, name: 'anycast' | 'anycastFailed', body: unknown) => void

/**
 * Anycast as a depth-first walk of a topic's tree (Scribe §2.3): the route toward the topic id
 * stops at the first tree node it meets; from there the message carries its own stack (`toVisit`)
 * and the nodes that declined (`visited`), so no node keeps state for it. The source keeps only
 * the failure callback, until it is told or gives up waiting.
 */
export class AnycastWalk {
  readonly #self: NodeHandle
  readonly #clock: Clock
  readonly #policy: AnycastPolicy
  readonly #proximity: (h: NodeHandle) => number | undefined
  readonly #send: Send
  readonly #waits = new Map<number, { onFailed: (topic: Id, payload: Uint8Array) => void; payload: Uint8Array; timer: Timer }>()

  constructor(self: NodeHandle, clock: Clock, policy: AnycastPolicy, proximity: (h: NodeHandle) => number | undefined, send: Send) {
    this.#self = self
    this.#clock = clock
    this.#policy = policy
    this.#proximity = proximity
    this.#send = send
  }

  /** The wire body of a new anycast from this node (to be routed toward the topic id). */
  begin(topic: Id, nonce: number, payload: Uint8Array, onFailed?: (topic: Id, payload: Uint8Array) => void): Record<string, unknown> {
    if (onFailed !== undefined) {
      const timer = this.#clock.setTimeout(() => this.#waits.delete(nonce), ANYCAST_FAIL_WAIT_MS)
      this.#waits.set(nonce, { onFailed, payload, timer })
    }
    const none = schema.handlesToWire([])
    return { topic: topic.bytes, nonce, source: handleToWire(this.#self), payload, visited: none, toVisit: none }
  }

  /** At a tree node: offer it to the client, else go on to the children (nearest first), then the parent. */
  step(t: Topic, b: AnycastBody): void {
    if (t.client?.anycast?.(t.id, b.payload) === true) return
    const visited = new Map(b.visited.map((h) => [h.id.hex, h]))
    visited.set(this.#self.id.hex, this.#self)
    const stacked = new Set(b.toVisit.map((h) => h.id.hex))
    const fresh = (h: NodeHandle): boolean => !visited.has(h.id.hex) && !stacked.has(h.id.hex)
    const next = this.#policy(t.id, [...t.children.values()].map((c) => c.handle).filter(fresh), this.#proximity)
    if (t.parent !== undefined && fresh(t.parent)) next.push(t.parent)
    this.next(b, [...next, ...b.toVisit], visited)
  }

  /** Sends the walk on to the top of the stack, or tells the source that it failed. */
  next(b: AnycastBody, toVisit: NodeHandle[] = [...b.toVisit], visited = new Map(b.visited.map((h) => [h.id.hex, h]))): void {
    const to = toVisit.shift()
    if (to === undefined || visited.size >= MAX_ANYCAST_VISITS) {
      this.#send(b.source, 'anycastFailed', { topic: b.topic.bytes, nonce: b.nonce })
      return
    }
    this.#send(to, 'anycast', {
      topic: b.topic.bytes,
      nonce: b.nonce,
      source: handleToWire(b.source),
      payload: b.payload,
      visited: schema.handlesToWire([...visited.values()]),
      toVisit: schema.handlesToWire(toVisit.slice(0, MAX_ANYCAST_VISITS)),
    })
  }

  /** The source learns that no member took its anycast. */
  failed(topic: Id, nonce: number): void {
    const w = this.#waits.get(nonce)
    if (w === undefined) return
    this.#waits.delete(nonce)
    w.timer.cancel()
    w.onFailed(topic, w.payload)
  }

  stop(): void {
    for (const w of this.#waits.values()) w.timer.cancel()
    this.#waits.clear()
  }
}
