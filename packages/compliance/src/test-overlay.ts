import { rankRange } from '@epost/core'
import type { Application, DeliveredMessage, Endpoint, Id, KeyRange, NodeHandle, Overlay } from '@epost/core'

/**
 * The trivial overlay of the common API, for unit tests of applications (PAST, Scribe): every
 * node knows every other, a routed message goes in one hop to the live node numerically closest
 * to its key, and delivery is asynchronous (a microtask) as on a network. Nodes can be killed:
 * messages to them vanish.
 */
export class TestOverlayNetwork {
  readonly #nodes = new Map<string, TestOverlayNode>()

  add(id: Id): TestOverlayNode {
    const node = new TestOverlayNode(this, { id, address: `test:${id.short()}` })
    this.#nodes.set(id.hex, node)
    return node
  }

  get(id: Id): TestOverlayNode | undefined {
    return this.#nodes.get(id.hex)
  }

  kill(id: Id): void {
    const n = this.#nodes.get(id.hex)
    if (n !== undefined) n.alive = false
  }

  live(): TestOverlayNode[] {
    return [...this.#nodes.values()].filter((n) => n.alive)
  }

  /** The `k` live nodes closest to `key`, closest first. */
  closest(key: Id, k: number): NodeHandle[] {
    return this.live()
      .map((n) => n.localHandle)
      .sort((a, b) => (key.isCloser(a.id, b.id) ? -1 : key.isCloser(b.id, a.id) ? 1 : 0))
      .slice(0, k)
  }

  /** @internal */
  deliver(to: NodeHandle, protocol: string, msg: DeliveredMessage): void {
    queueMicrotask(() => {
      const n = this.#nodes.get(to.id.hex)
      if (n === undefined || !n.alive) return
      n.application(protocol)?.deliver(msg)
    })
  }
}

export class TestOverlayNode implements Overlay {
  readonly localHandle: NodeHandle
  readonly ready = true
  alive = true
  readonly #net: TestOverlayNetwork
  readonly #apps = new Map<string, Application>()

  constructor(net: TestOverlayNetwork, self: NodeHandle) {
    this.#net = net
    this.localHandle = self
  }

  application(protocol: string): Application | undefined {
    return this.#apps.get(protocol)
  }

  register(protocol: string, app: Application): Endpoint {
    this.#apps.set(protocol, app)
    const net = this.#net
    const self = this.localHandle
    return {
      protocol,
      localHandle: self,
      ready: true,
      route(key: Id, payload: Uint8Array): void {
        const root = net.closest(key, 1)[0]
        if (root !== undefined) net.deliver(root, protocol, { key, payload, source: self, from: self, hops: 1 })
      },
      send(to: NodeHandle, payload: Uint8Array): void {
        net.deliver(to, protocol, { key: undefined, payload, source: self, from: self, hops: 1 })
      },
      replicaSet: (key: Id, k: number) => net.closest(key, k),
      range: (node: NodeHandle, rank: number): KeyRange | undefined => {
        const ring = net.live().map((n) => n.localHandle).sort((a, b) => a.id.compare(b.id))
        return rankRange(ring, ring.findIndex((h) => h.id.equals(node.id)), rank, true)
      },
      neighborSet: (n: number) => net.closest(self.id, n + 1).filter((h) => !h.id.equals(self.id)),
      localLookup: (key: Id, n: number) => net.closest(key, n),
    }
  }
}
