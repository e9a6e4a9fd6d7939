/** A parent tells its children it is alive this often (one message per child, all topics in it). */
export const HEARTBEAT_MS = 30_000
/**
 * A child that has heard nothing from its parent (heartbeat or multicast) for this many heartbeat
 * periods subscribes again. Heartbeats leave on a timer, so 1.2 leaves a fifth of a period for
 * delay and jitter; with the check every CHECKS_PER_HEARTBEAT-th of a period an orphan notices
 * within 1.3 periods of its parent's crash, and is back in the tree well inside two.
 */
export const PARENT_TIMEOUT_HEARTBEATS = 1.2
/** Parent checks, subscribe retries and child expiry run this many times per heartbeat period. */
export const CHECKS_PER_HEARTBEAT = 10
/** A parent drops a child that has not acknowledged its heartbeats for this many periods. */
export const CHILD_TIMEOUT_HEARTBEATS = 3
/** A subscribe not acknowledged within this time (or a third of a heartbeat period, if shorter) is sent again; the wait doubles, capped at a heartbeat period. */
export const SUBSCRIBE_TIMEOUT_MS = 10_000
/** Unacknowledged subscribes before the client's `subscribeFailed` upcall (Scribe keeps trying). */
export const SUBSCRIBE_RETRIES = 3
/** Children a node takes per topic before it passes subscribers on toward the root. */
export const MAX_CHILDREN = 16
/**
 * Every tree node keeps the last messages of each topic for this long (at most REPLAY_MAX of them,
 * REPLAY_MAX_BYTES in all): they suppress duplicates, and a node that (re)subscribes is sent the
 * ones it missed while it was cut off.
 */
export const REPLAY_MS = 300_000
export const REPLAY_MAX = 64
export const REPLAY_MAX_BYTES = 1_048_576
/** Largest published payload. */
export const MAX_PAYLOAD_BYTES = 65_536
/** Nodes an anycast may visit before it fails back to its source. */
export const MAX_ANYCAST_VISITS = 256
/** How long the source of an anycast waits for a failure notice before it forgets the callback. */
export const ANYCAST_FAIL_WAIT_MS = 60_000
/** Message ids remembered per topic (for twice the replay window) to suppress duplicates. */
export const SEEN_MAX = 4_096
