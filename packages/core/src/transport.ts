import type { Id } from './id.js'
import type { Startable } from './lifecycle.js'
import type { NodeHandle } from './node-handle.js'

/**
 * Called for every frame a peer sends. `from.id` is authenticated by the transport: over
 * WebSockets each side proved the key of its CA-signed node certificate at connect; in the
 * simulator the network binds each address to its certified id when the node attaches.
 */
export type FrameHandler = (from: NodeHandle, data: Uint8Array) => void

export interface TransportStats {
  framesSent: number
  framesReceived: number
  bytesSent: number
  bytesReceived: number
  /** Peers dropped for malformed or oversized frames or failed authentication. */
  peersRejected: number
  openConnections: number
}

/**
 * A settled promise a transport's `send` may return for a frame it handed to the network at once
 * (the simulator does for every frame): a caller that sees it knows the send is done without
 * waiting on it, and attaches no handler (in a large simulation a handler per frame costs a
 * promise and a microtask each).
 */
export const SENT: Promise<void> = Promise.resolve()

/**
 * Moves opaque frames between authenticated nodes. At most once, unordered across peers, no
 * delivery guarantee: the overlay adds acks and retries where it needs them.
 */
export interface Transport extends Startable {
  /** This node's handle; its address is known once `start()` resolved. */
  readonly localHandle: NodeHandle
  /** Largest frame accepted in either direction, in bytes. */
  readonly maxFrameBytes: number
  /**
   * Queues `data` for `to`. Resolves once the frame is handed to the network (after waiting for
   * back-pressure to ease); rejects with EPOST_TRANSPORT_UNREACHABLE if no connection can be had,
   * EPOST_TRANSPORT_PEER_MISMATCH if the node at that address is not `to.id`, and
   * EPOST_TRANSPORT_FRAME_TOO_LARGE for an oversized frame. May return SENT when the frame is
   * already handed over.
   */
  send(to: NodeHandle, data: Uint8Array, options?: { signal?: AbortSignal }): Promise<void>
  /** Sets the one handler for inbound frames (the node's dispatcher). */
  onFrame(handler: FrameHandler): void
  /** Drops the connection to a misbehaving peer (malformed frames, forged claims) and counts it. */
  reject(peer: Id, reason: string): void
  stats(): TransportStats
}
