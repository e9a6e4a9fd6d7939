import { Id, RealClock, Rng, createMetrics, silentLogger } from '@epost/core'
import type { DeliveredMessage, Endpoint, Logger, Metrics, NodeCredentials } from '@epost/core'
import { pastry } from '@epost/pastry'
import type { PastryInit, PastryNode } from '@epost/pastry'
import { wsTransport } from '@epost/transport/ws'
import { createTestCa } from './identities.js'
import type { TestCa } from './identities.js'

export interface WsRingOptions {
  seed: number
  pastry?: PastryInit
  logger?: Logger
}

export interface WsMember {
  node: PastryNode
  endpoint: Endpoint
  alive: boolean
  /** What a restart needs to come back as the same node at the same address. */
  credentials: NodeCredentials
  port: number
}

const PROTOCOL = 'epost/test/ws-lookup/1'

/**
 * A Pastry ring of in-process nodes on real WebSockets on 127.0.0.1, with real time and the CA's
 * mutual authentication on every connection.
 */
export class WsRing {
  readonly clock = new RealClock()
  readonly rng: Rng
  readonly ca: TestCa
  readonly metrics: Metrics = createMetrics()
  readonly members: WsMember[] = []
  readonly #init: PastryInit
  readonly #logger: Logger
  readonly #waiting = new Map<number, (m: WsMember, msg: DeliveredMessage) => void>()
  #next = 0

  constructor(opts: WsRingOptions) {
    this.rng = new Rng(opts.seed)
    this.ca = createTestCa(this.rng.fork('ca'))
    this.#init = opts.pastry ?? {}
    this.#logger = opts.logger ?? silentLogger
  }

  /**
   * Starts a node and joins it through a random live member. With `restart`, the node comes back
   * with the credentials and port of a stopped member (a process restart).
   */
  async add(restart?: WsMember): Promise<WsMember> {
    const nodeRng = this.rng.fork(`node-${this.members.length}`)
    const credentials = restart?.credentials ?? this.ca.issue(nodeRng)
    const transport = wsTransport({ port: restart?.port ?? 0 })({ credentials, verifier: this.ca.verifier, clock: this.clock, logger: this.#logger, metrics: this.metrics })
    await transport.start() // the address (ephemeral port) is known once listening
    const node = pastry(this.#init)({ transport, clock: this.clock, rng: nodeRng, logger: this.#logger, metrics: this.metrics })
    const port = Number(new URL(transport.localHandle.address).port)
    const member: WsMember = { node, endpoint: undefined as unknown as Endpoint, alive: true, credentials, port }
    member.endpoint = node.register(PROTOCOL, {
      deliver: (msg) => {
        const n = new DataView(msg.payload.buffer, msg.payload.byteOffset, msg.payload.byteLength).getUint32(0)
        this.#waiting.get(n)?.(member, msg)
      },
    })
    const live = this.live()
    const boots = live.length === 0 ? [] : [this.rng.pick(live).node.localHandle]
    if (restart !== undefined) this.members.splice(this.members.indexOf(restart), 1)
    this.members.push(member)
    await node.join(boots)
    return member
  }

  live(): WsMember[] {
    return this.members.filter((m) => m.alive)
  }

  /** The live node numerically closest to `key`. */
  rootOf(key: Id): WsMember | undefined {
    return key.closest(this.live().map((m) => ({ id: m.node.localHandle.id, m })))?.m
  }

  /** Routes to `key` from `from`; resolves with the node that delivered it, or undefined on timeout. */
  lookup(from: WsMember, key: Id, timeoutMs = 10_000): Promise<WsMember | undefined> {
    const n = this.#next++
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(() => {
        this.#waiting.delete(n)
        resolve(undefined)
      }, timeoutMs)
      this.#waiting.set(n, (m) => {
        this.#waiting.delete(n)
        timer.cancel()
        resolve(m)
      })
      const payload = new Uint8Array(4)
      new DataView(payload.buffer).setUint32(0, n)
      from.endpoint.route(key, payload)
    })
  }

  /** Stops a node abruptly: no goodbye at the Pastry level; its sockets close under everyone. */
  async kill(m: WsMember): Promise<void> {
    m.alive = false
    await m.node.stop()
  }

  async stop(): Promise<void> {
    await Promise.all(this.live().map((m) => m.node.stop()))
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop()
  }
}
