import { EpostError, handle, isEpostError } from '@epost/core'
import type { CertificateVerifier, Id, NodeCredentials, NodeHandle, VerifiedPeer } from '@epost/core'
import { defineProtocol, schema } from '@epost/codec'
import { concatBytes } from '@epost/crypto'
import { WS_AUTH_DOMAIN, WS_HANDSHAKE_APP, WS_HANDSHAKE_MAX_BYTES, WS_NONCE_BYTES } from '../constants.js'
import { peerMismatch } from '../errors.js'

const { v } = schema

/**
 * Mutual authentication at connect, sans I/O (the connection moves the bytes):
 *
 *   dialer   -> listener  hello     { cert, nonce: nD, address }   the dialer's listen address
 *   listener -> dialer    challenge { cert, nonce: nL, sig: sign_L(transcript(LISTENER)) }
 *   dialer   -> listener  auth      { sig: sign_D(transcript(DIALER)) }
 *   listener -> dialer    ready     {}                              or a close (duplicate, full)
 *
 * transcript(role) = 'epost-ws-auth-v1' || role || the OTHER side's nonce || the signer's nonce
 *                    || dialer id || listener id || dialer address (UTF-8)
 *
 * Each side signs the other's fresh nonce (no replay), both ids (no relay to a third node), its
 * role (no reflection) and the dialer's claimed address (which becomes `from.address`). Both check
 * the peer's certificate with the CA verifier and the signature with the certified key; the dialer
 * also checks that the certified id is the one it wanted.
 */

const DIALER = 1
const LISTENER = 2
const MAX_CERT_BYTES = 4096
const MAX_SIG_BYTES = 512

