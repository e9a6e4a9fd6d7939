import type { Clock, Logger, Metrics, Rng, Transport } from '@epost/core'

/** A Pastry node's parameters (`pastry(init)`); each defaults to its constant in constants.ts. */
export interface PastryInit {
  /** Bits per digit. @default DIGIT_BITS (4) */
  b?: number
  /** Leaf set size L. @default LEAF_SET_SIZE (16) */
  leafSetSize?: number
  /** @default LEAF_PROBE_INTERVAL_MS */
  leafProbeIntervalMs?: number
  /** @default PROBE_RETRIES */
  probeRetries?: number
  /** @default ROW_EXCHANGE_INTERVAL_MS */
  rowExchangeIntervalMs?: number
  /** @default PARTITION_CHECK_INTERVAL_MS */
  partitionCheckIntervalMs?: number
  /** @default JOIN_TIMEOUT_MS */
  joinTimeoutMs?: number
  /** Other nodes kept per routing-table cell, for shortcuts to the likely root (0: none, Pastry's plain rule). @default CELL_SPARES */
  cellSpares?: number
  rtoInitialMs?: number
  rtoMinMs?: number
  rtoMaxMs?: number
}

/** What a node runs on (`pastry(init)(components)`): all it knows of time, randomness and the network. */
export interface PastryComponents {
  transport: Transport
  clock: Clock
  rng: Rng
  logger?: Logger
  metrics?: Metrics
}
