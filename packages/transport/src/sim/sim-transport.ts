import { Lifecycle, SENT, abortError } from '@epost/core'
import type { EpostError, FrameHandler, Id, Logger, NodeHandle, Transport, TransportStats } from '@epost/core'
import { frameTooLarge, notStarted, stopped } from '../errors.js'
import type { Point } from './latency.js'

/** What a SimTransport needs from its network. */
export interface SimLink {
  /** Hands a frame to the network; returns the error to reject the send with, if any. */
  transmit(from: SimTransport, to: NodeHandle, data: Uint8Array): EpostError | undefined
  readonly logger: Logger
}

/**
 * One node's attachment to a SimNetwork. Created by `network.createTransport`; its address and
 * certified id are bound by the network, so `from` in the frame handler is authentic.
 */
export class SimTransport implements Transport {
  readonly localHandle: NodeHandle
  readonly maxFrameBytes: number
  /** Where the node sits in the latency model's space. */
  readonly position: Point
  /** Set by `network.kill`: the node vanished; frames to and from it are lost. */
  killed = false
  /** Started and not stopped: the only state in which frames are delivered to it. */
  up = false
  /** Runs in another shard (SimNetwork.attachRemote): frames to it leave through the remote sink. */
  remote = false
  framesSent = 0
  framesReceived = 0
  bytesSent = 0
  bytesReceived = 0
  peersRejected = 0
  #handler: FrameHandler | undefined
  readonly #link: SimLink
  readonly #lifecycle: Lifecycle

  constructor(link: SimLink, localHandle: NodeHandle, position: Point, maxFrameBytes: number) {
    this.#link = link
    this.localHandle = localHandle
    this.position = position
    this.maxFrameBytes = maxFrameBytes
    this.#lifecycle = new Lifecycle(
      () => {
        this.up = true
      },
      () => {
        this.up = false
      },
    )
  }

  get id(): Id {
    return this.localHandle.id
  }

  start(): Promise<void> {
    return this.#lifecycle.start()
  }

  stop(): Promise<void> {
    return this.#lifecycle.stop()
  }

  send(to: NodeHandle, data: Uint8Array, options?: { signal?: AbortSignal }): Promise<void> {
    if (!this.up) return Promise.reject(this.#lifecycle.state === 'new' || this.#lifecycle.state === 'starting' ? notStarted() : stopped())
    const signal = options?.signal
    if (signal !== undefined && signal.aborted) return Promise.reject(abortError(signal))
    if (data.length > this.maxFrameBytes) return Promise.reject(frameTooLarge(data.length, this.maxFrameBytes))
    const err = this.#link.transmit(this, to, data)
    return err === undefined ? SENT : Promise.reject(err)
  }

  onFrame(handler: FrameHandler): void {
    this.#handler = handler
  }

  reject(peer: Id, reason: string): void {
    // No connection to drop in the simulator; the count is what the overlay's tests look at.
    this.peersRejected++
    this.#link.logger.debug('peer rejected', { node: this.localHandle.id, peer, reason })
  }

  stats(): TransportStats {
    return {
      framesSent: this.framesSent,
      framesReceived: this.framesReceived,
      bytesSent: this.bytesSent,
      bytesReceived: this.bytesReceived,
      peersRejected: this.peersRejected,
      openConnections: 0,
    }
  }

  /** Called by the network when a frame arrives; false if the node cannot take it. */
  receive(from: NodeHandle, data: Uint8Array): boolean {
    if (!this.up || this.killed) return false
    this.framesReceived++
    this.bytesReceived += data.length
    const h = this.#handler
    if (h !== undefined) {
      try {
        h(from, data)
      } catch (err) {
        this.#link.logger.warn('frame handler threw; the frame is dropped', { node: this.localHandle.id, from: from.id, err })
      }
    }
    return true
  }
}
