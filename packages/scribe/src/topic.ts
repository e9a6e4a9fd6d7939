import { ID_BYTES, Id } from '@epost/core'
import type { NodeHandle } from '@epost/core'
import { REPLAY_MAX, REPLAY_MAX_BYTES, REPLAY_MS, SEEN_MAX } from './constants.js'
import type { ScribeClient } from './scribe.js'

/** A subscribe in flight: sent, not yet acknowledged. */
export interface Waiting {
  since: number
  attempts: number
  /** The client was told (subscribeFailed) in this episode. */
  reported: boolean
  /** The parent we lost, if that is why we subscribe: its subtree is cut off too. */
  avoid: Id | undefined
}

/** One node's state for one topic: its place in the tree and the topic's recent messages. */
export class Topic {
  readonly id: Id
  client: ScribeClient | undefined
  parent: NodeHandle | undefined
  root = false
  /** Children and when each last acknowledged a heartbeat (or joined). */
  readonly children = new Map<string, { handle: NodeHandle; heard: number }>()
  /** When we last heard from the parent. */
  heard: number
  waiting: Waiting | undefined
  /** Ids from the root down to our parent: we never adopt one of them (loop prevention). */
  path = new Set<string>()
  pathBytes: Uint8Array = new Uint8Array()
  /** Recent messages by id with the local time the root took them in, oldest first (replay). */
  readonly #recent = new Map<string, { payload: Uint8Array; at: number }>()
  #recentBytes = 0
  /** Ids seen, kept twice as long as the replay window: a replay can never deliver twice. */
  readonly #seen = new Map<string, number>()

  constructor(id: Id, now: number) {
    this.id = id
    this.heard = now
  }

  /** In the tree: the root, or a node with a parent. */
  get attached(): boolean {
    return this.root || this.parent !== undefined
  }

  setParent(parent: NodeHandle | undefined, pathBytes: Uint8Array, now: number, path = pathIds(pathBytes)): void {
    this.parent = parent
    this.pathBytes = pathBytes
    this.path = path
    this.heard = now
  }

  /** `h` is our parent on this topic. */
  isParent(h: NodeHandle): boolean {
    return this.parent?.id.equals(h.id) === true
  }

  /** No parent (root, or cut off): the path is empty. */
  detach(now: number): void {
    this.setParent(undefined, new Uint8Array(), now)
  }

  /**
   * Remembers a message the root took in at (local time) `at`; false if it was seen already (a
   * duplicate) or is older than the replay window (a stale replay).
   */
  remember(mid: string, payload: Uint8Array, at: number, now: number): boolean {
    if (this.#seen.has(mid) || now - at > REPLAY_MS) return false
    this.#seen.set(mid, at)
    this.#recent.set(mid, { payload, at })
    this.#recentBytes += payload.length
    this.expire(now)
    return true
  }

  /** Drops payloads older than the replay window or beyond its caps, and ids older than twice it. */
  expire(now: number): void {
    for (const [mid, m] of this.#recent) {
      if (this.#recent.size <= REPLAY_MAX && this.#recentBytes <= REPLAY_MAX_BYTES && now - m.at <= REPLAY_MS) break
      this.#recent.delete(mid)
      this.#recentBytes -= m.payload.length
    }
    for (const [mid, at] of this.#seen) {
      if (this.#seen.size <= SEEN_MAX && now - at <= 2 * REPLAY_MS) break
      this.#seen.delete(mid)
    }
  }

  /** Ids of the recent messages, newest last (what a subscribe says it has). */
  known(): string[] {
    const all = [...this.#seen.keys()]
    return all.slice(Math.max(0, all.length - REPLAY_MAX))
  }

  /** Recent messages not among `known`, oldest first, with their age. */
  missing(known: readonly string[], now: number): Array<{ mid: string; age: number; payload: Uint8Array }> {
    const have = new Set(known)
    const out: Array<{ mid: string; age: number; payload: Uint8Array }> = []
    for (const [mid, m] of this.#recent) if (!have.has(mid)) out.push({ mid, age: Math.max(0, Math.round(now - m.at)), payload: m.payload })
    return out
  }
}

/** The ids (hex) in a path from the root as carried on the wire: ID_BYTES each. */
export function pathIds(pathBytes: Uint8Array): Set<string> {
  const ids = new Set<string>()
  for (let i = 0; i + ID_BYTES <= pathBytes.length; i += ID_BYTES) ids.add(Id.fromBytes(pathBytes, i).hex)
  return ids
}
