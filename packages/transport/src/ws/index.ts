import type { WsTransportComponents, WsTransportInit } from './options.js'
import { WsTransport } from './ws-transport.js'

export type { WsTransportComponents, WsTransportInit } from './options.js'
export { WsTransport } from './ws-transport.js'
export { handshakeProtocol } from './handshake.js'

/**
 * The WebSocket transport (STYLE.md item 1): `wsTransport(init)(components)`.
 *
 * ```ts
 * const transport = wsTransport({ port: 4000 })({ credentials, verifier, logger, metrics })
 * await transport.start() // transport.localHandle.address === 'ws://127.0.0.1:4000'
 * ```
 */
export function wsTransport(init: WsTransportInit = {}): (components: WsTransportComponents) => WsTransport {
  return (components) => new WsTransport(init, components)
}
