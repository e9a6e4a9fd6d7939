import { defineProtocol, schema } from '@epost/codec'
import type { Decoded } from '@epost/codec'
import { LEAF_SET_SIZE, MAX_APP_ID_LENGTH, MAX_PAYLOAD_BYTES } from './constants.js'

const { v, id, handle, uint, bytes, handleList } = schema

/** Pastry's own protocol id on the wire. Applications ride inside `route` and `direct`. */
export const PASTRY_PROTOCOL = 'epost/pastry/1'

/** Handles in one message (leaf set, a row, join rows). */
export const MAX_HANDLES = 4 * LEAF_SET_SIZE + 64
const appId = v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_APP_ID_LENGTH))
const handles = handleList(MAX_HANDLES)

export const pastryProtocol = defineProtocol(PASTRY_PROTOCOL, {
  /** A message on its way to the root of `key`. `mid` names this hop for the ack. */
  route: {
    type: 1,
    schema: v.object({ mid: uint, key: id, source: handle, hops: uint, app: appId, payload: bytes(MAX_PAYLOAD_BYTES) }),
  },
  /** Per-hop acknowledgement of `route` (MSPastry): without it the sender reroutes. */
  routeAck: { type: 2, schema: v.object({ mid: uint }) },
  /** One hop, straight to a known node. */
  direct: { type: 3, schema: v.object({ app: appId, payload: bytes(MAX_PAYLOAD_BYTES) }) },
  /**
   * Liveness and proximity probe; `leafSet` asks for the leaf set in the reply, `row` for one
   * routing-table row (repair, PNS exchange). `announce` says the sender is ready and may belong
   * in the receiver's table; `rtt` is the RTT it measured to the receiver, if any. `own` is the
   * sender's leaf set, pushed to a leaf-set neighbour (which then need not probe it this round).
   * `hello`: the sender, joining, asks to be taken into the receiver's leaf set, as `hello` does.
   */
  probe: {
    type: 4,
    schema: v.object({ nonce: uint, leafSet: v.boolean(), row: v.optional(uint), announce: v.optional(v.boolean()), rtt: v.optional(uint), own: v.optional(handles), hello: v.optional(v.boolean()) }),
  },
  /**
   * `row` with the replier's measured RTT to each entry (2 bytes each, big-endian ms, 0xffff =
   * not measured): the asker skips probing candidates that the triangle inequality rules out.
   * `echo`: a nonce the asker sends straight back in an `echo`, so that the replier measures its
   * RTT to the asker (which announced itself) without a probe of its own.
   */
  probeReply: {
    type: 5,
    schema: v.pipe(
      v.object({ nonce: uint, ready: v.boolean(), leafSet: v.optional(handles), row: v.optional(handles), rtts: v.optional(bytes(2 * MAX_HANDLES)), echo: v.optional(uint) }),
      v.check((b) => (b.row === undefined ? b.rtts === undefined : b.rtts?.length === 2 * b.row.length), 'expected one 2-byte RTT per row entry'),
    ),
  },
  /** The answer to a probe reply's `echo`. */
  echo: { type: 10, schema: v.object({ nonce: uint }) },
  /** "Add me to your leaf set": sent by a node to each node it puts in its own leaf set. */
  hello: { type: 6, schema: v.object({ nonce: uint }) },
  helloAck: { type: 7, schema: v.object({ nonce: uint, leafSet: handles }) },
  /** Routed to the joiner's id; each hop adds its routing-table rows, the root replies with `joinReply`. */
  joinRequest: { type: 8, schema: v.object({ joiner: handle, rows: handles }) },
  joinReply: { type: 9, schema: v.object({ root: handle, leafSet: handles, rows: handles }) },
})

export type PastryMessage = Decoded<typeof pastryProtocol.messages>
export type PastryMessageName = PastryMessage['name']
export type MessageBody<N extends PastryMessageName> = Extract<PastryMessage, { name: N }>['body']
