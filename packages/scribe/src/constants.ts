/** A parent tells its children it is alive this often (per topic, one message per child). */
export const HEARTBEAT_MS = 30_000
/** A child that has not heard its parent for this many heartbeats re-subscribes. */
export const MISSED_HEARTBEATS = 2
/** Children a node takes per topic before it passes subscribers on toward the root. */
export const MAX_CHILDREN = 16
/** Largest published payload. */
export const MAX_PAYLOAD_BYTES = 65_536
