import { EpostError, abortError, createMetrics, handleToWire, isEpostError, silentLogger } from '@epost/core'
import type { Application, BlockStore, Clock, Counter, DeliveredMessage, Endpoint, ForwardContext, Id, KeyRange, Logger, Metrics, NodeHandle, Overlay } from '@epost/core'
import { Upkeep, keysFromWire, keysToOffer } from './upkeep.js'
import { Limiter } from './limiter.js'
import { BlockCache } from './cache.js'
import type { UpkeepHost } from './upkeep.js'
import type { RangeDigest } from './digest.js'
import { dispatcher, schema } from '@epost/codec'
import { equalBytes } from '@epost/crypto'
import { acceptReplacement, blockHandle, decodeBlock, encodeBlock, mergeAppend, verifyBlock } from './blocks.js'
import type { Block } from './blocks.js'
import * as C from './constants.js'
import { PAST_PROTOCOL, pastProtocol } from './messages.js'
import type { PastBody, PastMessage, PastMessageName } from './messages.js'

export interface PastInit {
  /** Replicas per block (k). @default REPLICAS */
  replicas?: number
  /** @default INSERT_TIMEOUT_MS */
  insertTimeoutMs?: number
  /** @default LOOKUP_TIMEOUT_MS */
  lookupTimeoutMs?: number
  /** @default REPLICATE_TIMEOUT_MS */
  replicateTimeoutMs?: number
  /** Client operations at once. @default MAX_OPS */
  maxOps?: number
  /** Operations that may wait for a slot. @default MAX_WAITING_OPS */
  maxWaitingOps?: number
  /** Bytes of content-hash blocks cached from lookups. @default CACHE_BYTES */
  cacheBytes?: number
}

export interface PastComponents {
  overlay: Overlay
  store: BlockStore
  clock: Clock
  /** The organisation's CA key: certificate blocks must be signed by it. */
  caPublicKey: Uint8Array
  logger?: Logger
  metrics?: Metrics
}

export interface InsertResult {
  handle: Id
  /** Replicas that acknowledged (at least k when the insert resolves). */
  stored: number
}

interface Waiter {
  resolve: (m: PastMessage | undefined) => void
}

/** Largest k a request may ask for: the leaf set bounds what a root can see. */
const MAX_K = 16

/**
 * PAST on one node: stores verified blocks on the k nodes closest to their handle, and reads them
 * back verifying every answer, so that up to k-1 bad or dead replicas cannot make a reader accept
 * a forged, corrupted or rolled-back block.
 */
export class PastNode implements Application, UpkeepHost {
  readonly endpoint: Endpoint
  readonly store: BlockStore
  readonly #clock: Clock
  readonly #ca: Uint8Array
  readonly #log: Logger
  readonly #k: number
  readonly #t: { insert: number; lookup: number; replicate: number }
  readonly #waiting = new Map<number, Waiter>()
  readonly #m: { stored: Counter; refused: Counter; malformed: Counter; repaired: Counter; upkeepBytes: Counter; cacheHits: Counter; pathHits: Counter }
  readonly #upkeep: Upkeep
  readonly #ops: Limiter
  readonly #cache: BlockCache
  /** Keys this node stores (kept in step with the store; lets a lookup end at the first replica on its route). */
  readonly #held = new Set<string>()
  #req = 0

