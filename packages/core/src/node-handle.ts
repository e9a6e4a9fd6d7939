import { Id } from './id.js'

/**
 * How to reach a node: its certified id and a transport address (a `ws://` URL, or a simulator
 * address). An id in a handle is only trusted once a transport has authenticated the peer
 * behind the address (see Transport).
 */
export interface NodeHandle {
  readonly id: Id
  readonly address: string
}

export function handle(id: Id, address: string): NodeHandle {
  return { id, address }
}

export function sameNode(a: NodeHandle | undefined, b: NodeHandle | undefined): boolean {
  return a !== undefined && b !== undefined && a.id.equals(b.id)
}

/** The wire form of a handle: [16 id bytes, address]. */
export type WireHandle = [Uint8Array, string]

export function handleToWire(h: NodeHandle): WireHandle {
  return [h.id.bytes, h.address]
}

export function handleFromWire(w: WireHandle): NodeHandle {
  return { id: Id.fromBytes(w[0]), address: w[1] }
}
