import { createServer } from 'node:http'
import type { IncomingMessage, Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { EpostError } from '@epost/core'

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void

/**
 * The HTTP server under the WebSocket endpoint. We own it (rather than letting `ws` create one)
 * to refuse upgrades cheaply when busy and to cut idle HTTP sockets on stop.
 */
export async function listen(host: string, port: number, onUpgrade: UpgradeHandler): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain', connection: 'close' })
    res.end('this is an ePOST node: speak WebSocket\n')
  })
  server.on('upgrade', onUpgrade)
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(
        new EpostError('EPOST_INVALID_ARGUMENT', `cannot listen on ${host}:${port} (${err.code ?? err.message}); choose another port (0 picks a free one) or host`, {
          cause: err,
          details: { host, port },
        }),
      )
    }
    server.once('error', onError)
    server.listen(port, host, () => {
      server.off('error', onError)
      resolve()
    })
  })
  return { server, port: (server.address() as AddressInfo).port }
}

/** Stops accepting, cuts sockets that never upgraded, and resolves once the server is closed. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
}

/** Refuses an upgrade before any WebSocket work is done. */
export function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
}

/** `ws://host:port`, with IPv6 hosts in brackets. */
export function wsAddress(host: string, port: number): string {
  return `ws://${host.includes(':') ? `[${host}]` : host}:${port}`
}
