import { describe, expect, it } from 'vitest'
import { isEpostError } from '@epost/core'
import type { NodeCredentials } from '@epost/core'
import { randomBytes, sign } from '@epost/crypto'
import { testPki } from '../test-support/pki.js'
import { DialerHandshake, ListenerHandshake, handshakeProtocol } from './handshake.js'

const DIALER_ADDR = 'ws://127.0.0.1:1111'
const LISTENER_ADDR = 'ws://127.0.0.1:2222'

function code(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    return isEpostError(err) ? err.code : `not an EpostError: ${String(err)}`
  }
  return undefined
}

describe('ws handshake (sans I/O)', () => {
  const pki = testPki()
  const a = pki.node()
  const b = pki.node()
  const me = (credentials: NodeCredentials, address: string) => ({ credentials, verifier: pki.verifier, address, randomBytes })

  it('authenticates both sides and hands the listener the dialer handle', () => {
    const d = new DialerHandshake(me(a.credentials, DIALER_ADDR), b.credentials.id)
    const l = new ListenerHandshake(me(b.credentials, LISTENER_ADDR))
    const challenge = l.hello(d.hello())
    const { reply, peer } = d.challenge(challenge, LISTENER_ADDR)
    expect(peer.equals(b.credentials.id)).toBe(true)
    const dialer = l.auth(reply)
    expect(dialer.id.equals(a.credentials.id)).toBe(true)
    expect(dialer.address).toBe(DIALER_ADDR)
    expect(() => d.ready(l.ready())).not.toThrow()
  })

  it('tells the dialer the listener is someone else: EPOST_TRANSPORT_PEER_MISMATCH', () => {
    const c = pki.node()
    const d = new DialerHandshake(me(a.credentials, DIALER_ADDR), c.credentials.id)
    const l = new ListenerHandshake(me(b.credentials, LISTENER_ADDR))
    expect(code(() => d.challenge(l.hello(d.hello()), LISTENER_ADDR))).toBe('EPOST_TRANSPORT_PEER_MISMATCH')
  })

  it('refuses a certificate from another CA, an expired one, and our own', () => {
    const stranger = testPki().node()
    const l = () => new ListenerHandshake(me(b.credentials, LISTENER_ADDR))
    const hello = (c: NodeCredentials) => new DialerHandshake(me(c, DIALER_ADDR), b.credentials.id).hello()
    expect(code(() => l().hello(hello(stranger.credentials)))).toBe('EPOST_TRANSPORT_AUTH_FAILED')
    const now = Date.now()
    const expired = pki.node({ issuedAt: now - 2 * 86_400_000, expiresAt: now - 86_400_000 })
    expect(code(() => l().hello(hello(expired.credentials)))).toBe('EPOST_TRANSPORT_AUTH_FAILED')
    expect(code(() => l().hello(hello(b.credentials)))).toBe('EPOST_TRANSPORT_AUTH_FAILED')
    // The dialer checks the listener's certificate the same way.
    const d = new DialerHandshake(me(a.credentials, DIALER_ADDR), stranger.credentials.id)
    const fakeListener = new ListenerHandshake({ ...me(stranger.credentials, LISTENER_ADDR), verifier: testPki().verifier })
    expect(code(() => d.challenge(fakeListener.hello(d.hello()), LISTENER_ADDR))).toBe('EPOST_TRANSPORT_AUTH_FAILED')
  })

  it("refuses a dialer that presents another node's certificate without its key", () => {
    const impostor: NodeCredentials = { id: a.credentials.id, certificate: a.credentials.certificate, sign: (m) => sign(b.keyPair.privateKey, m) }
    const c = pki.node()
    const d = new DialerHandshake(me(impostor, DIALER_ADDR), c.credentials.id)
    const l = new ListenerHandshake(me(c.credentials, LISTENER_ADDR))
    const { reply } = d.challenge(l.hello(d.hello()), LISTENER_ADDR)
    expect(code(() => l.auth(reply))).toBe('EPOST_TRANSPORT_AUTH_FAILED')
  })

  it('refuses a garbage signature, a replayed auth and a reflected challenge', () => {
    const garbage: NodeCredentials = { ...a.credentials, sign: () => randomBytes(64) }
    const d1 = new DialerHandshake(me(garbage, DIALER_ADDR), b.credentials.id)
    const l1 = new ListenerHandshake(me(b.credentials, LISTENER_ADDR))
    expect(code(() => l1.auth(d1.challenge(l1.hello(d1.hello()), LISTENER_ADDR).reply))).toBe('EPOST_TRANSPORT_AUTH_FAILED')

    // Replay: an auth recorded from one session is worthless in another (fresh listener nonce).
    const d2 = new DialerHandshake(me(a.credentials, DIALER_ADDR), b.credentials.id)
    const l2 = new ListenerHandshake(me(b.credentials, LISTENER_ADDR))
    const recorded = d2.challenge(l2.hello(d2.hello()), LISTENER_ADDR).reply
    const l3 = new ListenerHandshake(me(b.credentials, LISTENER_ADDR))
    l3.hello(d2.hello())
    expect(code(() => l3.auth(recorded))).toBe('EPOST_TRANSPORT_AUTH_FAILED')

    // Reflection: a listener signature cannot pass as a dialer's (role byte).
    const d4 = new DialerHandshake(me(a.credentials, DIALER_ADDR), b.credentials.id)
    const l4 = new ListenerHandshake(me(b.credentials, LISTENER_ADDR))
    const challenge = handshakeProtocol.decodeBytes(l4.hello(d4.hello()))
    const reflected = handshakeProtocol.encode('auth', { sig: (challenge.body as { sig: Uint8Array }).sig })
    expect(code(() => l4.auth(reflected))).toBe('EPOST_TRANSPORT_AUTH_FAILED')
  })

  it('refuses a dialer address change after signing (the address is in the transcript)', () => {
    const d = new DialerHandshake(me(a.credentials, DIALER_ADDR), b.credentials.id)
    const l = new ListenerHandshake(me(b.credentials, LISTENER_ADDR))
    const hello = handshakeProtocol.decodeBytes(d.hello()).body as { cert: Uint8Array; nonce: Uint8Array; address: string }
    const moved = handshakeProtocol.encode('hello', { ...hello, address: 'ws://10.0.0.1:1' })
    // The listener signs for the moved address, so the dialer's view of the transcript differs.
    expect(code(() => d.challenge(l.hello(moved), LISTENER_ADDR))).toBe('EPOST_TRANSPORT_AUTH_FAILED')
  })

  it('rejects garbage and out-of-order messages with codec errors', () => {
    const l = new ListenerHandshake(me(b.credentials, LISTENER_ADDR))
    expect(code(() => l.hello(Uint8Array.of(1, 2, 3)))).toMatch(/^EPOST_CODEC_/)
    expect(code(() => l.hello(handshakeProtocol.encode('auth', { sig: new Uint8Array(64) })))).toBe('EPOST_CODEC_SCHEMA')
    expect(code(() => l.auth(handshakeProtocol.encode('auth', { sig: new Uint8Array(64) })))).toBe('EPOST_CODEC_SCHEMA')
    const bad = handshakeProtocol.encode('hello', { cert: a.credentials.certificate, nonce: new Uint8Array(32), address: 'http://x' })
    expect(code(() => l.hello(bad))).toBe('EPOST_CODEC_SCHEMA')
  })
})
