import { MAX_FRAME_BYTES as CODEC_MAX_FRAME_BYTES } from '@epost/codec'

/** Largest frame either transport accepts by default, in bytes: the codec's frame limit. */
export const MAX_FRAME_BYTES = CODEC_MAX_FRAME_BYTES

// ---- simulator ----------------------------------------------------------------------------

/** Addresses the simulator hands out: 'sim:0', 'sim:1', ... */
export const SIM_ADDRESS_PREFIX = 'sim:'
/** One-way latency between the two closest possible points of the default model, in ms. */
export const SIM_MIN_LATENCY_MS = 1
/** One-way latency between the two farthest possible points of the default model, in ms. */
export const SIM_MAX_LATENCY_MS = 200
/**
 * Delivery times are rounded to this many ms (0 = exact). Whole milliseconds keep the number of
 * distinct instants small, so the VirtualClock fires many frames per turn.
 */
export const SIM_LATENCY_RESOLUTION_MS = 1

/** Frame copies up to this size share slabs (see sim/frame-copy.ts); larger ones get their own memory. */
export const SIM_SLAB_MAX_FRAME_BYTES = 1024
/** Size of each slab small frame copies are carved from, in bytes. */
export const SIM_SLAB_BYTES = 16 * 1024

// ---- WebSocket ----------------------------------------------------------------------------

/** Interface the WebSocket transport listens on. */
export const WS_HOST = '127.0.0.1'
/** 0 = an ephemeral port chosen by the OS. */
export const WS_PORT = 0
/** Authenticated connections kept open at once (Kangasharju's maxConns). */
export const WS_MAX_CONNS = 256
/** Inbound sockets still in the handshake at once; more are refused before any work is done. */
export const WS_MAX_PENDING_HANDSHAKES = 64
/** TCP connect + HTTP upgrade of an outbound dial, in ms. */
export const WS_CONNECT_TIMEOUT_MS = 5_000
/** Certificate and signature exchange after the upgrade, in ms. */
export const WS_HANDSHAKE_TIMEOUT_MS = 5_000
/** A send waits while this many bytes are queued on the connection and not yet written out. */
export const WS_HIGH_WATER_MARK_BYTES = 1024 * 1024
/** A connection with no frame in either direction for this long is closed, in ms (0 = never). */
export const WS_IDLE_TIMEOUT_MS = 300_000
/** How long stop() waits for peers to acknowledge the close before cutting sockets, in ms. */
export const WS_CLOSE_GRACE_MS = 1_000
/** Mask outbound client frames as RFC 6455 requires (see WsTransportInit.maskFrames). */
export const WS_MASK_FRAMES = true
/** Size of each side's handshake nonce, in bytes. */
export const WS_NONCE_BYTES = 32
/** Largest handshake message, in bytes (certificates are a few hundred). */
export const WS_HANDSHAKE_MAX_BYTES = 16 * 1024
/** Domain separation for handshake signatures. */
export const WS_AUTH_DOMAIN = 'epost-ws-auth-v1'
/** Application id of the handshake messages (codec frames). */
export const WS_HANDSHAKE_APP = 'epost/transport/ws/1'
