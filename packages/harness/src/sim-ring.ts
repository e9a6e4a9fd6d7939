import { schema } from '@epost/codec'
import { Id, Rng, VirtualClock, createMetrics, isEpostError, silentLogger } from '@epost/core'
import type { Logger, Metrics, NodeHandle } from '@epost/core'
import { PastryNode, pastry } from '@epost/pastry'
import type { PastryInit } from '@epost/pastry'
import { SIM_LATENCY_RESOLUTION_MS, SimNetwork } from '@epost/transport/sim'
import { createTestCa } from './identities.js'
import { NearestIndex } from './nearest.js'
import { closestOnRing } from './ring-order.js'
import type { TestCa } from './identities.js'

export interface SimRingOptions {
  seed: number
  pastry?: PastryInit
  /** Verify every node certificate when it attaches (costs one Ed25519 verify per node). @default true */
  verifyCertificates?: boolean
  logger?: Logger
}

export interface SimMember {
  node: PastryNode
  alive: boolean
  ready: boolean
  joinedAt: number
}

/**
 * A Pastry ring in the simulator: one VirtualClock, one SimNetwork, a CA, and the production
 * PastryNode on every member. It also keeps the oracle the experiments compare against: the set
 * of live, ready nodes in ring order.
 */
export class SimRing {
  /** Timers on the network's 1 ms grid: an instant per millisecond at most, as frames arrive. */
  readonly clock = new VirtualClock(0, { resolutionMs: SIM_LATENCY_RESOLUTION_MS })
  readonly rng: Rng
  readonly network: SimNetwork
  readonly metrics: Metrics = createMetrics()
  readonly ca: TestCa
  readonly members = new Map<string, SimMember>()
  readonly #init: PastryInit
  readonly #logger: Logger
  #sorted: Array<{ id: Id; member: SimMember }> | undefined
  /** Ready members by their places in the latency model, for nearestReady (dead ones pruned lazily). */
  readonly #places: NearestIndex<SimMember>
  #count = 0
  /** Joins that failed because their bootstrap crashed meanwhile, and were tried again through another. */
  joinRetries = 0

  constructor(opts: SimRingOptions) {
    this.rng = new Rng(opts.seed)
    this.ca = createTestCa(this.rng.fork('ca'), () => this.clock.now())
    this.network = new SimNetwork({
      clock: this.clock,
      rng: this.rng.fork('network'),
      // Pastry never reuses a buffer it sent, so frames need not be copied.
      copyFrames: false,
      ...(opts.verifyCertificates === false ? {} : { verifier: this.ca.verifier }),
    })
    this.#places = new NearestIndex(this.network.model, (m) => m.alive && m.ready)
    this.#init = opts.pastry ?? {}
    this.#logger = opts.logger ?? silentLogger
  }

  /** Creates a node and starts its join through the nearest ready node (or a new ring). */
  add(): { member: SimMember; joined: Promise<void> } {
    const i = this.#count++
    const nodeRng = this.rng.fork(`node-${i}`)
    const credentials = this.ca.issue(nodeRng)
    const transport = this.network.createTransport({ credentials })
    const node = pastry(this.#init)({ transport, clock: this.clock, rng: nodeRng, logger: this.#logger, metrics: this.metrics })
    const member: SimMember = { node, alive: true, ready: false, joinedAt: this.clock.now() }
    this.members.set(node.localHandle.id.hex, member)
    // Through the nearest ready node; if that one crashes before the join completes (churn),
    // through the next nearest, as a daemon would try its next bootstrap.
    const joinVia = (attempt: number): Promise<void> => {
      const boot = this.nearestReady(node.localHandle)
      return node.join(boot === undefined ? [] : [boot]).then(
        () => this.#noteReady(member),
        (err: unknown) => {
          if (!member.alive || boot === undefined || this.network.isAlive(boot.address) || attempt >= 3 || !isEpostError(err, 'EPOST_OVERLAY_JOIN_FAILED')) throw err
          this.joinRetries++
          return joinVia(attempt + 1)
        },
      )
    }
    return { member, joined: joinVia(1) }
  }

  /** Counts `member` as ready in the oracle (before it delivers what it held: Pastry waits a turn). */
  #noteReady(member: SimMember): void {
    if (member.ready || !member.alive || !member.node.ready) return
    member.ready = true
    this.#sorted = undefined
    const position = this.network.get(member.node.localHandle.address)?.position
    if (position !== undefined) this.#places.add(member, position)
  }

