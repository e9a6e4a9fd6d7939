import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { EpostError, Lifecycle, RealClock, abortError, createMetrics, handle, isEpostError, silentLogger, throwIfAborted } from '@epost/core'
import type { Clock, Counter, FrameHandler, Gauge, Id, Logger, NodeCredentials, NodeHandle, Timer, Transport, TransportStats } from '@epost/core'
import { randomBytes } from '@epost/crypto'
import { WebSocket, WebSocketServer } from 'ws'
import {
  MAX_FRAME_BYTES,
  WS_CLOSE_GRACE_MS,
  WS_CONNECT_TIMEOUT_MS,
  WS_HANDSHAKE_MAX_BYTES,
  WS_HANDSHAKE_TIMEOUT_MS,
  WS_HIGH_WATER_MARK_BYTES,
  WS_HOST,
  WS_IDLE_TIMEOUT_MS,
  WS_MAX_CONNS,
  WS_MASK_FRAMES,
  WS_MAX_PENDING_HANDSHAKES,
  WS_PORT,
} from '../constants.js'
import { frameTooLarge, notStarted, peerMismatch, stopped, unreachable } from '../errors.js'
import { CLOSE, Connection } from './connection.js'
import type { ConnectionHooks } from './connection.js'
import type { HandshakeIdentity } from './handshake.js'
import type { WsTransportComponents, WsTransportInit } from './options.js'
import { Pool } from './pool.js'
import { closeServer, listen, refuseUpgrade, wsAddress } from './server.js'

interface WsMetrics {
  framesSent: Counter
  framesReceived: Counter
  bytesSent: Counter
  bytesReceived: Counter
  rejected: Counter
  dials: Counter
  dialFailures: Counter
  evictions: Counter
  duplicates: Counter
  refused: Counter
  connections: Gauge
  blockedSends: Gauge
}

/**
 * The WebSocket transport: one listening socket, a pool of mutually authenticated connections
 * (one per peer), binary frames with back-pressure. See docs/transport.md.
 */
export class WsTransport implements Transport {
  readonly maxFrameBytes: number
  readonly #host: string
  readonly #port: number
  readonly #announce: string | undefined
  readonly #maxPending: number
  readonly #connectTimeoutMs: number
  readonly #handshakeTimeoutMs: number
  readonly #highWaterMarkBytes: number
  readonly #idleTimeoutMs: number
  readonly #closeGraceMs: number
  readonly #maskFrames: boolean
  readonly #credentials: NodeCredentials
  readonly #clock: Clock
  readonly #logger: Logger
  readonly #m: WsMetrics
  readonly #lifecycle: Lifecycle
  readonly #pool: Pool
  readonly #hooks: ConnectionHooks
  readonly #identity: HandshakeIdentity
  readonly #all = new Set<Connection>()
  readonly #dials = new Map<string, Promise<Connection>>()
  readonly #wss: WebSocketServer
  #localHandle: NodeHandle
  #server: Server | undefined
  #idleTimer: Timer | undefined
  #handler: FrameHandler | undefined
  #pendingInbound = 0
  #framesSent = 0
  #framesReceived = 0
  #bytesSent = 0
  #bytesReceived = 0
  #peersRejected = 0

