import { defineProtocol, schema } from '@epost/codec'
import type { Decoded } from '@epost/codec'
import { ID_BYTES } from '@epost/core'
import { MAX_ANYCAST_VISITS, MAX_PAYLOAD_BYTES, REPLAY_MAX } from './constants.js'

const { v, id, handle, bytes, handleList, uint } = schema

export const SCRIBE_PROTOCOL = 'epost/scribe/1'

/** Ids in a path from the root (a tree deeper than this is not kept). */
const MAX_PATH_IDS = 256

/** A message's id on a topic: unique per publish, used for duplicate suppression and replay. */
const mid = v.pipe(v.string(), v.minLength(1), v.maxLength(80))

export const scribeProtocol = defineProtocol(SCRIBE_PROTOCOL, {
  /**
   * Routed toward the topic id; the first tree member on the way adopts the subscriber. Sent
   * directly (not routed) when a full node pushes a subscriber down to one of its children.
   * `known`: ids of the topic's recent messages the subscriber already has (the adopter replays
   * the others). `avoid`: the parent the subscriber lost; a node below it (cut off too, though it
   * may not know yet) passes the subscribe on instead of adopting.
   */
  subscribe: { type: 1, schema: v.object({ topic: id, subscriber: handle, known: schema.list(mid, REPLAY_MAX), avoid: v.optional(id) }) },
  /**
   * Parent to new child, with the parent's path from the root (ids, 16 bytes each) for loop
   * prevention; sent again to every child when the parent's own path changes.
   */
  subscribeAck: {
    type: 2,
    schema: v.object({ topic: id, path: v.pipe(bytes(ID_BYTES * MAX_PATH_IDS), v.check((p) => p.length % ID_BYTES === 0, `expected whole ${ID_BYTES}-byte ids`)) }),
  },
  /** Child to parent. */
  unsubscribe: { type: 3, schema: v.object({ topic: id }) },
  /** Routed to the root, which pushes it down the tree. */
  publish: { type: 4, schema: v.object({ topic: id, mid, payload: bytes(MAX_PAYLOAD_BYTES) }) },
  /**
   * Down the tree, parent to child (also a replay of what a new child missed). `age`: ms since the
   * root took the publish in, so every node ages a message alike without synchronised clocks.
   */
  multicast: { type: 5, schema: v.object({ topic: id, mid, age: uint, payload: bytes(MAX_PAYLOAD_BYTES) }) },
  /** Parent to child, every heartbeat period: "I am alive and still your parent for these topics". */
  heartbeat: { type: 6, schema: v.object({ topics: schema.list(id, 1024) }) },
  /** Child to parent, in answer: "and I am still your child for these". */
  heartbeatAck: { type: 7, schema: v.object({ topics: schema.list(id, 1024) }) },
  /**
   * Routed toward the topic id until it meets the tree, then a depth-first walk: `toVisit` is the
   * stack, `visited` the nodes that declined.
   */
  anycast: {
    type: 8,
    schema: v.object({ topic: id, nonce: uint, source: handle, payload: bytes(MAX_PAYLOAD_BYTES), visited: handleList(MAX_ANYCAST_VISITS), toVisit: handleList(MAX_ANYCAST_VISITS) }),
  },
  /** To the source of an anycast that no member took. */
  anycastFailed: { type: 9, schema: v.object({ topic: id, nonce: uint }) },
})

export type ScribeMessage = Decoded<typeof scribeProtocol.messages>
export type ScribeMessageName = ScribeMessage['name']
export type ScribeBody<N extends ScribeMessageName> = Extract<ScribeMessage, { name: N }>['body']
