/** Version of the frame envelope. A peer that sends another version is refused, not guessed at. */
export const PROTOCOL_VERSION = 1

/**
 * Largest frame a node accepts by default: a 1 MiB block (bodies are chunked above that) plus
 * headroom for the envelope and routing fields.
 */
export const MAX_FRAME_BYTES = 1_100_000

/** Longest application id, e.g. 'epost/pastry/1'. */
export const MAX_APP_ID_LENGTH = 64

/** Message types are small non-negative integers, one table per application. */
export const MAX_MESSAGE_TYPE = 0xffff
