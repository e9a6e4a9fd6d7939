import { EpostError } from '@epost/core'
import type { Id } from '@epost/core'
import { pack, schema, unpack } from '@epost/codec'
import { concatBytes, equalBytes, hashToId, sha256, sign, signingPublicKey, toHex, userCertificateHandle, verify, verifyUserCertificate } from '@epost/crypto'
import { MAX_BLOCK_BYTES, MAX_ENCODED_BLOCK_BYTES, MAX_NAME_LENGTH } from './constants.js'

const { v } = schema

/**
 * The three kinds of block POST stores in PAST:
 * - content-hash: immutable; handle = hash of the bytes, so the bytes prove themselves;
 * - public-key: mutable, owned by a signing key; handle = hash of (key, name); every version is
 *   signed and carries a sequence number, and storing nodes refuse to go backwards;
 * - certificate: a CA-signed user certificate; handle = hash of the address it certifies.
 */
export type Block = ContentBlock | PublicKeyBlock | CertificateBlock | AppendBlock | Tombstone

/**
 * The owner's signed deletion of its public-key block or append-only object `name` (authorised
 * deletion, Kangasharju): replicas replace the block with it and refuse older versions; upkeep
 * garbage-collects it after TOMBSTONE_TTL_MS.
 */
export interface Tombstone {
  kind: 'tombstone'
  owner: Uint8Array
  name: string
  target: 'public-key' | 'append'
  seq: number
  signature: Uint8Array
}

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

/**
 * An append-only object (the Kangasharju inbox): entries signed by their writers, kept by each
 * replica in its own list; readers merge every replica's list (a superset, deduplicated). Only the
 * owner trims, with a signed, sequence-numbered list of the entry ids it has consumed.
 */
export interface AppendBlock {
  kind: 'append'
  owner: Uint8Array
  name: string
  entries: AppendEntry[]
  trim?: TrimRecord
}

export interface AppendEntry {
  writer: Uint8Array
  data: Uint8Array
  signature: Uint8Array
}

export interface TrimRecord {
  seq: number
  /** Ids (sha256 of the encoded entry) of the entries removed, concatenated, 32 bytes each. */
  ids: Uint8Array
  signature: Uint8Array
}

/** Entries one append-only object holds at most; appenders beyond it are refused until the owner trims. */
export const MAX_APPEND_ENTRIES = 4096

const TAG_CONTENT = 1
const TAG_PUBLIC_KEY = 2
const TAG_CERTIFICATE = 3
const TAG_APPEND = 4
const TAG_TOMBSTONE = 5
const TOMB_SIGN_TAG = new TextEncoder().encode('epost-past-tombstone-v1')
const APPEND_HANDLE_TAG = new TextEncoder().encode('epost-past-append-handle-v1')
const ENTRY_SIGN_TAG = new TextEncoder().encode('epost-past-entry-v1')
const TRIM_SIGN_TAG = new TextEncoder().encode('epost-past-trim-v1')
const PK_SIGN_TAG = new TextEncoder().encode('epost-past-pk-v1')
const PK_HANDLE_TAG = new TextEncoder().encode('epost-past-pk-handle-v1')