const cert = schema.bytes(MAX_CERT_BYTES, 1)
const nonce = schema.fixedBytes(WS_NONCE_BYTES)
const sig = schema.bytes(MAX_SIG_BYTES, 1)
const address = v.pipe(v.string(), v.minLength(1), v.maxLength(schema.MAX_ADDRESS_LENGTH), v.regex(/^wss?:\/\//, 'expected a ws:// or wss:// address'))

export const handshakeProtocol = defineProtocol(WS_HANDSHAKE_APP, {
  hello: { type: 1, schema: v.object({ cert, nonce, address }) },
  challenge: { type: 2, schema: v.object({ cert, nonce, sig }) },
  auth: { type: 3, schema: v.object({ sig }) },
  ready: { type: 4, schema: v.object({}) },
})

/** What a node brings to a handshake. */
export interface HandshakeIdentity {
  credentials: NodeCredentials
  verifier: CertificateVerifier
  /** This node's listen address, sent as the dialer's `address`. */
  address: string
  randomBytes: (n: number) => Uint8Array
}

const DOMAIN = new TextEncoder().encode(WS_AUTH_DOMAIN)
const encoder = new TextEncoder()

export function transcript(role: number, otherNonce: Uint8Array, ownNonce: Uint8Array, dialer: Id, listener: Id, dialerAddress: string): Uint8Array {
  return concatBytes(DOMAIN, Uint8Array.of(role), otherNonce, ownNonce, dialer.bytes, listener.bytes, encoder.encode(dialerAddress))
}

function decode<K extends 'hello' | 'challenge' | 'auth' | 'ready'>(bytes: Uint8Array, name: K) {
  const m = handshakeProtocol.decodeBytes(bytes, { maxBytes: WS_HANDSHAKE_MAX_BYTES })
  if (m.name !== name) throw new EpostError('EPOST_CODEC_SCHEMA', `handshake: expected '${name}', got '${m.name}'`)
  return m as Extract<typeof m, { name: K }>
}

function authFailed(what: string, cause?: unknown): EpostError {
  return new EpostError('EPOST_TRANSPORT_AUTH_FAILED', `${what}; check that both nodes hold certificates from the same CA and that clocks agree on validity`, { cause })
}

function checkCertificate(verifier: CertificateVerifier, certificate: Uint8Array, who: string): VerifiedPeer {
  try {
    return verifier.verifyNodeCertificate(certificate)
  } catch (err) {
    throw authFailed(`the ${who}'s certificate does not check out${isEpostError(err) ? ` (${err.message})` : ''}`, err)
  }
}

function checkSignature(verifier: CertificateVerifier, peer: VerifiedPeer, message: Uint8Array, signature: Uint8Array, who: string): void {
  let ok = false
  try {
    ok = verifier.verifySignature(peer.publicKey, message, signature)
  } catch (err) {
    throw authFailed(`the ${who}'s handshake signature is malformed`, err)
  }
  if (!ok) throw authFailed(`the ${who}'s handshake signature does not verify with its certified key (${peer.id.short()})`)
}

/** The dialing side. Methods throw EpostErrors: EPOST_CODEC_* (garbage), _AUTH_FAILED, _PEER_MISMATCH. */
export class DialerHandshake {
  readonly #me: HandshakeIdentity
  readonly #expected: Id
  readonly #nonce: Uint8Array

  constructor(me: HandshakeIdentity, expected: Id) {
    this.#me = me
    this.#expected = expected
    this.#nonce = me.randomBytes(WS_NONCE_BYTES)
  }

  hello(): Uint8Array {
    return handshakeProtocol.encode('hello', { cert: this.#me.credentials.certificate, nonce: this.#nonce, address: this.#me.address })
  }

  /** Checks the listener's challenge; returns our auth message and the listener's certified id. */
  challenge(bytes: Uint8Array, listenerAddress: string): { reply: Uint8Array; peer: Id } {
    const { body } = decode(bytes, 'challenge')
    const peer = checkCertificate(this.#me.verifier, body.cert, 'listener')
    const me = this.#me.credentials.id
    checkSignature(this.#me.verifier, peer, transcript(LISTENER, this.#nonce, body.nonce, me, peer.id, this.#me.address), body.sig, 'listener')
    if (!peer.id.equals(this.#expected)) throw peerMismatch(listenerAddress, this.#expected, peer.id)
    const reply = handshakeProtocol.encode('auth', { sig: this.#me.credentials.sign(transcript(DIALER, body.nonce, this.#nonce, me, peer.id, this.#me.address)) })
    return { reply, peer: peer.id }
  }

  ready(bytes: Uint8Array): void {
    decode(bytes, 'ready')
  }
}

/** The accepting side. Methods throw EpostErrors: EPOST_CODEC_* (garbage) or _AUTH_FAILED. */
export class ListenerHandshake {
  readonly #me: HandshakeIdentity
  readonly #nonce: Uint8Array
  #peer: VerifiedPeer | undefined
  #peerNonce: Uint8Array | undefined
  #peerAddress = ''

  constructor(me: HandshakeIdentity) {
    this.#me = me
    this.#nonce = me.randomBytes(WS_NONCE_BYTES)
  }

  /** Checks the dialer's certificate; returns the challenge (signed over the dialer's nonce). */
  hello(bytes: Uint8Array): Uint8Array {
    const { body } = decode(bytes, 'hello')
    const peer = checkCertificate(this.#me.verifier, body.cert, 'dialer')
    const me = this.#me.credentials.id
    if (peer.id.equals(me)) throw authFailed(`a peer presented this node's own certificate (${me.short()})`)
    this.#peer = peer
    this.#peerNonce = body.nonce
    this.#peerAddress = body.address
    const sigL = this.#me.credentials.sign(transcript(LISTENER, body.nonce, this.#nonce, peer.id, me, body.address))
    return handshakeProtocol.encode('challenge', { cert: this.#me.credentials.certificate, nonce: this.#nonce, sig: sigL })
  }

  /** Checks the dialer's signature; returns the dialer's authenticated handle. */
  auth(bytes: Uint8Array): NodeHandle {
    const { body } = decode(bytes, 'auth')
    const peer = this.#peer
    const peerNonce = this.#peerNonce
    if (peer === undefined || peerNonce === undefined) throw new EpostError('EPOST_CODEC_SCHEMA', "handshake: 'auth' before 'hello'")
    checkSignature(this.#me.verifier, peer, transcript(DIALER, this.#nonce, peerNonce, peer.id, this.#me.credentials.id, this.#peerAddress), body.sig, 'dialer')
    return Object.freeze(handle(peer.id, this.#peerAddress))
  }

  ready(): Uint8Array {
    return handshakeProtocol.encode('ready', {})
  }
}