  /**
   * The closest ready node in the network's latency model: how a joiner finds a nearby
   * bootstrap (Pastry assumes one is known, e.g. by expanding-ring search).
   */
  nearestReady(h: NodeHandle): NodeHandle | undefined {
    const here = this.network.get(h.address)?.position
    return here === undefined ? undefined : this.#places.nearest(here)?.node.localHandle
  }

  /** Crashes a node: it vanishes from the network without notice. */
  async crash(member: SimMember): Promise<void> {
    member.alive = false
    member.ready = false
    this.#sorted = undefined
    this.network.kill(member.node.localHandle.address)
    await member.node.stop()
  }

  /**
   * Churn: every live, ready node crashes after an exponentially distributed session (mean
   * `meanSessionMs`) and a new node joins in its place; a newcomer gets its own session once it
   * is ready. Hooks let a scenario tear down and set up what it runs on each node (an application
   * registered in `onReady` still gets what the newcomer held while joining).
   */
  churn(
    meanSessionMs: number,
    hooks: { beforeCrash?: (m: SimMember) => void; onReady?: (m: SimMember) => void | Promise<void> } = {},
    label = 'churn',
  ): { stop(): void; readonly crashes: number; readonly joins: number } {
    const rng = this.rng.fork(label)
    let stopped = false
    const state = { crashes: 0, joins: 0 }
    const schedule = (m: SimMember): void => {
      this.clock.setTimeout(() => {
        if (stopped || !m.alive) return
        state.crashes++
        hooks.beforeCrash?.(m)
        void this.crash(m)
        state.joins++
        const { member, joined } = this.add()
        void joined.then(async () => {
          if (!member.alive) return
          await hooks.onReady?.(member)
          schedule(member)
        })
      }, rng.exponential(meanSessionMs))
    }
    for (const m of this.liveReady()) schedule(m)
    return {
      stop: () => {
        stopped = true
      },
      get crashes() {
        return state.crashes
      },
      get joins() {
        return state.joins
      },
    }
  }

  /** Frames every Pastry node sent so far, of every type (the nodes count each type they send). */
  messagesSent(): number {
    return pastryFramesSent(this.metrics.snapshot())
  }

  live(): SimMember[] {
    return [...this.members.values()].filter((m) => m.alive)
  }

  liveReady(): SimMember[] {
    return [...this.members.values()].filter((m) => m.alive && m.ready)
  }

  /** The live, ready node numerically closest to `key` (the correct root). */
  rootOf(key: Id): SimMember | undefined {
    return this.closest(key, 1)[0]
  }

  /** The `k` live, ready nodes numerically closest to `key`, closest first (a replica set). */
  closest(key: Id, k: number): SimMember[] {
    if (this.#sorted === undefined) {
      this.#sorted = this.liveReady()
        .map((member) => ({ id: member.node.localHandle.id, member }))
        .sort((a, b) => a.id.compare(b.id))
    }
    return closestOnRing(this.#sorted, key, k).map((x) => x.member)
  }

  /** Builds a ring of `n` nodes, one join every `intervalMs`, and waits until all are ready. */
  async build(n: number, intervalMs: number, onProgress?: (ready: number) => void): Promise<void> {
    // The handle cache is sized for the process, and this process hosts n nodes: every node's
    // handle stays shared across all the nodes that decode it (see HandleCache). A cache that
    // sized itself would not see it: lookups cycling over more handles than it holds never hit.
    schema.setHandleCacheLimit(Math.max(1 << 16, 2 * n))
    const joins: Array<Promise<void>> = []
    let ready = 0
    for (let i = 0; i < n; i++) {
      const { joined } = this.add()
      joins.push(joined.then(() => void ready++))
      // The first node must be ready before anyone can join through it.
      if (i === 0) await this.clock.runUntilTrue(() => ready === 1, 60_000)
      else await this.clock.advance(intervalMs)
      if (onProgress !== undefined && i % 1000 === 999) onProgress(ready)
    }
    const ok = await this.clock.runUntilTrue(() => ready === n, 600_000)
    if (!ok) throw new Error(`only ${ready} of ${n} nodes became ready`)
    await Promise.all(joins)
  }

  async stop(): Promise<void> {
    for (const m of this.members.values()) if (m.alive) await m.node.stop()
  }
}

/** Frames Pastry nodes sent, of every type, in a metrics snapshot (each node counts each type it sends). */
export function pastryFramesSent(snapshot: Readonly<Record<string, number>>): number {
  let n = 0
  for (const [name, v] of Object.entries(snapshot)) if (name.startsWith('epost_pastry_sent_')) n += v
  return n
}
