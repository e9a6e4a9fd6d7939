import type { CertificateVerifier, Clock, Logger, Metrics, NodeCredentials } from '@epost/core'

/** Tunables of the WebSocket transport; every field is optional (defaults in constants.ts). */
export interface WsTransportInit {
  /** Interface to listen on. @default WS_HOST ('127.0.0.1') */
  host?: string
  /** TCP port; 0 picks an ephemeral one. @default WS_PORT (0) */
  port?: number
  /**
   * The address peers should dial, if not `ws://host:port` (behind NAT, or when listening on
   * 0.0.0.0). @default `ws://${host}:${port}`
   */
  announceAddress?: string
  /** Authenticated connections kept at once; see pool.ts for eviction. @default WS_MAX_CONNS (256) */
  maxConns?: number
  /** Inbound sockets still in the handshake at once; more get HTTP 503. @default WS_MAX_PENDING_HANDSHAKES (64) */
  maxPendingHandshakes?: number
  /** Largest frame in either direction, in bytes. @default MAX_FRAME_BYTES (the codec's limit) */
  maxFrameBytes?: number
  /** TCP connect + WebSocket upgrade of a dial, in ms. @default WS_CONNECT_TIMEOUT_MS (5000) */
  connectTimeoutMs?: number
  /** Certificate and signature exchange, in ms. @default WS_HANDSHAKE_TIMEOUT_MS (5000) */
  handshakeTimeoutMs?: number
  /** A send waits while this many bytes are queued on its connection. @default WS_HIGH_WATER_MARK_BYTES (1 MiB) */
  highWaterMarkBytes?: number
  /** Close connections with no frame either way for this long, in ms; 0 never. @default WS_IDLE_TIMEOUT_MS (300000) */
  idleTimeoutMs?: number
  /**
   * Mask the frames this node sends on connections it dialed, as RFC 6455 requires of clients.
   * Masking protects intermediaries (transparent HTTP proxies) from cache poisoning by
   * attacker-chosen bytes; between daemons on a LAN with no such proxy it only costs CPU (an XOR
   * pass on each end: about 3x the throughput for 16 KiB frames without it, see bench). When off,
   * the masking key is all zeros, which is still valid WebSocket. @default WS_MASK_FRAMES (true)
   */
  maskFrames?: boolean
  /** How long stop() waits for peers to acknowledge the close, in ms. @default WS_CLOSE_GRACE_MS (1000) */
  closeGraceMs?: number
}

/** The services the WebSocket transport uses. */
export interface WsTransportComponents {
  credentials: NodeCredentials
  verifier: CertificateVerifier
  /** @default a RealClock */
  clock?: Clock
  /** @default silent */
  logger?: Logger
  /** @default a private in-memory registry */
  metrics?: Metrics
}
