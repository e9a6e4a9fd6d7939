import { EpostError, abortError, handleToWire } from '@epost/core'
import type { Application, DeliveredMessage, ForwardContext, NodeHandle, WireHandle } from '@epost/core'
import { pack, schema, unpack } from '@epost/codec'
import * as C from './constants.js'
import { MAX_HANDLES } from './messages.js'
import type { MessageBody } from './messages.js'
import type { PastryNode } from './node.js'

const { v } = schema

/** The join request rides the ordinary route machinery under this protocol id. */
export const JOIN_PROTOCOL = 'epost/pastry/join/1'

/** A join request for `joiner`, before any hop has added its row (the body of `joinRequest` and of the routed join). */
export function joinRequestBody(joiner: NodeHandle): { joiner: WireHandle; rows: [Uint8Array, string[]] } {
  return { joiner: handleToWire(joiner), rows: schema.handlesToWire([]) }
}

const MAX_JOIN_ROWS = 512
const joinPayload = v.object({ joiner: schema.handle, rows: schema.handleList(MAX_JOIN_ROWS) })

/**
 * Join (Pastry §2.4 with FreePastry's consistent join): the request is routed to the joiner's
 * id; every hop adds its routing-table rows up to the prefix it shares with the joiner; the root
 * replies with its leaf set. The joiner probes every candidate (authenticating it and measuring
 * proximity), converges its leaf set, sends hello to each leaf-set member and becomes ready once
 * they have taken it in.
 */
export class JoinApp implements Application {
  readonly #node: PastryNode
  #waiting: ((reply: MessageBody<'joinReply'>) => void) | undefined
  /** Candidates this join attempt already probed (each once per attempt; probeAndAdmit adds to it). */
  readonly #probed = new Set<string>()

  constructor(node: PastryNode) {
    this.#node = node
  }

  // --- as an application on the route path

  forward(ctx: ForwardContext): boolean {
    const p = this.#decode(ctx.payload)
    if (p === undefined) return false
    const node = this.#node
    if (p.joiner.id.equals(node.localHandle.id)) return false
    // A node rejoining under its old id (a restart) is still in others' tables: its own join
    // request must go to the closest *other* node, never back to it.
    if (ctx.nextHop?.id.equals(p.joiner.id) === true) ctx.nextHop = node.nextHop(ctx.key, new Set([p.joiner.id.hex]))
    // Hop i shares at least i digits with the joiner: its row at that depth is the joiner's row
    // (Pastry §2.4: row i from the i-th node on the path), and near the joiner in the network
    // because each hop picked a proximally close next hop.
    const row = node.localHandle.id.sharedPrefixLength(p.joiner.id, node.b)
    const rows = [...p.rows, node.localHandle]
    if (row < node.table.rows) for (const e of node.table.row(row)) rows.push(e.handle)
    ctx.payload = pack({ joiner: handleToWire(p.joiner), rows: schema.handlesToWire(rows.slice(0, MAX_JOIN_ROWS)) })
    return true
  }

  deliver(msg: DeliveredMessage): void {
    const p = this.#decode(msg.payload)
    if (p === undefined) return
    const node = this.#node
    if (p.joiner.id.equals(node.localHandle.id)) return
    node.sendControl(p.joiner, 'joinReply', {
      root: handleToWire(node.localHandle),
      leafSet: schema.handlesToWire(node.leafSet.members()),
      rows: schema.handlesToWire(p.rows.slice(0, MAX_HANDLES)),
    })
  }

