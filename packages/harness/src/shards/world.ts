import { schema } from '@epost/codec'
import { Id, Rng, VirtualClock, handle } from '@epost/core'
import type { NodeCredentials, NodeHandle } from '@epost/core'
import { SIM_LATENCY_RESOLUTION_MS, SimNetwork } from '@epost/transport/sim'
import type { Point, SimTransport } from '@epost/transport/sim'
import { createTestCa } from '../identities.js'
import type { ShardExchange } from './exchange.js'
import { planShards } from './placement.js'
import type { ShardPlan } from './placement.js'

/** A node as every shard knows it. */
export interface Known {
  id: Id
  address: string
  position: Point
}

const SIM_ADDRESS = 'sim:'

/**
 * What one shard of the parallel routing experiment simulates before any node runs: every node's
 * id and place (drawn by every shard in the same order, so all agree on them and on which shard
 * runs each node), the plan, a SimNetwork on the shard's own VirtualClock with every other
 * shard's node attached as remote (frames to them cross through the ShardExchange), and a
 * certificate for each node of its own.
 */
export class ShardWorld {
  readonly clock: VirtualClock
  readonly rng: Rng
  readonly network: SimNetwork
  readonly known: readonly Known[]
  /** Each node's own random stream (every shard forks them all, in order). */
  readonly nodeRngs: readonly Rng[]
  readonly plan: ShardPlan
  /** Virtual time per window: the lookahead over the exchange's lag. */
  readonly windowMs: number
  /** Each node's transport: remote ones from the start, this shard's own once they start (attach). */
  readonly #transports: Array<SimTransport | undefined>
  readonly #credentials: Array<NodeCredentials | undefined>
  readonly #shard: number

  /** `fail` hears of a frame the plan did not allow for (one that would arrive too early for its shard). */
  constructor(nodes: number, seed: number, exchange: ShardExchange, fail: (err: Error) => void) {
    this.#shard = exchange.shard
    this.clock = new VirtualClock(0, { resolutionMs: SIM_LATENCY_RESOLUTION_MS })
    this.rng = new Rng(seed)
    const clock = this.clock
    const ca = createTestCa(this.rng.fork('ca'), () => clock.now())
    let windowMs = 1
    this.network = new SimNetwork({
      clock,
      rng: this.rng.fork('network'),
      copyFrames: false,
      verifier: ca.verifier,
      remote: {
        transmit: (from, to, data, at) => {
          // The plan promises no frame between shards arrives before the window lag windows on.
          const due = (exchange.window + exchange.lag) * windowMs
          if (at < due) fail(new Error(`a frame from node ${indexOf(from)} to node ${indexOf(to)} would arrive at ${at} ms, before the shard it goes to reads it (${due} ms)`))
          exchange.send(at, indexOf(from), indexOf(to), data)
        },
      },
    })
    schema.setHandleCacheLimit(Math.max(1 << 16, 2 * nodes))

    const placeRng = this.rng.fork('placement')
    const known = new Array<Known>(nodes)
    const nodeRngs = new Array<Rng>(nodes)
    for (let i = 0; i < nodes; i++) {
      const nodeRng = this.rng.fork(`node-${i}`)
      known[i] = { id: Id.random((k) => nodeRng.bytes(k)), address: SIM_ADDRESS + String(i), position: this.network.model.place(placeRng) }
      nodeRngs[i] = nodeRng
    }
    this.known = known
    this.nodeRngs = nodeRngs
    this.plan = planShards(
      known.map((k) => k.position),
      exchange.shards,
      this.network.model,
    )
    // lag windows make a lookahead: a frame between shards arrives lag windows after it was sent.
    windowMs = this.plan.lookaheadMs / exchange.lag
    this.windowMs = windowMs

    this.#credentials = new Array<NodeCredentials | undefined>(nodes)
    this.#transports = new Array<SimTransport | undefined>(nodes)
    for (let i = 0; i < nodes; i++) {
      const k = known[i] as Known
      // Issued now, before the shards run in step: a window that issues one keeps the others waiting.
      if (this.mine(i)) this.#credentials[i] = ca.issue(nodeRngs[i] as Rng, k.id)
      else this.#transports[i] = this.network.attachRemote(handle(k.id, k.address), k.position)
    }
  }

  /** Does this shard run node i? */
  mine(i: number): boolean {
    return this.plan.shardOf[i] === this.#shard
  }

  /** A transport for node i, one of this shard's, as it starts. */
  attach(i: number): SimTransport {
    const k = this.known[i] as Known
    const transport = this.network.createTransport({ credentials: this.#credentials[i] as NodeCredentials, position: k.position, address: k.address })
    this.#transports[i] = transport
    return transport
  }

  /** Node i's handle; it must have a transport (transport). */
  handleOf(i: number): NodeHandle {
    return (this.#transports[i] as SimTransport).localHandle
  }

  /** Node i's transport: remote, or one of this shard's that has started; undefined before it starts. */
  transport(i: number): SimTransport | undefined {
    return this.#transports[i]
  }
}

/** A node's number, from its simulated address. */
function indexOf(t: SimTransport): number {
  return Number(t.localHandle.address.slice(SIM_ADDRESS.length))
}
