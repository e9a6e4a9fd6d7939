import { EpostError, handle, isEpostError } from '@epost/core'
import type { Clock, Id, Logger, NodeHandle, Timer } from '@epost/core'
import { WebSocket } from 'ws'
import type { RawData } from 'ws'
import { WS_HANDSHAKE_MAX_BYTES } from '../constants.js'
import { unreachable } from '../errors.js'
import { DialerHandshake, ListenerHandshake } from './handshake.js'
import type { HandshakeIdentity } from './handshake.js'
import { Outbox } from './outbox.js'

/** Close codes this transport sends (4000-4999 are for applications). */
export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
  duplicate: 4001,
  authFailed: 4002,
  malformed: 4003,
  rejected: 4004,
  full: 4005,
  wrongPeer: 4006,
  handshakeTimeout: 4007,
  idle: 4008,
} as const

/** What the pool says about a freshly authenticated connection. */
export type Admission = 'kept' | 'duplicate' | 'full'

export interface ConnectionHooks {
  /** The peer proved its id: keep the connection (possibly replacing another), or not. */
  admit(conn: Connection): Admission
  frame(conn: Connection, data: Uint8Array): void
  /** The peer broke the protocol (garbage, text, oversized frame, failed authentication). */
  violation(conn: Connection, reason: string, err?: unknown): void
  closed(conn: Connection): void
  blocked(delta: number): void
}

export interface ConnectionOptions {
  ws: WebSocket
  identity: HandshakeIdentity
  clock: Clock
  logger: Logger
  hooks: ConnectionHooks
  handshakeTimeoutMs: number
  highWaterMarkBytes: number
  closeGraceMs: number
  /** For a dial: who we want and where we dialed. Absent for an inbound connection. */
  dial?: { expected: Id; address: string }
}

type State = 'connecting' | 'hello' | 'auth' | 'challenge' | 'ready' | 'open' | 'closed'

/**
 * One WebSocket to one peer: runs the handshake (handshake.ts) as a small state machine on
 * `message` events, then carries binary frames with back-pressure (outbox.ts). `opened` settles
 * when the handshake does; a dial awaits it.
 */
export class Connection {
  readonly outbound: boolean
  /** Where we dialed (verified by the handshake), or what an inbound peer claims (signed by it). */
  readonly claimedAddress: () => string
  /** The authenticated peer; set once the handshake has checked its certificate and signature. */
  peer: NodeHandle | undefined
  /** clock.now() of the last frame in either direction. */
  lastActivityMs: number
  readonly opened: Promise<void>
  readonly closed: Promise<void>
  readonly #ws: WebSocket
  readonly #o: ConnectionOptions
  readonly #outbox: Outbox
  readonly #dialer: DialerHandshake | undefined
  readonly #listener: ListenerHandshake | undefined
  #state: State
  #admitted = false
  #closing = false
  #violated = false
  #discard = false
  #error: EpostError | undefined
  #timer: Timer | undefined
  #killTimer: Timer | undefined
  #resolveOpened!: () => void
  #rejectOpened!: (err: EpostError) => void
  #resolveClosed!: () => void

