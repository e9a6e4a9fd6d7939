import { EpostError } from '@epost/core'
import type { Id } from '@epost/core'
import { pack, schema, unpack } from '@epost/codec'
import { concatBytes, equalBytes, hashToId, sign, signingPublicKey, userCertificateHandle, verify, verifyUserCertificate } from '@epost/crypto'
import { MAX_BLOCK_BYTES, MAX_NAME_LENGTH } from './constants.js'

const { v } = schema

/**
 * The three kinds of block POST stores in PAST:
 * - content-hash: immutable; handle = hash of the bytes, so the bytes prove themselves;
 * - public-key: mutable, owned by a signing key; handle = hash of (key, name); every version is
 *   signed and carries a sequence number, and storing nodes refuse to go backwards;
 * - certificate: a CA-signed user certificate; handle = hash of the address it certifies.
 */
export type Block = ContentBlock | PublicKeyBlock | CertificateBlock

export interface ContentBlock {
  kind: 'content'
  data: Uint8Array
}

export interface PublicKeyBlock {
  kind: 'public-key'
  owner: Uint8Array
  name: string
  seq: number
  data: Uint8Array
  signature: Uint8Array
}

export interface CertificateBlock {
  kind: 'certificate'
  /** An encoded user certificate (@epost/crypto). */
  certificate: Uint8Array
}

const TAG_CONTENT = 1
const TAG_PUBLIC_KEY = 2
const TAG_CERTIFICATE = 3
const PK_SIGN_TAG = new TextEncoder().encode('epost-past-pk-v1')
const PK_HANDLE_TAG = new TextEncoder().encode('epost-past-pk-handle-v1')

const wire = v.union([
  v.tuple([v.literal(TAG_CONTENT), schema.bytes(MAX_BLOCK_BYTES)]),
  v.tuple([v.literal(TAG_PUBLIC_KEY), schema.fixedBytes(32), v.pipe(v.string(), v.maxLength(MAX_NAME_LENGTH)), schema.uint, schema.bytes(MAX_BLOCK_BYTES), schema.fixedBytes(64)]),
  v.tuple([v.literal(TAG_CERTIFICATE), schema.bytes(4096)]),
])

export function contentBlock(data: Uint8Array): ContentBlock {
  return { kind: 'content', data }
}

/** Signs version `seq` of the owner's block `name`. */
export function publicKeyBlock(owner: { publicKey: Uint8Array; privateKey: Uint8Array }, name: string, seq: number, data: Uint8Array): PublicKeyBlock {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new EpostError('EPOST_INVALID_ARGUMENT', 'seq is a non-negative integer')
  const b: PublicKeyBlock = { kind: 'public-key', owner: owner.publicKey, name, seq, data, signature: new Uint8Array(64) }
  b.signature = sign(owner.privateKey, signedPart(b))
  if (!equalBytes(signingPublicKey(owner.privateKey), owner.publicKey)) throw new EpostError('EPOST_CRYPTO_BAD_KEY', 'the private key does not belong to the public key')
  return b
}

export function certificateBlock(certificate: Uint8Array): CertificateBlock {
  return { kind: 'certificate', certificate }
}

/** The handle of the owner's public-key block `name`. */
export function publicKeyHandle(owner: Uint8Array, name: string): Id {
  return hashToId(concatBytes(PK_HANDLE_TAG, owner, new TextEncoder().encode(name)))
}

function signedPart(b: PublicKeyBlock): Uint8Array {
  return pack([PK_SIGN_TAG, b.owner, b.name, b.seq, b.data])
}

export function encodeBlock(b: Block): Uint8Array {
  let bytes: Uint8Array
  switch (b.kind) {
    case 'content':
      bytes = pack([TAG_CONTENT, b.data])
      break
    case 'public-key':
      bytes = pack([TAG_PUBLIC_KEY, b.owner, b.name, b.seq, b.data, b.signature])
      break
    case 'certificate':
      bytes = pack([TAG_CERTIFICATE, b.certificate])
  }
  if (bytes.length > MAX_BLOCK_BYTES + 1024) throw new EpostError('EPOST_PAST_BLOCK_TOO_LARGE', `a block is at most ${MAX_BLOCK_BYTES} bytes; chunk larger bodies`)
  return bytes
}