  #decode(payload: Uint8Array): { joiner: NodeHandle; rows: NodeHandle[] } | undefined {
    try {
      const r = v.safeParse(joinPayload, unpack(payload))
      return r.success ? r.output : undefined
    } catch {
      return undefined
    }
  }

  // --- as the bootstrap node

  onJoinRequest(from: NodeHandle, body: MessageBody<'joinRequest'>): void {
    const node = this.#node
    if (!body.joiner.id.equals(from.id)) {
      // Someone asks us to route a join for an id that is not the one it authenticated as.
      node.metrics.counter('epost_pastry_forged_total').inc()
      return
    }
    if (!node.ready) return
    node.route(body.joiner.id, JOIN_PROTOCOL, pack(joinRequestBody(from)))
  }

  onJoinReply(from: NodeHandle, body: MessageBody<'joinReply'>): void {
    // The root answers for itself: a reply that names another node as root is forged.
    if (!body.root.id.equals(from.id)) {
      this.#node.metrics.counter('epost_pastry_forged_total').inc()
      return
    }
    if (this.#waiting !== undefined) {
      this.#waiting(body)
      return
    }
    // A reply to a partition check: the other side's nodes near us.
    if (this.#node.ready) this.#node.membership.offer([body.root, ...body.leafSet, ...body.rows])
  }

  // --- as the joiner

  async run(bootstraps: readonly NodeHandle[], signal: AbortSignal | undefined): Promise<void> {
    const node = this.#node
    let backoff = node.joinTimeoutMs
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted === true) throw abortError(signal)
      // Each attempt probes afresh: a candidate silent in the last one may answer now.
      this.#probed.clear()
      const boot = await this.#nearest(bootstraps)
      if (boot !== undefined) {
        const reply = await this.#request(boot, node.joinTimeoutMs, signal)
        if (reply !== undefined) {
          await this.#converge([reply.root, ...reply.leafSet, ...reply.rows])
          if (node.leafSet.size > 0) {
            await this.#greet()
            node.becomeReady()
            return
          }
        }
      }
      if (attempt >= 8) throw new EpostError('EPOST_OVERLAY_JOIN_FAILED', `could not join through ${bootstraps.length} bootstrap node(s); check that they are running and reachable`)
      await node.clock.sleep(backoff, { signal })
      backoff = Math.min(backoff * 2, C.JOIN_MAX_BACKOFF_MS)
    }
  }

  /** The bootstrap that answers a probe first (proximity), among those that are ready. */
  async #nearest(bootstraps: readonly NodeHandle[]): Promise<NodeHandle | undefined> {
    const node = this.#node
    if (bootstraps.length === 1) return bootstraps[0]
    const replies = await Promise.all(bootstraps.map(async (h) => ({ h, r: await node.probe(h, false) })))
    const live = replies.filter((x) => x.r?.ready === true)
    live.sort((a, b) => (node.liveness.rtt(a.h.id) ?? Infinity) - (node.liveness.rtt(b.h.id) ?? Infinity))
    return live[0]?.h
  }

  #request(boot: NodeHandle, timeoutMs: number, signal: AbortSignal | undefined): Promise<MessageBody<'joinReply'> | undefined> {
    const node = this.#node
    return new Promise((resolve) => {
      const finish = (r: MessageBody<'joinReply'> | undefined): void => {
        this.#waiting = undefined
        timer.cancel()
        signal?.removeEventListener('abort', onAbort)
        resolve(r)
      }
      const onAbort = (): void => finish(undefined)
      const timer = node.clock.setTimeout(() => finish(undefined), timeoutMs)
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiting = finish
      node.sendControl(boot, 'joinRequest', joinRequestBody(node.localHandle), () => finish(undefined))
    })
  }

  /** Probes candidates round by round until no closer leaf-set member turns up. */
  async #converge(candidates: NodeHandle[]): Promise<void> {
    const node = this.#node
    const fresh = (h: NodeHandle): boolean => !this.#probed.has(h.id.hex) && !node.leafSet.has(h.id)
    let next = candidates.filter(fresh)
    for (let round = 0; round < C.JOIN_MAX_ROUNDS && next.length > 0; round++) {
      const more = await node.membership.probeAndAdmit(next, this.#probed)
      next = more.filter((h) => fresh(h) && node.leafSet.wants(h.id))
    }
  }

  /**
   * Hello to every leaf-set member that our join probes (which say hello too) did not reach; new
   * members their answers reveal are probed and greeted too.
   */
  async #greet(): Promise<void> {
    const node = this.#node
    const greeted = new Set<string>(this.#probed)
    for (let round = 0; round < C.JOIN_MAX_ROUNDS; round++) {
      const todo = node.leafSet.members().filter((h) => !greeted.has(h.id.hex))
      if (todo.length === 0) return
      for (const h of todo) greeted.add(h.id.hex)
      const answers = await Promise.all(todo.map((h) => node.hello(h)))
      const revealed = answers.flatMap((a) => a ?? []).filter((h) => node.leafSet.wants(h.id))
      if (revealed.length > 0) await this.#converge(revealed)
    }
  }
}
