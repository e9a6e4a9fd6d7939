import type { Id } from './id.js'
import type { NodeHandle } from './node-handle.js'
import type { KeyRange } from './block-store.js'

/**
 * The common API (Dabek et al., FreePastry `rice/p2p/commonapi`): what an application on the
 * overlay sees. PAST and Scribe are written against this and nothing else, so they run over
 * Pastry, in the simulator, or over a trivial test overlay.
 */

export interface DeliveredMessage {
  /** The key the message was routed to; undefined for a direct send. */
  key: Id | undefined
  payload: Uint8Array
  /** The node that called route/send. */
  source: NodeHandle
  /** The node this frame came from (the last hop). */
  from: NodeHandle
  hops: number
}

export interface ForwardContext {
  readonly key: Id
  /** Replace to change what travels on. */
  payload: Uint8Array
  /** Replace to send elsewhere; undefined means this node is the root and will deliver. */
  nextHop: NodeHandle | undefined
  readonly source: NodeHandle
  readonly hops: number
}

export interface Application {
  /** This node is the root of `msg.key` (or the target of a direct send). */
  deliver(msg: DeliveredMessage): void
  /** At every hop, before the message moves on. Return false to consume it here. */
  forward?(ctx: ForwardContext): boolean
  /** A node joined (true) or left (false) this node's leaf set. */
  update?(node: NodeHandle, joined: boolean): void
}

export interface RouteOptions {
  /** First hop to try, if alive. */
  hint?: NodeHandle
}

export interface Endpoint {
  /** The application's protocol id: an explicit string such as 'epost/past/1'. */
  readonly protocol: string
  readonly localHandle: NodeHandle
  /** Routes `payload` to the live node whose id is numerically closest to `key`. */
  route(key: Id, payload: Uint8Array, options?: RouteOptions): void
  /** Sends straight to a known node (one hop). */
  send(to: NodeHandle, payload: Uint8Array): void
  /** Up to `k` nodes (this one included) that are closest to `key`, closest first; empty if `key` is not in this node's neighbourhood. */
  replicaSet(key: Id, k: number): NodeHandle[]
  /**
   * The range of keys for which `node` is among the `rank + 1` closest nodes, as far as this
   * node can tell (rank 0: keys `node` is the root of); undefined if it cannot tell.
   */
  range(node: NodeHandle, rank: number): KeyRange | undefined
  /** Up to `n` nearest neighbours in the id space (the leaf set). */
  neighborSet(n: number): NodeHandle[]
  /** Up to `n` next hops this node would use toward `key`. */
  localLookup(key: Id, n: number): NodeHandle[]
  /** True once the node may act as a root (its leaf set is confirmed). */
  readonly ready: boolean
}

export interface Overlay {
  readonly localHandle: NodeHandle
  readonly ready: boolean
  /** Registers an application under its protocol id and returns its endpoint. */
  register(protocol: string, app: Application): Endpoint
}