  constructor(init: PastInit, c: PastComponents) {
    this.store = c.store
    this.#clock = c.clock
    this.#ca = c.caPublicKey
    this.#k = init.replicas ?? C.REPLICAS
    this.#t = {
      insert: init.insertTimeoutMs ?? C.INSERT_TIMEOUT_MS,
      lookup: init.lookupTimeoutMs ?? C.LOOKUP_TIMEOUT_MS,
      replicate: init.replicateTimeoutMs ?? C.REPLICATE_TIMEOUT_MS,
    }
    this.#cache = new BlockCache(init.cacheBytes ?? C.CACHE_BYTES)
    this.#ops = new Limiter(init.maxOps ?? C.MAX_OPS, init.maxWaitingOps ?? C.MAX_WAITING_OPS)
    const metrics = c.metrics ?? createMetrics()
    this.#m = {
      stored: metrics.counter('epost_past_stored_total'),
      refused: metrics.counter('epost_past_refused_total'),
      malformed: metrics.counter('epost_past_malformed_total'),
      repaired: metrics.counter('epost_past_repaired_total'),
      upkeepBytes: metrics.counter('epost_past_upkeep_bytes_total'),
      cacheHits: metrics.counter('epost_past_cache_hits_total'),
      pathHits: metrics.counter('epost_past_replica_on_path_total'),
    }
    this.#upkeep = new Upkeep(this, c.clock, {
      rounds: metrics.counter('epost_past_upkeep_rounds_total'),
      pulled: metrics.counter('epost_past_upkeep_pulled_total'),
      dropped: metrics.counter('epost_past_upkeep_dropped_total'),
    })
    this.endpoint = c.overlay.register(PAST_PROTOCOL, this)
    this.#log = (c.logger ?? silentLogger).forComponent('epost:past').child({ node: this.endpoint.localHandle.id.short() })
  }

  // ------------------------------------------------------------ client API

  /**
   * Stores `block` on the k nodes closest to its handle. Resolves once `quorum` (default k)
   * replicas acknowledged;
   * rejects with EPOST_PAST_INSUFFICIENT_REPLICAS if fewer did in time, EPOST_PAST_INVALID_BLOCK
   * or EPOST_PAST_STALE_VERSION if the root refused it.
   */
  insert(block: Block, options: { k?: number; quorum?: number; signal?: AbortSignal } = {}): Promise<InsertResult> {
    return this.#ops.run(() => this.#insert(block, options), options.signal)
  }

  async #insert(block: Block, options: { k?: number; quorum?: number; signal?: AbortSignal }): Promise<InsertResult> {
    const k = Math.min(options.k ?? this.#k, MAX_K)
    const quorum = Math.min(options.quorum ?? k, k)
    const handle = blockHandle(block, this.#ca)
    verifyBlock(handle, block, { caPublicKey: this.#ca })
    const bytes = encodeBlock(block)
    const reply = await this.#ask(
      (req) => this.#route(handle, 'insert', { req, origin: handleToWire(this.endpoint.localHandle), key: handle.bytes, k, block: bytes }),
      this.#t.insert + this.#t.replicate,
      options.signal,
    )
    if (reply?.name !== 'insertAck') {
      throw new EpostError('EPOST_PAST_INSUFFICIENT_REPLICAS', `no answer from the root of ${handle.short()} in time; retry later`, { details: { handle: handle.hex } })
    }
    if (!reply.body.ok && reply.body.stored < quorum) {
      const code = reply.body.code
      if (code === 'EPOST_PAST_INVALID_BLOCK' || code === 'EPOST_PAST_STALE_VERSION') throw new EpostError(code, `the root of ${handle.short()} refused the block (${code})`)
      throw new EpostError('EPOST_PAST_INSUFFICIENT_REPLICAS', `only ${reply.body.stored} of ${k} replicas stored ${handle.short()}; retry when more nodes are up`, {
        details: { handle: handle.hex, stored: reply.body.stored, k },
      })
    }
    return { handle, stored: reply.body.stored }
  }

  /**
   * Reads a block: asks the root, and if its answer is missing or does not verify, fetches from
   * every replica and returns the first that verifies. For public-key blocks use lookupAll to be
   * sure of the newest version.
   */
  lookup(handle: Id, options: { signal?: AbortSignal } = {}): Promise<Block> {
    return this.#ops.run(() => this.#lookup(handle, options), options.signal)
  }

  async #lookup(handle: Id, options: { signal?: AbortSignal }): Promise<Block> {
    const reply = await this.#ask(
      (req) => this.#route(handle, 'lookup', { req, origin: handleToWire(this.endpoint.localHandle), key: handle.bytes }),
      this.#t.lookup,
      options.signal,
    )
    if (reply?.name === 'lookupReply' && reply.body.block !== undefined) {
      const b = this.#verified(handle, reply.body.block)
      if (b !== undefined) {
        if (b.kind === 'content') {
          this.#cache.set(handle, reply.body.block)
          // Leave a copy one hop toward the root: later lookups through it end there.
          const hop = this.endpoint.localLookup(handle, 1)[0]
          if (hop !== undefined && !hop.id.equals(this.endpoint.localHandle.id)) this.#send(hop, 'cache', { key: handle.bytes, block: reply.body.block })
        }
        return b
      }
    }
    const all = await this.#fetchAll(handle, options.signal)
    const first = all.find((x) => x.block !== undefined)?.block
    if (first === undefined) throw new EpostError('EPOST_PAST_NOT_FOUND', `no replica holds a valid block at ${handle.short()}`, { details: { handle: handle.hex } })
    return first
  }

  /**
   * Reads every replica and returns the newest block that verifies (for public-key blocks, the
   * highest sequence number): a replica that serves an old, forged or corrupted version is
   * outvoted, and replicas seen stale are repaired with the newest version.
   */
  lookupAll(handle: Id, options: { signal?: AbortSignal } = {}): Promise<Block> {
    return this.#ops.run(() => this.#lookupAll(handle, options), options.signal)
  }

  async #lookupAll(handle: Id, options: { signal?: AbortSignal }): Promise<Block> {
    const all = await this.#fetchAll(handle, options.signal)
    let best: Block | undefined
    for (const { block } of all) {
      if (block === undefined) continue
      if (best?.kind === 'append' && block.kind === 'append') best = mergeAppend(best, block)
      else if (best === undefined || newer(block, best)) best = block
    }
    if (best === undefined) throw new EpostError('EPOST_PAST_NOT_FOUND', `no replica holds a valid block at ${handle.short()}`, { details: { handle: handle.hex } })
    const bytes = encodeBlock(best)
    const bestBytes = best.kind === 'append' ? bytes : undefined
    // Repair only the k closest: the nodes asked beyond them hold diverted copies, if anything.
    for (const { replica, block } of all.slice(0, this.#k)) {
      // Append-only objects: a replica whose copy is not the merged superset gets the superset.
      if (bestBytes !== undefined && block !== undefined && equalBytes(encodeBlock(block), bestBytes)) continue
      if (bestBytes === undefined && block !== undefined && !newer(best, block)) continue
      this.#m.repaired.inc()
      this.#send(replica, 'replicate', { req: 0, key: handle.bytes, block: bytes })
    }
    return best
  }

  // ------------------------------------------------------------ storage

  /** Verifies and stores a block under `key`, refusing rollbacks. */
  async storeLocal(key: Id, bytes: Uint8Array, options: { diverted?: boolean } = {}): Promise<void> {
    // The very bytes we hold under this key (verified when stored): nothing to check or write.
    const existingBytes = await this.store.get(key)
    if (existingBytes !== undefined && equalBytes(existingBytes, bytes)) return
    let block: Block
    try {
      block = decodeBlock(bytes)
      verifyBlock(key, block, { caPublicKey: this.#ca })
    } catch (err) {
      this.#m.refused.inc()
      throw err
    }
    if (existingBytes !== undefined) {
      let existing: Block | undefined
      try {
        existing = decodeBlock(existingBytes)
        verifyBlock(key, existing, { caPublicKey: this.#ca })
      } catch {
        existing = undefined // our own copy is damaged: the verified newcomer replaces it
      }
      if (existing !== undefined) {
        const verdict = acceptReplacement(existing, block)
        if (verdict === 'same') return
        if (verdict === 'merge' && existing.kind === 'append' && block.kind === 'append') block = mergeAppend(existing, block)
        if (verdict === 'refuse') {
          this.#m.refused.inc()
          throw new EpostError('EPOST_PAST_STALE_VERSION', `refusing ${block.kind} block at ${key.short()}: it would replace a newer or different version`)
        }
      }
    }
    await this.store.put(key, encodeBlock(block), {
      kind: block.kind,
      at: this.#clock.now(),
      ...(block.kind === 'public-key' ? { seq: block.seq } : {}),
      ...(options.diverted === true ? { diverted: true } : {}),
    })
    // Only once it is on disk: a lookup on the route is answered from here.
    this.#held.add(key.hex)
    this.#m.stored.inc()
  }

  // ------------------------------------------------------------ messages

  /** On the route of a lookup: answer from this node's cache if it holds the (content-hash) block. */
  forward(ctx: ForwardContext): boolean {
    if (ctx.hops === 0) return true
    // Only lookups matter here: other messages (inserts with large blocks) pass unvalidated.
    const m = pastProtocol.decodeIf(ctx.payload, ['lookup'])
    if (m === undefined) return true
    const body = m.body
    const hit = this.#cache.get(body.key)
    if (hit !== undefined) {
      this.#m.cacheHits.inc()
      this.#send(body.origin, 'lookupReply', { req: body.req, block: hit })
      return false
    }
    // A replica on the route answers (PAST: the lookup ends at the first replica it meets, which
    // proximity routing makes a nearby one); the reader verifies and falls back as usual.
    if (!this.#held.has(body.key.hex)) return true
    this.#m.pathHits.inc()
    this.#serve(body.origin, 'lookupReply', body.req, body.key)
    return false
  }

  deliver(msg: DeliveredMessage): void {
    this.#dispatch(msg.payload, msg.from)
  }

  readonly #dispatch = dispatcher<typeof pastProtocol.messages, NodeHandle>(
    pastProtocol,
    {
      insert: (b) => void this.#onInsert(b),
      replicate: (b, from) => {
        void this.storeLocal(b.key, b.block, { diverted: b.diverted === true }).then(
          () => b.req !== 0 && this.#send(from, 'replicateAck', { req: b.req, ok: true }),
          (err: unknown) => b.req !== 0 && this.#send(from, 'replicateAck', { req: b.req, ok: false, code: isEpostError(err) ? err.code : 'EPOST_INTERNAL' }),
        )
      },
      replicateAck: (b) => this.#answer(b.req, { name: 'replicateAck', body: b }),
      insertAck: (b) => this.#answer(b.req, { name: 'insertAck', body: b }),
      lookup: (b) => this.#serve(b.origin, 'lookupReply', b.req, b.key),
      lookupReply: (b) => this.#answer(b.req, { name: 'lookupReply', body: b }),
      handles: (b) => {
        const replicas = this.endpoint.replicaSet(b.key, Math.min(b.k, MAX_K))
        this.#send(b.origin, 'handlesReply', { req: b.req, replicas: schema.handlesToWire(replicas) })
      },
      handlesReply: (b) => this.#answer(b.req, { name: 'handlesReply', body: b }),
      fetch: (b, from) => this.#serve(from, 'fetchReply', b.req, b.key),
      fetchReply: (b) => this.#answer(b.req, { name: 'fetchReply', body: b }),
      sync: (b, from) => {
        const range = { from: b.from, to: b.to }
        void keysToOffer(this.store, range, { xor: b.xor, counts: b.counts }).then(
          (keys) => {
            this.#m.upkeepBytes.inc(keys.length)
            this.#send(from, 'syncReply', { req: b.req, keys })
          },
          (err: unknown) => {
            this.#log.warn('cannot read the store for a sync', { err })
            // Answered, so the asker's upkeep round does not wait out its timeout on us.
            this.#send(from, 'syncReply', { req: b.req, keys: new Uint8Array(0), code: isEpostError(err) ? err.code : 'EPOST_INTERNAL' })
          },
        )
      },
      syncReply: (b) => this.#answer(b.req, { name: 'syncReply', body: b }),
      cache: (b) => {
        // Verified before it is cached; only immutable content-hash blocks.
        if (this.#verified(b.key, b.block)?.kind === 'content') this.#cache.set(b.key, b.block)
      },
    },
    (err, from) => {
      this.#m.malformed.inc()
      this.#log.debug('malformed PAST message', { from: from.id, err })
    },
  )

  // ------------------------------------------------------------ upkeep (UpkeepHost)

  get k(): number {
    return this.#k
  }

  /**
   * Starts replica upkeep (periodic, and after every leaf-set change) after indexing what the
   * store already holds (a restarted node serves its blocks from the first lookup on).
   */
  async start(): Promise<void> {
    for await (const e of this.store.scan({ from: this.endpoint.localHandle.id.add(1n), to: this.endpoint.localHandle.id })) this.#held.add(e.key.hex)
    this.#upkeep.start()
  }

  stop(): void {
    this.#upkeep.stop()
  }

  /**
   * A graceful leave: before this node goes, every block it holds is offered to the nodes that
   * will be among the k closest without it, so the invariant holds at once rather than after
   * the next upkeep round. Resolves when they have answered (or timed out).
   */
  async handOff(options: { signal?: AbortSignal } = {}): Promise<number> {
    const self = this.endpoint.localHandle
    let sent = 0
    const all: Array<Promise<unknown>> = []
    for await (const e of this.store.scan({ from: self.id.add(1n), to: self.id })) {
      const bytes = await this.store.get(e.key)
      if (bytes === undefined) continue
      for (const h of this.endpoint.replicaSet(e.key, this.#k + 1)) {
        if (h.id.equals(self.id)) continue
        sent++
        all.push(this.#ask((req) => this.#send(h, 'replicate', { req, key: e.key.bytes, block: bytes }), this.#t.replicate, options.signal))
      }
    }
    await Promise.all(all)
    return sent
  }

  /** One upkeep round now (tests and scenarios). */
  upkeepRound(): Promise<void> {
    return this.#upkeep.round(true)
  }

  update(): void {
    this.#upkeep.poke()
  }

  async sync(peer: NodeHandle, range: KeyRange, digest: RangeDigest): Promise<Id[] | undefined> {
    this.#m.upkeepBytes.inc(digest.xor.length + 4 * digest.counts.length + 40)
    const r = await this.#ask((req) => this.#send(peer, 'sync', { req, from: range.from.bytes, to: range.to.bytes, xor: digest.xor, counts: digest.counts }), this.#t.lookup, undefined)
    if (r?.name !== 'syncReply') return undefined
    if (r.body.code !== undefined) {
      this.#log.debug('peer could not read its store for a sync', { peer: peer.id, code: r.body.code })
      return undefined
    }
    return keysFromWire(r.body.keys)
  }

  async drop(key: Id): Promise<void> {
    this.#held.delete(key.hex)
    await this.store.delete(key)
  }

  async pull(peer: NodeHandle, key: Id): Promise<boolean> {
    const r = await this.#ask((req) => this.#send(peer, 'fetch', { req, key: key.bytes }), this.#t.lookup, undefined)
    if (r?.name !== 'fetchReply' || r.body.block === undefined) return false
    this.#m.upkeepBytes.inc(r.body.block.length)
    try {
      await this.storeLocal(key, r.body.block)
      return true
    } catch {
      return false
    }
  }

  /**
   * The root: store, have the replica set store, then tell the inserting node how many did. A
   * replica (or the root) whose store is full is replaced by the next closest node beyond the k,
   * which keeps a diverted copy (PAST's replica diversion).
   */
  async #onInsert(b: PastBody<'insert'>): Promise<void> {
    const k = Math.min(b.k, MAX_K)
    let stored = 0
    try {
      await this.storeLocal(b.key, b.block)
      stored++
    } catch (err) {
      if (!isEpostError(err, 'EPOST_STORE_FULL')) {
        this.#send(b.origin, 'insertAck', { req: b.req, stored: 0, ok: false, code: isEpostError(err) ? err.code : 'EPOST_INTERNAL' })
        return
      }
    }
    const self = this.endpoint.localHandle
    const candidates = this.endpoint.replicaSet(b.key, k + C.DIVERT_EXTRA).filter((h) => !h.id.equals(self.id))
    const primary = candidates.slice(0, k - 1)
    const spare = candidates.slice(k - 1)
    const replicate = (h: NodeHandle, diverted: boolean): Promise<PastMessage | undefined> =>
      this.#ask((req) => this.#send(h, 'replicate', { req, key: b.key.bytes, block: b.block, ...(diverted ? { diverted: true } : {}) }), this.#t.replicate, undefined)
    const acks = await Promise.all(primary.map((h) => replicate(h, false)))
    stored += acks.filter((a) => a?.name === 'replicateAck' && a.body.ok).length
    // Divert what the full (or silent) replicas could not take to the next nodes in line.
    for (const h of spare) {
      if (stored >= k) break
      const a = await replicate(h, true)
      if (a?.name === 'replicateAck' && a.body.ok) stored++
    }
    this.#send(b.origin, 'insertAck', { req: b.req, stored, ok: stored >= k, ...(stored >= k ? {} : { code: 'EPOST_PAST_INSUFFICIENT_REPLICAS' }) })
  }

  async #fetchAll(handle: Id, signal: AbortSignal | undefined): Promise<Array<{ replica: NodeHandle; block: Block | undefined }>> {
    const hs = await this.#ask(
      (req) => this.#route(handle, 'handles', { req, origin: handleToWire(this.endpoint.localHandle), key: handle.bytes, k: this.#k + C.DIVERT_EXTRA }),
      this.#t.lookup,
      signal,
    )
    const replicas = hs?.name === 'handlesReply' ? hs.body.replicas : []
    return Promise.all(
      replicas.map(async (replica) => {
        const r = await this.#ask((req) => this.#send(replica, 'fetch', { req, key: handle.bytes }), this.#t.lookup, signal)
        const block = r?.name === 'fetchReply' && r.body.block !== undefined ? this.#verified(handle, r.body.block) : undefined
        return { replica, block }
      }),
    )
  }

  /** The block if it decodes and verifies for `handle`, else undefined (and counted). */
  #verified(handle: Id, bytes: Uint8Array): Block | undefined {
    try {
      const b = decodeBlock(bytes)
      verifyBlock(handle, b, { caPublicKey: this.#ca })
      return b
    } catch {
      this.#m.refused.inc()
      return undefined
    }
  }

  // ------------------------------------------------------------ plumbing

  #ask(send: (req: number) => void, timeoutMs: number, signal: AbortSignal | undefined): Promise<PastMessage | undefined> {
    if (signal?.aborted === true) return Promise.reject(abortError(signal))
    return new Promise((resolve, reject) => {
      const req = ++this.#req
      const onAbort = (): void => {
        this.#waiting.delete(req)
        timer.cancel()
        reject(abortError(signal))
      }
      const timer = this.#clock.setTimeout(() => {
        this.#waiting.delete(req)
        signal?.removeEventListener('abort', onAbort)
        resolve(undefined)
      }, timeoutMs)
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiting.set(req, {
        resolve: (m) => {
          timer.cancel()
          signal?.removeEventListener('abort', onAbort)
          resolve(m)
        },
      })
      send(req)
    })
  }

  #answer(req: number, m: PastMessage): void {
    const w = this.#waiting.get(req)
    if (w === undefined) return
    this.#waiting.delete(req)
    w.resolve(m)
  }

  /**
   * Answers a lookup or fetch with the block held under `key` (none if absent, or if the store
   * cannot be read: the asker then tries the next replica).
   */
  #serve(to: NodeHandle, name: 'lookupReply' | 'fetchReply', req: number, key: Id): void {
    void this.store.get(key).then(
      (block) => this.#send(to, name, { req, ...(block === undefined ? {} : { block }) }),
      (err: unknown) => {
        this.#log.warn('cannot read a block to serve it', { key, err })
        this.#send(to, name, { req })
      },
    )
  }

  #route<N extends PastMessageName>(key: Id, name: N, body: unknown): void {
    this.endpoint.route(key, pastProtocol.encode(name, body as never))
  }

  #send<N extends PastMessageName>(to: NodeHandle, name: N, body: unknown): void {
    this.endpoint.send(to, pastProtocol.encode(name, body as never))
  }
}

/** Is `a` a newer version than `b` (public-key blocks by sequence number; others never)? */
function newer(a: Block, b: Block): boolean {
  const versioned = (x: Block): boolean => x.kind === 'public-key' || x.kind === 'tombstone'
  if (!versioned(a) || !versioned(b)) return false
  const sa = (a as { seq: number }).seq
  const sb = (b as { seq: number }).seq
  // At the same sequence number the owner's deletion wins over the version it deletes.
  return sa > sb || (sa === sb && a.kind === 'tombstone' && b.kind !== 'tombstone')
}

/** Factory (STYLE.md): `past(init)(components)`. */
export function past(init: PastInit = {}): (components: PastComponents) => PastNode {
  return (components) => new PastNode(init, components)
}