/** Decodes a block; only EpostErrors escape (EPOST_PAST_INVALID_BLOCK for anything malformed). */
export function decodeBlock(bytes: Uint8Array): Block {
  let raw: unknown
  try {
    raw = unpack(bytes)
  } catch (err) {
    throw new EpostError('EPOST_PAST_INVALID_BLOCK', 'block bytes are not valid msgpack', { cause: err })
  }
  const r = v.safeParse(wire, raw)
  if (!r.success) throw new EpostError('EPOST_PAST_INVALID_BLOCK', `malformed block: ${r.issues[0].message}`)
  const t = r.output
  switch (t[0]) {
    case TAG_CONTENT:
      return { kind: 'content', data: t[1] }
    case TAG_PUBLIC_KEY:
      return { kind: 'public-key', owner: t[1], name: t[2], seq: t[3], data: t[4], signature: t[5] }
    case TAG_CERTIFICATE:
      return { kind: 'certificate', certificate: t[1] }
  }
}

/** Where a block lives on the ring. Certificates: the hash of the address they certify. */
export function blockHandle(b: Block, caPublicKey?: Uint8Array): Id {
  switch (b.kind) {
    case 'content':
      return hashToId(b.data)
    case 'public-key':
      return publicKeyHandle(b.owner, b.name)
    case 'certificate':
      if (caPublicKey === undefined) throw new EpostError('EPOST_INVALID_ARGUMENT', 'a certificate block needs the CA key')
      try {
        return userCertificateHandle(verifyUserCertificate(caPublicKey, b.certificate).address)
      } catch (err) {
        throw new EpostError('EPOST_PAST_INVALID_BLOCK', `not a valid certificate of the CA: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
      }
  }
}

export interface VerifyOptions {
  caPublicKey: Uint8Array
  now?: () => number
}

/**
 * Checks that `b` may live at `handle`: the content hashes to it; the public-key block is signed by
 * its owner and its (owner, name) hash to it; the certificate is the CA's and certifies the address
 * that hashes to it. Throws EPOST_PAST_INVALID_BLOCK otherwise. Every storing and reading node runs
 * this before it trusts a block.
 */
export function verifyBlock(handle: Id, b: Block, options: VerifyOptions): void {
  const bad = (why: string): never => {
    throw new EpostError('EPOST_PAST_INVALID_BLOCK', `${b.kind} block rejected for ${handle.short()}: ${why}`)
  }
  switch (b.kind) {
    case 'content':
      if (!hashToId(b.data).equals(handle)) bad('its content does not hash to the handle')
      return
    case 'public-key':
      if (!publicKeyHandle(b.owner, b.name).equals(handle)) bad('owner and name do not hash to the handle')
      if (!verify(b.owner, signedPart(b), b.signature)) bad("the owner's signature does not verify")
      return
    case 'certificate': {
      let address: string
      try {
        address = verifyUserCertificate(options.caPublicKey, b.certificate, options.now === undefined ? {} : { now: options.now }).address
      } catch (err) {
        return bad(`not a valid certificate of the CA (${err instanceof Error ? err.message : String(err)})`)
      }
      if (!userCertificateHandle(address).equals(handle)) bad('the certified address does not hash to the handle')
    }
  }
}

/**
 * May `incoming` replace `existing` at the same handle? Content blocks never change; a public-key
 * block only moves forward (a lower sequence number, or the same number with other content, is a
 * rollback or a fork and is refused); a certificate may be replaced by a later one.
 */
export function acceptReplacement(existing: Block, incoming: Block): 'same' | 'newer' | 'refuse' {
  const a = encodeBlock(existing)
  const b = encodeBlock(incoming)
  if (equalBytes(a, b)) return 'same'
  if (existing.kind === 'public-key' && incoming.kind === 'public-key') return incoming.seq > existing.seq ? 'newer' : 'refuse'
  if (existing.kind === 'certificate' && incoming.kind === 'certificate') return 'newer'
  return 'refuse'
}