const wire = v.union([
  v.tuple([v.literal(TAG_CONTENT), schema.bytes(MAX_BLOCK_BYTES)]),
  v.tuple([v.literal(TAG_PUBLIC_KEY), schema.fixedBytes(32), v.pipe(v.string(), v.maxLength(MAX_NAME_LENGTH)), schema.uint, schema.bytes(MAX_BLOCK_BYTES), schema.fixedBytes(64)]),
  v.tuple([v.literal(TAG_CERTIFICATE), schema.bytes(4096)]),
  v.tuple([
    v.literal(TAG_APPEND),
    schema.fixedBytes(32),
    v.pipe(v.string(), v.maxLength(MAX_NAME_LENGTH)),
    schema.list(v.tuple([schema.fixedBytes(32), schema.bytes(MAX_BLOCK_BYTES), schema.fixedBytes(64)]), MAX_APPEND_ENTRIES),
    v.optional(v.tuple([schema.uint, schema.bytes(32 * MAX_APPEND_ENTRIES), schema.fixedBytes(64)])),
  ]),
  v.tuple([v.literal(TAG_TOMBSTONE), schema.fixedBytes(32), v.pipe(v.string(), v.maxLength(MAX_NAME_LENGTH)), v.picklist(['public-key', 'append']), schema.uint, schema.fixedBytes(64)]),
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

/** The handle of the owner's append-only object `name`. */
export function appendHandle(owner: Uint8Array, name: string): Id {
  return hashToId(concatBytes(APPEND_HANDLE_TAG, owner, new TextEncoder().encode(name)))
}

/** One entry, signed by its writer, for the append-only object at `handle`. */
export function appendEntry(handle: Id, writer: { publicKey: Uint8Array; privateKey: Uint8Array }, data: Uint8Array): AppendEntry {
  return { writer: writer.publicKey, data, signature: sign(writer.privateKey, pack([ENTRY_SIGN_TAG, handle.bytes, writer.publicKey, data])) }
}

/** A block that appends `entries` to the owner's object `name` (insert it to append). */
export function appendBlock(owner: Uint8Array, name: string, entries: AppendEntry[], trim?: TrimRecord): AppendBlock {
  return { kind: 'append', owner, name, entries, ...(trim === undefined ? {} : { trim }) }
}

/** The owner's signed record that the entries with these ids are consumed (insert an appendBlock with it to trim). */
export function trimRecord(handle: Id, owner: { publicKey: Uint8Array; privateKey: Uint8Array }, seq: number, ids: readonly Uint8Array[]): TrimRecord {
  const joined = concatBytes(...ids)
  return { seq, ids: joined, signature: sign(owner.privateKey, pack([TRIM_SIGN_TAG, handle.bytes, seq, joined])) }
}

/** An entry's id: the SHA-256 of its encoding (what trims name, and what merging deduplicates on). */
export function entryId(e: AppendEntry): Uint8Array {
  return sha256(pack([e.writer, e.data, e.signature]))
}

/** The union of two copies of one append-only object, with the newer trim applied. */
export function mergeAppend(a: AppendBlock, b: AppendBlock): AppendBlock {
  const trim = a.trim === undefined ? b.trim : b.trim === undefined ? a.trim : b.trim.seq > a.trim.seq ? b.trim : a.trim
  const trimmed = new Set<string>()
  if (trim !== undefined) for (let i = 0; i + 32 <= trim.ids.length; i += 32) trimmed.add(toHex(trim.ids.subarray(i, i + 32)))
  const seen = new Set<string>()
  const entries: AppendEntry[] = []
  for (const e of [...a.entries, ...b.entries]) {
    const id = toHex(entryId(e))
    if (seen.has(id) || trimmed.has(id)) continue
    seen.add(id)
    entries.push(e)
  }
  return { kind: 'append', owner: a.owner, name: a.name, entries: entries.slice(0, MAX_APPEND_ENTRIES), ...(trim === undefined ? {} : { trim }) }
}

/** The owner deletes its block `name` of kind `target`; `seq` must be at least the block's. */
export function tombstone(owner: { publicKey: Uint8Array; privateKey: Uint8Array }, target: 'public-key' | 'append', name: string, seq: number): Tombstone {
  const handle = target === 'public-key' ? publicKeyHandle(owner.publicKey, name) : appendHandle(owner.publicKey, name)
  return { kind: 'tombstone', owner: owner.publicKey, name, target, seq, signature: sign(owner.privateKey, pack([TOMB_SIGN_TAG, handle.bytes, target, seq])) }
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
      break
    case 'tombstone':
      bytes = pack([TAG_TOMBSTONE, b.owner, b.name, b.target, b.seq, b.signature])
      break
    case 'append':
      bytes = pack([TAG_APPEND, b.owner, b.name, b.entries.map((e) => [e.writer, e.data, e.signature]), ...(b.trim === undefined ? [] : [[b.trim.seq, b.trim.ids, b.trim.signature]])])
  }
  if (bytes.length > MAX_ENCODED_BLOCK_BYTES) throw new EpostError('EPOST_PAST_BLOCK_TOO_LARGE', `a block is at most ${MAX_BLOCK_BYTES} bytes; chunk larger bodies`)
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
    case TAG_TOMBSTONE:
      return { kind: 'tombstone', owner: t[1], name: t[2], target: t[3], seq: t[4], signature: t[5] }
    case TAG_APPEND: {
      const trim = t[4]
      return {
        kind: 'append',
        owner: t[1],
        name: t[2],
        entries: t[3].map(([writer, data, signature]) => ({ writer, data, signature })),
        ...(trim === undefined ? {} : { trim: { seq: trim[0], ids: trim[1], signature: trim[2] } }),
      }
    }
  }
}

