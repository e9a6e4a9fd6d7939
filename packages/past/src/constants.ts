/** Replicas kept of every block (k). The Kangasharju analysis in docs/past.md explains the choice. */
export const REPLICAS = 5
/** Largest block; bodies above it are chunked by the layer above. */
export const MAX_BLOCK_BYTES = 1_048_576
/** An encoded block: the body plus its envelope (kind, owner, signatures). */
export const MAX_ENCODED_BLOCK_BYTES = MAX_BLOCK_BYTES + 1024
/** How long an insert waits for k replicas to acknowledge. */
export const INSERT_TIMEOUT_MS = 30_000
/** How long a lookup waits for one answer before falling back to the other replicas. */
export const LOOKUP_TIMEOUT_MS = 5_000
/** How long a root waits for its replicas' acknowledgements. */
export const REPLICATE_TIMEOUT_MS = 10_000
/** Longest name of a public-key block (log heads, identity, inbox ...). */
export const MAX_NAME_LENGTH = 256
/** Period of replica upkeep (range digests exchanged with leaf-set neighbours). */
export const UPKEEP_INTERVAL_MS = 60_000
/** A leaf-set change brings the next upkeep round this close. */
export const UPKEEP_DEBOUNCE_MS = 2_000
/** A block outside this node's range is kept this long (the new replicas pull it meanwhile), then dropped. */
export const DROP_GRACE_MS = 180_000
/** Keys one sync reply may name. */
export const MAX_SYNC_KEYS = 1_000
/** A quiet round (no change in our keys or our neighbours) is skipped, but never more than this many in a row. */
export const MAX_QUIET_ROUNDS = 10
/** Client operations (insert, lookup) a node runs at once (the Kangasharju prototype's maxOps). */
export const MAX_OPS = 64
/** Operations that may wait for a slot; beyond this, callers get EPOST_PAST_BUSY at once. */
export const MAX_WAITING_OPS = 1024
/** How long a replica keeps an owner's tombstone before garbage collection removes it. */
export const TOMBSTONE_TTL_MS = 7 * 24 * 3600 * 1000
/** Bytes of content-hash blocks a node caches from lookups passing through it. */
export const CACHE_BYTES = 16 * 1024 * 1024
/** Nodes beyond the k closest that may take a diverted replica when a replica's store is full (PAST's diversion). */
export const DIVERT_EXTRA = 4
