/** Bits per routing digit (Pastry's b). 128 / b rows of 2^b columns. */
export const DIGIT_BITS = 4
/** Leaf set size L: L / 2 on each side. */
export const LEAF_SET_SIZE = 16

/**
 * How often the immediate neighbours are probed (their replies carry their leaf sets, and the
 * members of ours that those lack are checked: maintenance.ts).
 */
export const LEAF_PROBE_INTERVAL_MS = 10_000
/** Probes that may go unanswered before a node is declared dead (the first marks it suspected). */
export const PROBE_RETRIES = 2
/** Retransmission timeout bounds and start value, TCP style (srtt + 4 rttvar). */
export const RTO_INITIAL_MS = 1_000
export const RTO_MIN_MS = 200
export const RTO_MAX_MS = 5_000

/** Hops a routed message may be re-sent to before it is dropped. */
export const MAX_ROUTE_ATTEMPTS = 6
/**
 * Hops a routed message may take in all (routes take log16 N, about 5 at 100,000 nodes, plus
 * reroutes): one arriving with more is dropped and counted, so no message can circle for ever.
 */
export const MAX_ROUTE_HOPS = 64
/** Messages a not-yet-ready root holds back until it becomes ready. */
export const MAX_HELD_MESSAGES = 1_000
/** A not-ready node that holds a message longer than this hands it to its closest ready neighbour. */
export const HOLD_TIMEOUT_MS = 15_000

/** Give up on one join attempt after this long, and try again (doubling, capped). */
export const JOIN_TIMEOUT_MS = 20_000
export const JOIN_MAX_BACKOFF_MS = 60_000
/** Rounds of leaf-set convergence during join before the joiner announces itself anyway. */
export const JOIN_MAX_ROUNDS = 8

/**
 * Routing-table entries not heard from for this long are probed (dead entries cost reroutes),
 * this often while peers are being declared dead; after each period in which none was, the
 * period doubles, up to TABLE_PROBE_BACKOFF times this (a quiet ring probes its tables rarely).
 */
export const TABLE_PROBE_INTERVAL_MS = 60_000
export const TABLE_PROBE_BACKOFF = 8
/**
 * Periodic routing-table maintenance: one row (round robin) from the nearest entry of it, this
 * often while the table keeps improving; after each exchange period in which no candidate took a
 * cell the period doubles, up to ROW_EXCHANGE_BACKOFF times this (Trickle-style).
 */
export const ROW_EXCHANGE_INTERVAL_MS = 10_000
export const ROW_EXCHANGE_BACKOFF = 8
/**
 * Periodic partition check: probe a remembered dead node or a bootstrap. The period doubles after
 * each check while no node is declared dead, up to PARTITION_CHECK_BACKOFF times this.
 */
export const PARTITION_CHECK_INTERVAL_MS = 60_000
export const PARTITION_CHECK_BACKOFF = 8
/** Dead nodes remembered for partition healing. */
export const MAX_REMEMBERED_DEAD = 32
/** How long a node declared dead stays refused as a candidate (unless it talks to us directly). */
export const DEAD_QUARANTINE_MS = 60_000

/**
 * PNS candidate pruning: a candidate C offered by node A (with A's RTT to C) is not probed when
 * |RTT(us, A) - RTT(A, C)|, the least RTT the triangle inequality allows, exceeds the RTT of the
 * cell's current entry by more than this many ms (RTTs are rounded and real networks bend the
 * triangle inequality a little).
 */
export const PNS_PRUNE_SLACK_MS = 2
/**
 * Nor is it probed when the RTT the triangle's sides suggest, sqrt(RTT(us, A)^2 + RTT(A, C)^2)
 * (pns.ts, worthProbing), is this many times the entry's RTT or more. 10,000 nodes: 5.4 % fewer
 * messages than a rule on the upper bound RTT(us, A) + RTT(A, C) at twice the entry's, for rdp
 * 1.472 -> 1.476 (docs/architecture.md, "PNS: probe by the estimate").
 */
export const PNS_PROBE_FACTOR = 1.2
/** Candidates for one routing-table cell waiting while another is probed (more are dropped). */
export const MAX_QUEUED_PER_CELL = 16
/** Largest RTT a row reply can carry, in ms; the wire value above it means "not measured". */
export const MAX_WIRE_RTT_MS = 0xfffe

/** Cap on peers tracked by the liveness layer (older, unused ones are forgotten). */
export const MAX_TRACKED_PEERS = 4_096
/** Routed payloads above this are refused (the layer above chunks). */
export const MAX_PAYLOAD_BYTES = 1_048_576
/** Longest application (protocol) id. */
export const MAX_APP_ID_LENGTH = 64

/**
 * Spares (spares.ts): each routing-table cell keeps up to CELL_SPARES other nodes heard of beside
 * its entry, each usable for at most SPARE_MAX_AGE_MS after we last heard of it...
 */
export const CELL_SPARES = 16
export const SPARE_MAX_AGE_MS = 600_000
/**
 * ...and only while the chance that one has died since is below this, by the death rate seen in
 * the leaf set (spares.ts, SpareAge): under 30-minute sessions that is about 36 s.
 */
export const SPARE_DEATH_RISK = 0.02