/** Where a block lives on the ring. Certificates: the hash of the address they certify. */
export function blockHandle(b: Block, caPublicKey?: Uint8Array): Id {
  switch (b.kind) {
    case 'content':
      return hashToId(b.data)
    case 'public-key':
      return publicKeyHandle(b.owner, b.name)
    case 'append':
      return appendHandle(b.owner, b.name)
    case 'tombstone':
      return b.target === 'public-key' ? publicKeyHandle(b.owner, b.name) : appendHandle(b.owner, b.name)
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
    case 'tombstone':
      if (!blockHandle(b).equals(handle)) bad('owner and name do not hash to the handle')
      if (!verify(b.owner, pack([TOMB_SIGN_TAG, handle.bytes, b.target, b.seq]), b.signature)) bad('the deletion is not signed by the owner')
      return
    case 'append': {
      if (!appendHandle(b.owner, b.name).equals(handle)) bad('owner and name do not hash to the handle')
      for (const e of b.entries) {
        if (!verify(e.writer, pack([ENTRY_SIGN_TAG, handle.bytes, e.writer, e.data]), e.signature)) bad("an entry's writer signature does not verify")
      }
      if (b.trim !== undefined) {
        if (b.trim.ids.length % 32 !== 0) bad('trim ids are 32 bytes each')
        if (!verify(b.owner, pack([TRIM_SIGN_TAG, handle.bytes, b.trim.seq, b.trim.ids]), b.trim.signature)) bad("the trim is not signed by the owner")
      }
      return
    }
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
export function acceptReplacement(existing: Block, incoming: Block): 'same' | 'newer' | 'merge' | 'refuse' {
  const a = encodeBlock(existing)
  const b = encodeBlock(incoming)
  if (equalBytes(a, b)) return 'same'
  if (existing.kind === 'append' && incoming.kind === 'append') return 'merge'
  // Deletion by the owner: a tombstone replaces the block it names (public-key: at or above its
  // sequence number); after it, only a later public-key version (a re-creation) or a later
  // tombstone is taken.
  if (incoming.kind === 'tombstone') {
    if (existing.kind === 'append') return 'newer'
    if (existing.kind === 'public-key') return incoming.seq >= existing.seq ? 'newer' : 'refuse'
    if (existing.kind === 'tombstone') return incoming.seq > existing.seq ? 'newer' : 'refuse'
    return 'refuse'
  }
  if (existing.kind === 'tombstone') return incoming.kind === 'public-key' && incoming.seq > existing.seq ? 'newer' : 'refuse'
  if (existing.kind === 'public-key' && incoming.kind === 'public-key') return incoming.seq > existing.seq ? 'newer' : 'refuse'
  if (existing.kind === 'certificate' && incoming.kind === 'certificate') return 'newer'
  return 'refuse'
}
