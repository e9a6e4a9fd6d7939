import type { Endpoint, Id, KeyRange, NodeHandle, RouteOptions } from '@epost/core'
import type { PastryNode } from './node.js'

/** The common API for one application on one node. */
export function createEndpoint(node: PastryNode, protocol: string): Endpoint {
  const usable = (h: NodeHandle): boolean => node.liveness.usable(h.id)
  return {
    protocol,
    localHandle: node.localHandle,
    get ready() {
      return node.ready
    },
    route(key: Id, payload: Uint8Array, options?: RouteOptions): void {
      node.route(key, protocol, payload, options?.hint)
    },
    send(to: NodeHandle, payload: Uint8Array): void {
      node.sendDirect(to, protocol, payload)
    },
    replicaSet(key: Id, k: number): NodeHandle[] {
      if (!node.leafSet.covers(key)) return []
      return node.leafSet.closestTo(key, usable).slice(0, Math.max(0, k))
    },
    range(n: NodeHandle, rank: number): KeyRange | undefined {
      return node.leafSet.range(n, rank)
    },
    neighborSet(n: number): NodeHandle[] {
      return node.leafSet.members().filter(usable).slice(0, Math.max(0, n))
    },
    localLookup(key: Id, n: number): NodeHandle[] {
      const out: NodeHandle[] = []
      const tried = new Set<string>()
      while (out.length < n) {
        const h = node.nextHop(key, tried)
        if (h === undefined) break
        out.push(h)
        tried.add(h.id.hex)
      }
      return out
    },
  }
}