  constructor(o: ConnectionOptions) {
    this.#o = o
    this.#ws = o.ws
    this.outbound = o.dial !== undefined
    this.lastActivityMs = o.clock.now()
    this.opened = new Promise<void>((resolve, reject) => {
      this.#resolveOpened = resolve
      this.#rejectOpened = reject
    })
    this.opened.catch(() => {})
    this.closed = new Promise<void>((resolve) => {
      this.#resolveClosed = resolve
    })
    // A server-side socket writes the caller's bytes unmasked and by reference: copy them, so a
    // caller reusing its buffer after send() resolves cannot change a frame still queued.
    const copy = !this.outbound
    this.#outbox = new Outbox(
      (data, written) => this.#ws.send(copy ? Buffer.from(data) : data, { binary: true }, written),
      o.highWaterMarkBytes,
      o.hooks.blocked,
    )
    const dial = o.dial
    this.claimedAddress = () => dial?.address ?? this.peer?.address ?? ''
    this.#ws.on('message', (data, isBinary) => this.#onMessage(data, isBinary))
    this.#ws.on('error', (err) => this.#onError(err))
    this.#ws.on('close', (code, reason) => this.#onClose(code, reason.toString()))
    if (dial !== undefined) {
      const dialer = new DialerHandshake(o.identity, dial.expected)
      this.#dialer = dialer
      this.#state = 'connecting'
      this.#ws.on('open', () => {
        if (this.#state !== 'connecting' || this.#closing) return
        this.#state = 'challenge'
        this.#armHandshakeTimer()
        this.#ws.send(dialer.hello())
      })
    } else {
      this.#listener = new ListenerHandshake(o.identity)
      this.#state = 'hello'
      this.#armHandshakeTimer()
    }
  }

  /** This node's id (the pool compares it with the peer's to break ties). */
  get localId(): Id {
    return this.#o.identity.credentials.id
  }

  get isOpen(): boolean {
    return this.#state === 'open' && !this.#closing && this.#ws.readyState === WebSocket.OPEN
  }

  /** Nothing queued and nobody waiting to send: safe to evict. */
  get idle(): boolean {
    return this.#outbox.idle
  }

  get pendingBytes(): number {
    return this.#outbox.pendingBytes
  }

  write(data: Uint8Array, signal?: AbortSignal): Promise<void> {
    this.lastActivityMs = this.#o.clock.now()
    return this.#outbox.write(data, signal)
  }

  /**
   * Closes with `code`; sends still waiting are rejected with `err`. Frames the peer wrote before
   * it saw our close are still delivered (a graceful close loses nothing in flight) unless
   * `discard` is set (a peer we no longer trust). The socket is cut after the grace period if the
   * peer does not answer the close.
   */
  close(code: number, reason: string, err?: EpostError, discard = false): void {
    if (discard) this.#discard = true
    if (this.#closing || this.#state === 'closed') return
    this.#closing = true
    this.#timer?.cancel()
    const why = err ?? unreachable(this.claimedAddress(), `the connection was closed (${reason})`)
    this.#error ??= why
    this.#outbox.fail(why)
    if (this.#ws.readyState === WebSocket.CONNECTING) {
      this.#ws.terminate()
      return
    }
    this.#ws.close(code, closeReason(reason))
    this.#killTimer = this.#o.clock.setTimeout(() => this.#ws.terminate(), this.#o.closeGraceMs)
  }

  /** The peer broke the protocol: count it (once) and close, ignoring anything else it sends. */
  violate(code: number, reason: string, err?: unknown): void {
    if (!this.#violated) {
      this.#violated = true
      this.#o.hooks.violation(this, reason, err)
    }
    this.close(code, reason, err instanceof EpostError ? err : new EpostError('EPOST_TRANSPORT_AUTH_FAILED', `the peer broke the protocol (${reason})`, { cause: err }), true)
  }

  #armHandshakeTimer(): void {
    this.#timer = this.#o.clock.setTimeout(() => {
      if (this.#state === 'open' || this.#state === 'closed') return
      const err = unreachable(this.claimedAddress(), `the handshake did not complete within ${this.#o.handshakeTimeoutMs} ms`)
      // A dialer that stalls our accept loop is misbehaving; a listener that stalls our dial is just unreachable.
      if (this.outbound) this.close(CLOSE.handshakeTimeout, 'handshake timeout', err)
      else this.violate(CLOSE.handshakeTimeout, 'handshake timeout', err)
    }, this.#o.handshakeTimeoutMs)
  }

  #onMessage(raw: RawData, isBinary: boolean): void {
    if (this.#state === 'closed' || this.#discard || (this.#closing && this.#state !== 'open')) return
    if (!isBinary) {
      this.violate(CLOSE.malformed, 'text frame')
      return
    }
    const data = toBytes(raw)
    if (this.#state === 'open') {
      this.lastActivityMs = this.#o.clock.now()
      this.#o.hooks.frame(this, data)
      return
    }
    if (data.length > WS_HANDSHAKE_MAX_BYTES) {
      this.violate(CLOSE.malformed, `handshake message of ${data.length} bytes`)
      return
    }
    try {
      this.#step(data)
    } catch (err) {
      this.#handshakeFailed(err)
    }
  }

  #step(data: Uint8Array): void {
    switch (this.#state) {
      case 'hello': {
        const reply = (this.#listener as ListenerHandshake).hello(data)
        this.#state = 'auth'
        this.#ws.send(reply)
        return
      }
      case 'auth': {
        this.peer = (this.#listener as ListenerHandshake).auth(data)
        if (this.#admit()) this.#ws.send((this.#listener as ListenerHandshake).ready())
        return
      }
      case 'challenge': {
        const dial = this.#o.dial as { expected: Id; address: string }
        const { reply, peer } = (this.#dialer as DialerHandshake).challenge(data, dial.address)
        this.peer = Object.freeze(handle(peer, dial.address))
        this.#state = 'ready'
        this.#ws.send(reply)
        return
      }
      case 'ready': {
        ;(this.#dialer as DialerHandshake).ready(data)
        this.#admit()
        return
      }
      default:
        return
    }
  }

  /** Asks the pool; opens, or closes as a duplicate or for lack of room. */
  #admit(): boolean {
    const verdict = this.#o.hooks.admit(this)
    if (verdict === 'kept') {
      this.#admitted = true
      this.#state = 'open'
      this.#timer?.cancel()
      this.lastActivityMs = this.#o.clock.now()
      this.#resolveOpened()
      return true
    }
    if (verdict === 'duplicate') {
      // The pool kept the other connection to this peer; a dial finds it there.
      this.close(CLOSE.duplicate, 'duplicate connection')
      this.#resolveOpened()
      return false
    }
    const err = new EpostError('EPOST_TRANSPORT_CONN_LIMIT', `connection limit reached and every connection is busy; raise maxConns or retry when sends drain`)
    this.#rejectOpened(err)
    this.close(CLOSE.full, 'connection limit', err)
    return false
  }

  #handshakeFailed(err: unknown): void {
    if (isEpostError(err, 'EPOST_TRANSPORT_PEER_MISMATCH')) {
      // An honest node, just not the one we wanted: not a violation.
      this.#rejectOpened(err)
      this.close(CLOSE.wrongPeer, 'not the node the dialer wanted', err)
      return
    }
    const auth = isEpostError(err, 'EPOST_TRANSPORT_AUTH_FAILED')
    const e = auth ? (err as EpostError) : new EpostError('EPOST_TRANSPORT_AUTH_FAILED', `the peer at ${this.claimedAddress() || 'an inbound socket'} sent a malformed handshake; it is not an ePOST node of this version`, { cause: err })
    this.#rejectOpened(e)
    this.violate(auth ? CLOSE.authFailed : CLOSE.malformed, auth ? 'authentication failed' : 'malformed handshake', e)
  }

  #onError(err: Error & { code?: string }): void {
    if (typeof err.code === 'string' && err.code.startsWith('WS_ERR_')) {
      // ws already closes the socket (1009 for an oversized frame, 1002 for a protocol error).
      const e = new EpostError(err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'EPOST_TRANSPORT_FRAME_TOO_LARGE' : 'EPOST_TRANSPORT_AUTH_FAILED', `the peer broke the WebSocket protocol: ${err.message}`, { cause: err })
      this.#error ??= e
      if (!this.#violated) {
        this.#violated = true
        this.#o.hooks.violation(this, err.code, err)
      }
      return
    }
    if (this.#closing) return
    this.#error ??= unreachable(this.claimedAddress(), err.message, err)
    this.#o.logger.debug('socket error', { peer: this.peer?.id, address: this.claimedAddress(), err })
  }

  #onClose(code: number, reason: string): void {
    const wasState = this.#state
    this.#state = 'closed'
    this.#timer?.cancel()
    this.#killTimer?.cancel()
    const err = this.#error ?? closeError(code, reason, this.claimedAddress(), wasState)
    this.#outbox.fail(err)
    this.#rejectOpened(err)
    if (this.#admitted) this.#o.hooks.closed(this)
    this.#resolveClosed()
  }
}

/** Why a dial ended in a close before `ready`, from the listener's close code. */
function closeError(code: number, reason: string, address: string, state: State): EpostError {
  const why = `closed by the peer (${code}${reason === '' ? '' : ` ${reason}`})`
  switch (code) {
    case CLOSE.duplicate:
      return new EpostError('EPOST_TRANSPORT_CLOSED', `${why}: another connection to the same peer was kept; use that one`, { details: { address, duplicate: true } })
    case CLOSE.full:
      return new EpostError('EPOST_TRANSPORT_CONN_LIMIT', `${address} is at its connection limit; retry later`, { details: { address } })
    case CLOSE.authFailed:
    case CLOSE.malformed:
      return new EpostError('EPOST_TRANSPORT_AUTH_FAILED', `${address} refused our handshake (${reason}); check that both nodes hold certificates from the same CA`, { details: { address } })
    default:
      return unreachable(address, state === 'connecting' ? 'the connection failed' : why)
  }
}

/** A close reason fits in 123 bytes of UTF-8: keep it ASCII and short. */
function closeReason(reason: string): string {
  return reason.replace(/[^\x20-\x7e]/g, '?').slice(0, 120)
}

/** A message as a plain Uint8Array; copied if it shares memory with other data. */
function toBytes(raw: RawData): Uint8Array {
  if (Array.isArray(raw)) return new Uint8Array(Buffer.concat(raw))
  if (raw instanceof ArrayBuffer) return new Uint8Array(raw)
  if (raw.byteOffset === 0 && raw.buffer.byteLength === raw.byteLength) return new Uint8Array(raw.buffer, 0, raw.byteLength)
  return new Uint8Array(raw)
}
