import type { CertificateVerifier, Id, NodeCredentials, NodeHandle } from '@epost/core'
import { randomBytes } from '@epost/crypto'
import { WebSocket, WebSocketServer } from 'ws'
import type { RawData } from 'ws'
import { DialerHandshake, ListenerHandshake } from '../ws/handshake.js'

/**
 * A hand-driven WebSocket peer for the ws tests: speaks (or forges) the handshake itself and can
 * then send anything, or stop reading.
 */
export interface RawPeer {
  readonly ws: WebSocket
  /** Next binary or text message received. */
  next(): Promise<Uint8Array | string>
  /** Messages received after the handshake. */
  readonly received: Uint8Array[]
  /** Resolves with the close code once the socket closed. */
  readonly closed: Promise<number>
  readonly isClosed: boolean
}

interface RawPeerControl extends RawPeer {
  /** While true, messages go to next(); afterwards to `received`. */
  handshaking: boolean
}

function wrap(ws: WebSocket): RawPeerControl {
  const queue: Array<Uint8Array | string> = []
  const waiters: Array<(m: Uint8Array | string) => void> = []
  const received: Uint8Array[] = []
  let isClosed = false
  const closed = new Promise<number>((resolve) =>
    ws.on('close', (code) => {
      isClosed = true
      resolve(code)
    }),
  )
  const peer: RawPeerControl = {
    ws,
    received,
    closed,
    handshaking: true,
    get isClosed() {
      return isClosed
    },
    next() {
      const m = queue.shift()
      if (m !== undefined) return Promise.resolve(m)
      return new Promise((resolve) => waiters.push(resolve))
    },
  }
  ws.on('message', (data: RawData, isBinary: boolean) => {
    const m = isBinary ? new Uint8Array(data as Buffer) : (data as Buffer).toString()
    if (!peer.handshaking && m instanceof Uint8Array) {
      received.push(m)
      return
    }
    const w = waiters.shift()
    if (w !== undefined) w(m)
    else queue.push(m)
  })
  ws.on('error', () => {})
  return peer
}

async function openSocket(address: string): Promise<WebSocket> {
  const ws = new WebSocket(address, { perMessageDeflate: false })
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  return ws
}

/** Opens a raw WebSocket to `address` without any handshake. */
export async function rawConnect(address: string): Promise<RawPeer> {
  return wrap(await openSocket(address))
}

export interface RawIdentity {
  credentials: NodeCredentials
  verifier: CertificateVerifier
  /** The listen address we claim. */
  address?: string
}

/**
 * Dials and runs the dialer side of the handshake with `me` (possibly forged). Resolves once the
 * listener said 'ready', or with the peer closed if it refused us.
 */
export async function rawDial(address: string, me: RawIdentity, expected: Id): Promise<RawPeer> {
  const peer = wrap(await openSocket(address))
  const hs = new DialerHandshake({ ...me, address: me.address ?? 'ws://127.0.0.1:9', randomBytes }, expected)
  peer.ws.send(hs.hello())
  const challenge = await Promise.race([peer.next(), peer.closed])
  if (typeof challenge !== 'object') return peer
  peer.ws.send(hs.challenge(challenge, address).reply)
  const ready = await Promise.race([peer.next(), peer.closed])
  if (typeof ready !== 'object') return peer
  hs.ready(ready)
  peer.handshaking = false
  return peer
}

export interface RawListener {
  readonly address: string
  /** The handle peers should dial: the id of the credentials it presents. */
  readonly handle: NodeHandle
  /** Peers that completed the handshake with us. */
  readonly peers: RawPeer[]
  close(): Promise<void>
}

/**
 * A WebSocket server that runs the listener side of the handshake with `me` (possibly forged),
 * then records what it receives. `pauseAfterHandshake` stops reading (a slow reader).
 */
export async function rawListen(me: RawIdentity, options: { pauseAfterHandshake?: boolean } = {}): Promise<RawListener> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false })
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()))
  const port = (wss.address() as { port: number }).port
  const address = `ws://127.0.0.1:${port}`
  const peers: RawPeer[] = []
  wss.on('connection', (ws) => {
    const peer = wrap(ws)
    const hs = new ListenerHandshake({ ...me, address, randomBytes })
    void (async () => {
      try {
        const hello = await peer.next()
        if (typeof hello === 'string') return
        ws.send(hs.hello(hello))
        const auth = await peer.next()
        if (typeof auth === 'string') return
        hs.auth(auth)
        peer.handshaking = false
        peers.push(peer)
        ws.send(hs.ready())
        if (options.pauseAfterHandshake === true) ws.pause()
      } catch {
        ws.close(4002, 'raw listener refused the handshake')
      }
    })()
  })
  return {
    address,
    handle: { id: me.credentials.id, address },
    peers,
    async close() {
      for (const c of wss.clients) c.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    },
  }
}