  constructor(init: WsTransportInit, components: WsTransportComponents) {
    this.#host = init.host ?? WS_HOST
    this.#port = init.port ?? WS_PORT
    this.#announce = init.announceAddress
    this.maxFrameBytes = positive(init.maxFrameBytes ?? MAX_FRAME_BYTES, 'maxFrameBytes')
    const maxConns = positive(init.maxConns ?? WS_MAX_CONNS, 'maxConns')
    this.#maxPending = positive(init.maxPendingHandshakes ?? WS_MAX_PENDING_HANDSHAKES, 'maxPendingHandshakes')
    this.#connectTimeoutMs = positive(init.connectTimeoutMs ?? WS_CONNECT_TIMEOUT_MS, 'connectTimeoutMs')
    this.#handshakeTimeoutMs = positive(init.handshakeTimeoutMs ?? WS_HANDSHAKE_TIMEOUT_MS, 'handshakeTimeoutMs')
    this.#highWaterMarkBytes = positive(init.highWaterMarkBytes ?? WS_HIGH_WATER_MARK_BYTES, 'highWaterMarkBytes')
    this.#idleTimeoutMs = nonNegative(init.idleTimeoutMs ?? WS_IDLE_TIMEOUT_MS, 'idleTimeoutMs')
    this.#closeGraceMs = nonNegative(init.closeGraceMs ?? WS_CLOSE_GRACE_MS, 'closeGraceMs')
    this.#maskFrames = init.maskFrames ?? WS_MASK_FRAMES
    this.#credentials = components.credentials
    this.#clock = components.clock ?? new RealClock()
    this.#logger = (components.logger ?? silentLogger).forComponent('epost:transport:ws')
    const m = components.metrics ?? createMetrics()
    this.#m = {
      framesSent: m.counter('epost_transport_frames_sent_total'),
      framesReceived: m.counter('epost_transport_frames_received_total'),
      bytesSent: m.counter('epost_transport_bytes_sent_total'),
      bytesReceived: m.counter('epost_transport_bytes_received_total'),
      rejected: m.counter('epost_transport_rejected_total'),
      dials: m.counter('epost_transport_dials_total'),
      dialFailures: m.counter('epost_transport_dial_failures_total'),
      evictions: m.counter('epost_transport_evictions_total'),
      duplicates: m.counter('epost_transport_duplicate_connections_total'),
      refused: m.counter('epost_transport_refused_upgrades_total'),
      connections: m.gauge('epost_transport_connections'),
      blockedSends: m.gauge('epost_transport_blocked_sends'),
    }
    this.#localHandle = handle(this.#credentials.id, '')
    this.#identity = { credentials: this.#credentials, verifier: components.verifier, address: '', randomBytes }
    this.#wss = new WebSocketServer({ noServer: true, clientTracking: false, perMessageDeflate: false, maxPayload: this.#maxPayload })
    this.#pool = new Pool(maxConns, {
      replaced: (loser) => {
        this.#m.duplicates.inc()
        loser.close(CLOSE.duplicate, 'duplicate connection')
      },
      evicted: (victim) => {
        this.#m.evictions.inc()
        this.#logger.debug('evicted the least recently used idle connection', { peer: victim.peer?.id })
        victim.close(CLOSE.normal, 'evicted: connection limit')
      },
    })
    this.#hooks = {
      admit: (conn) => {
        if (!this.#lifecycle.running) return 'full'
        const verdict = this.#pool.admit(conn)
        if (verdict === 'duplicate') this.#m.duplicates.inc()
        this.#m.connections.set(this.#pool.size)
        return verdict
      },
      frame: (conn, data) => this.#receive(conn, data),
      violation: (conn, reason, err) => this.#countRejected(conn.peer?.id, reason, err),
      closed: (conn) => {
        this.#pool.remove(conn)
        this.#m.connections.set(this.#pool.size)
      },
      blocked: (delta) => this.#m.blockedSends.inc(delta),
    }
    this.#lifecycle = new Lifecycle(
      () => this.#start(),
      () => this.#stop(),
    )
  }

  get localHandle(): NodeHandle {
    return this.#localHandle
  }

  start(): Promise<void> {
    return this.#lifecycle.start()
  }

  stop(): Promise<void> {
    return this.#lifecycle.stop()
  }

  onFrame(handler: FrameHandler): void {
    this.#handler = handler
  }

  stats(): TransportStats {
    return {
      framesSent: this.#framesSent,
      framesReceived: this.#framesReceived,
      bytesSent: this.#bytesSent,
      bytesReceived: this.#bytesReceived,
      peersRejected: this.#peersRejected,
      openConnections: this.#pool.size,
    }
  }

  /** Bytes handed to sockets and not yet written out, over all connections. */
  get pendingBytes(): number {
    let n = 0
    for (const c of this.#all) n += c.pendingBytes
    return n
  }

  reject(peer: Id, reason: string): void {
    this.#countRejected(peer, reason)
    this.#pool.get(peer)?.close(CLOSE.rejected, `rejected: ${reason}`, undefined, true)
  }

  async send(to: NodeHandle, data: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<void> {
    const { signal } = options
    if (!this.#lifecycle.running) throw this.#lifecycle.state === 'new' || this.#lifecycle.state === 'starting' ? notStarted() : stopped()
    throwIfAborted(signal)
    if (data.length > this.maxFrameBytes) throw frameTooLarge(data.length, this.maxFrameBytes)
    if (to.address === this.#localHandle.address) {
      this.#sendToSelf(to, data)
      return
    }
    const conn = this.#route(to) ?? (await this.#connect(to, signal))
    await conn.write(data, signal)
    this.#framesSent++
    this.#bytesSent += data.length
    this.#m.framesSent.inc()
    this.#m.bytesSent.inc(data.length)
  }

  get #maxPayload(): number {
    return Math.max(this.maxFrameBytes, WS_HANDSHAKE_MAX_BYTES)
  }

  async #start(): Promise<void> {
    try {
      const certified = this.#identity.verifier.verifyNodeCertificate(this.#credentials.certificate)
      if (!certified.id.equals(this.#credentials.id)) throw new Error(`the certificate is for ${certified.id.short()}`)
    } catch (err) {
      throw new EpostError('EPOST_TRANSPORT_AUTH_FAILED', `this node's own certificate does not check out with the CA key (${err instanceof Error ? err.message : String(err)}); renew it before starting`, { cause: err })
    }
    const { server, port } = await listen(this.#host, this.#port, (req, socket, head) => this.#onUpgrade(req, socket, head))
    this.#server = server
    const address = this.#announce ?? wsAddress(this.#host, port)
    this.#localHandle = Object.freeze(handle(this.#credentials.id, address))
    this.#identity.address = address
    if (this.#idleTimeoutMs > 0) {
      this.#idleTimer = this.#clock.setInterval(() => this.#closeIdle(), Math.max(10, this.#idleTimeoutMs / 2))
    }
    this.#logger.debug('listening', { address, id: this.#credentials.id })
  }

  async #stop(): Promise<void> {
    this.#idleTimer?.cancel()
    const server = this.#server
    const serverClosed = server === undefined ? Promise.resolve() : closeServer(server)
    const all = [...this.#all]
    for (const c of all) c.close(CLOSE.goingAway, 'node shutting down', stopped())
    await Promise.all(all.map((c) => c.closed))
    await serverClosed
    this.#wss.close()
    this.#logger.debug('stopped', { address: this.#localHandle.address })
  }

  /** An open connection for `to`, if one exists; throws PEER_MISMATCH if we know better. */
  #route(to: NodeHandle): Connection | undefined {
    const there = this.#pool.atAddress(to.address)
    if (there?.peer !== undefined && there.isOpen && !there.peer.id.equals(to.id)) {
      // A dialed address is verified: the node there is someone else. An inbound peer's claimed
      // address is only its word: dial to find out.
      if (there.outbound) throw peerMismatch(to.address, to.id, there.peer.id)
      return undefined
    }
    const conn = this.#pool.get(to.id)
    return conn?.isOpen === true ? conn : undefined
  }

  /** Joins an in-flight dial to the same node and address, or starts one. */
  #connect(to: NodeHandle, signal: AbortSignal | undefined): Promise<Connection> {
    const key = `${to.id.hex} ${to.address}`
    let p = this.#dials.get(key)
    if (p === undefined) {
      const dial = this.#dial(to)
      p = dial
      this.#dials.set(key, dial)
      dial
        .finally(() => {
          if (this.#dials.get(key) === dial) this.#dials.delete(key)
        })
        .catch(() => {})
    }
    return signal === undefined ? p : abortable(p, signal)
  }

  async #dial(to: NodeHandle): Promise<Connection> {
    if (!/^wss?:\/\//.test(to.address)) throw unreachable(to.address, 'not a ws:// or wss:// address')
    if (!this.#pool.hasRoom()) {
      throw new EpostError('EPOST_TRANSPORT_CONN_LIMIT', `all ${this.#pool.size} connections are busy, so none can be evicted for ${to.address}; raise maxConns or retry when sends drain`)
    }
    this.#m.dials.inc()
    let ws: WebSocket
    try {
      ws = new WebSocket(to.address, { maxPayload: this.#maxPayload, perMessageDeflate: false, handshakeTimeout: this.#connectTimeoutMs, ...(this.#maskFrames ? {} : { generateMask: zeroMask }) })
    } catch (err) {
      this.#m.dialFailures.inc()
      throw unreachable(to.address, 'not a valid WebSocket address', err)
    }
    const conn = this.#track(new Connection({ ...this.#connectionOptions(ws), dial: { expected: to.id, address: to.address } }))
    try {
      await conn.opened
    } catch (err) {
      if (isEpostError(err, 'EPOST_TRANSPORT_CLOSED') && err.details?.['duplicate'] === true) {
        const kept = this.#pool.get(to.id)
        if (kept?.isOpen === true) return kept
      }
      this.#m.dialFailures.inc()
      throw err
    }
    const kept = this.#pool.get(to.id)
    if (kept?.isOpen === true) return kept
    throw unreachable(to.address, 'the connection closed right after the handshake')
  }

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {})
    if (!this.#lifecycle.running || this.#pendingInbound >= this.#maxPending) {
      this.#m.refused.inc()
      refuseUpgrade(socket, 503, 'Service Unavailable')
      return
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      this.#pendingInbound++
      const conn = this.#track(new Connection(this.#connectionOptions(ws)))
      const done = (): void => {
        this.#pendingInbound--
      }
      conn.opened.then(done, done)
    })
  }

  #connectionOptions(ws: WebSocket) {
    return {
      ws,
      identity: this.#identity,
      clock: this.#clock,
      logger: this.#logger,
      hooks: this.#hooks,
      handshakeTimeoutMs: this.#handshakeTimeoutMs,
      highWaterMarkBytes: this.#highWaterMarkBytes,
      closeGraceMs: this.#closeGraceMs,
    }
  }

  #track(conn: Connection): Connection {
    this.#all.add(conn)
    void conn.closed.then(() => this.#all.delete(conn))
    return conn
  }

  #receive(conn: Connection, data: Uint8Array): void {
    if (!this.#lifecycle.running) return
    this.#framesReceived++
    this.#bytesReceived += data.length
    this.#m.framesReceived.inc()
    this.#m.bytesReceived.inc(data.length)
    this.#deliver(conn.peer as NodeHandle, data)
  }

  #deliver(from: NodeHandle, data: Uint8Array): void {
    const h = this.#handler
    if (h === undefined) return
    try {
      h(from, data)
    } catch (err) {
      this.#logger.warn('frame handler threw; the frame is dropped', { from: from.id, err })
    }
  }

  #sendToSelf(to: NodeHandle, data: Uint8Array): void {
    if (!to.id.equals(this.#credentials.id)) throw peerMismatch(to.address, to.id, this.#credentials.id)
    const copy = data.slice()
    this.#framesSent++
    this.#bytesSent += data.length
    queueMicrotask(() => {
      if (!this.#lifecycle.running) return
      this.#framesReceived++
      this.#bytesReceived += copy.length
      this.#deliver(this.#localHandle, copy)
    })
  }

  #countRejected(peer: Id | undefined, reason: string, err?: unknown): void {
    this.#peersRejected++
    this.#m.rejected.inc()
    this.#logger.info('peer rejected', { peer, reason, err })
  }

  #closeIdle(): void {
    const now = this.#clock.now()
    const stale = [...this.#pool.connections()].filter((c) => c.idle && now - c.lastActivityMs >= this.#idleTimeoutMs)
    for (const c of stale) c.close(CLOSE.idle, 'idle')
  }
}

/** An all-zero masking key: ws then skips the XOR pass on both ends (see WsTransportInit.maskFrames). */
function zeroMask(mask: Buffer): void {
  mask.fill(0)
}

function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError(signal))
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal))
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort)
        resolve(v)
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(err)
      },
    )
  })
}

function positive(v: number, name: string): number {
  if (!(Number.isFinite(v) && v > 0)) throw new EpostError('EPOST_INVALID_ARGUMENT', `${name} must be a positive number, got ${v}`)
  return v
}

function nonNegative(v: number, name: string): number {
  if (!(Number.isFinite(v) && v >= 0)) throw new EpostError('EPOST_INVALID_ARGUMENT', `${name} must be >= 0, got ${v}`)
  return v
}
