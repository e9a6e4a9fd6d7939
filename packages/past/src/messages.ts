import { ID_BYTES } from '@epost/core'
import { defineProtocol, schema } from '@epost/codec'
import type { Decoded } from '@epost/codec'
import { MAX_ENCODED_BLOCK_BYTES, MAX_SYNC_KEYS } from './constants.js'
import { DIGEST_BUCKETS } from './digest.js'

const { v, id, handle, uint, bytes, handleList } = schema

/** PAST's protocol id; its messages ride in Pastry's `route` and `direct` payloads. */
export const PAST_PROTOCOL = 'epost/past/1'

const block = bytes(MAX_ENCODED_BLOCK_BYTES)
const code = v.optional(v.pipe(v.string(), v.maxLength(64)))

export const pastProtocol = defineProtocol(PAST_PROTOCOL, {
  /** Routed to the handle: the root stores the block and has its replica set store it too. */
  insert: { type: 1, schema: v.object({ req: uint, origin: handle, key: id, k: uint, block }) },
  /** Root to each replica. */
  replicate: { type: 2, schema: v.object({ req: uint, key: id, block, diverted: v.optional(v.boolean()) }) },
  replicateAck: { type: 3, schema: v.object({ req: uint, ok: v.boolean(), code }) },
  /** Root to the inserting node: how many replicas hold the block now. */
  insertAck: { type: 4, schema: v.object({ req: uint, stored: uint, ok: v.boolean(), code }) },
  /** Routed to the handle; answered by the first node on the path that holds the block. */
  lookup: { type: 5, schema: v.object({ req: uint, origin: handle, key: id }) },
  lookupReply: { type: 6, schema: v.object({ req: uint, block: v.optional(block) }) },
  /** Routed to the handle: the root answers with its replica set (PAST's lookupHandles). */
  handles: { type: 7, schema: v.object({ req: uint, origin: handle, key: id, k: uint }) },
  handlesReply: { type: 8, schema: v.object({ req: uint, replicas: handleList(64) }) },
  /** Straight to one replica: its copy, if any. */
  fetch: { type: 9, schema: v.object({ req: uint, key: id }) },
  fetchReply: { type: 10, schema: v.object({ req: uint, block: v.optional(block) }) },
  /** Upkeep: "these are my keys in this arc, bucket by bucket"; the answer names the peer's keys in differing buckets. */
  sync: { type: 11, schema: v.object({ req: uint, from: id, to: id, xor: bytes(DIGEST_BUCKETS * ID_BYTES), counts: schema.list(uint, DIGEST_BUCKETS) }) },
  // `code`: the peer could not read its store (the keys are then empty); the asker moves on at once.
  syncReply: { type: 12, schema: v.object({ req: uint, keys: bytes(MAX_SYNC_KEYS * ID_BYTES), code: v.optional(v.pipe(v.string(), v.maxLength(64))) }) },
  /** A reader hands a verified content-hash block to the first hop of its route, to cache. */
  cache: { type: 13, schema: v.object({ key: id, block }) },
})

export type PastMessage = Decoded<typeof pastProtocol.messages>
export type PastMessageName = PastMessage['name']
export type PastBody<N extends PastMessageName> = Extract<PastMessage, { name: N }>['body']
