import { defineProtocol, schema } from '@epost/codec'
import type { Decoded } from '@epost/codec'
import { MAX_PAYLOAD_BYTES } from './constants.js'

const { v, id, handle, bytes, handleList } = schema

export const SCRIBE_PROTOCOL = 'epost/scribe/1'

export const scribeProtocol = defineProtocol(SCRIBE_PROTOCOL, {
  /** Routed toward the topic id; the first tree member on the way adopts the subscriber. */
  subscribe: { type: 1, schema: v.object({ topic: id, subscriber: handle }) },
  /** Parent to new child, with the parent's path from the root (ids, 16 bytes each) for loop prevention. */
  subscribeAck: { type: 2, schema: v.object({ topic: id, path: bytes(16 * 256) }) },
  /** Child to parent. */
  unsubscribe: { type: 3, schema: v.object({ topic: id }) },
  /** Routed to the root, which pushes it down the tree. */
  publish: { type: 4, schema: v.object({ topic: id, payload: bytes(MAX_PAYLOAD_BYTES) }) },
  /** Down the tree, parent to child. */
  multicast: { type: 5, schema: v.object({ topic: id, payload: bytes(MAX_PAYLOAD_BYTES) }) },
  /** Parent to children, per topic: "I am alive and still your parent". */
  heartbeat: { type: 6, schema: v.object({ topics: schema.list(id, 1024) }) },
  /** Routed toward the topic id; the first member whose client accepts consumes it. */
  anycast: { type: 7, schema: v.object({ topic: id, payload: bytes(MAX_PAYLOAD_BYTES), visited: handleList(64) }) },
})

export type ScribeMessage = Decoded<typeof scribeProtocol.messages>
export type ScribeMessageName = ScribeMessage['name']
export type ScribeBody<N extends ScribeMessageName> = Extract<ScribeMessage, { name: N }>['body']
