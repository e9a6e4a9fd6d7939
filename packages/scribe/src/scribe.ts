import { createMetrics, handleToWire, silentLogger } from '@epost/core'
import type { Application, Clock, Counter, DeliveredMessage, Endpoint, ForwardContext, Id, Logger, Metrics, NodeHandle, Overlay, Timer } from '@epost/core'
import { dispatcher, schema } from '@epost/codec'
import { hashToId } from '@epost/crypto'
import * as C from './constants.js'
import { SCRIBE_PROTOCOL, scribeProtocol } from './messages.js'
import type { ScribeMessageName } from './messages.js'

/** What an application subscribed to a topic is told. */
export interface ScribeClient {
  /** A message published on the topic. */
  deliver(topic: Id, payload: Uint8Array): void
  /** An anycast on the topic: return true to take it (it goes no further). */
  anycast?(topic: Id, payload: Uint8Array): boolean
  childAdded?(topic: Id, child: NodeHandle): void
  childRemoved?(topic: Id, child: NodeHandle): void
}

export interface ScribeInit {
  /** @default HEARTBEAT_MS */
  heartbeatMs?: number
  /** @default MAX_CHILDREN */
  maxChildren?: number
}

export interface ScribeComponents {
  overlay: Overlay
  clock: Clock
  logger?: Logger
  metrics?: Metrics
}

interface Topic {
  id: Id
  client: ScribeClient | undefined
  parent: NodeHandle | undefined
  root: boolean
  children: Map<string, NodeHandle>
  /** When we last heard from the parent, or asked to join. */
  heard: number
  /** Ids from the root down to our parent: we never adopt one of them (loop prevention). */
  path: Set<string>
  pathBytes: Uint8Array
}

const TOPIC_TAG = 'epost-scribe-topic/'

/** The id of a named topic: where its tree is rooted. */
export function topicId(name: string): Id {
  return hashToId(new TextEncoder().encode(TOPIC_TAG + name))
}

/**
 * Scribe (Castro et al.; FreePastry `rice/p2p/scribe`) over the common API: a topic's tree is the
 * union of the routes from its members to the topic id; a publish goes to the root and down the
 * tree. Parents send heartbeats; a child that stops hearing its parent subscribes again, keeping
 * its own subtree, so membership survives a parent's crash.
 */
export class ScribeNode implements Application {
  readonly endpoint: Endpoint
  readonly #clock: Clock
  readonly #log: Logger
  readonly #heartbeatMs: number
  readonly #maxChildren: number
  readonly #topics = new Map<string, Topic>()
  readonly #m: { delivered: Counter; published: Counter; resubscribed: Counter; malformed: Counter }
  #timer: Timer | undefined

  constructor(init: ScribeInit, c: ScribeComponents) {
    this.#clock = c.clock
    this.#heartbeatMs = init.heartbeatMs ?? C.HEARTBEAT_MS
    this.#maxChildren = init.maxChildren ?? C.MAX_CHILDREN
    const metrics = c.metrics ?? createMetrics()
    this.#m = {
      delivered: metrics.counter('epost_scribe_delivered_total'),
      published: metrics.counter('epost_scribe_published_total'),
      resubscribed: metrics.counter('epost_scribe_resubscribed_total'),
      malformed: metrics.counter('epost_scribe_malformed_total'),
    }
    this.endpoint = c.overlay.register(SCRIBE_PROTOCOL, this)
    this.#log = (c.logger ?? silentLogger).forComponent('epost:scribe').child({ node: this.endpoint.localHandle.id.short() })
  }

  /** Starts heartbeats and parent checks. */
  start(): void {
    if (this.#timer !== undefined) return
    const tick = (): void => {
      this.#maintain()
      this.#timer = this.#clock.setTimeout(tick, this.#heartbeatMs)
    }
    this.#timer = this.#clock.setTimeout(tick, this.#heartbeatMs)
  }

  stop(): void {
    this.#timer?.cancel()
    this.#timer = undefined
  }

  // ------------------------------------------------------------ client API

  subscribe(topic: Id, client: ScribeClient): void {
    const t = this.#topic(topic)
    t.client = client
    if (t.parent === undefined && !t.root) this.#join(t)
  }

  unsubscribe(topic: Id): void {
    const t = this.#topics.get(topic.hex)
    if (t === undefined) return
    t.client = undefined
    this.#prune(t)
  }

  publish(topic: Id, payload: Uint8Array): void {
    this.#m.published.inc()
    this.#route(topic, 'publish', { topic: topic.bytes, payload })
  }

  anycast(topic: Id, payload: Uint8Array): void {
    this.#route(topic, 'anycast', { topic: topic.bytes, payload, visited: schema.handlesToWire([]) })
  }

  /** Tree state, for tests, scenarios and metrics. */
  info(topic: Id): { parent: NodeHandle | undefined; children: NodeHandle[]; root: boolean; member: boolean } | undefined {
    const t = this.#topics.get(topic.hex)
    if (t === undefined) return undefined
    return { parent: t.parent, children: [...t.children.values()], root: t.root, member: t.client !== undefined }
  }

  // ------------------------------------------------------------ overlay upcalls

  forward(ctx: ForwardContext): boolean {
    const m = scribeProtocol.decodeIf(ctx.payload, ['subscribe', 'anycast'])
    if (m === undefined) return true
    const self = this.endpoint.localHandle
    if (m.name === 'subscribe') {
      const b = m.body
      if (b.subscriber.id.equals(self.id) || ctx.nextHop === undefined) return true
      const t = this.#topics.get(b.topic.hex)
      // Only a node connected to the root (the root, or one with a parent) can take a subtree in.
      const inTree = t !== undefined && (t.root || t.parent !== undefined)
      const full = t !== undefined && t.children.size >= this.#maxChildren
      if (full) return true // pass it on toward the root
      if (t !== undefined && t.path.has(b.subscriber.id.hex)) return true // our own ancestor: adopting it would close a loop
      const topic = t ?? this.#topic(b.topic)
      this.#adopt(topic, b.subscriber)
      if (inTree) return false
      // Not in the tree yet: join it ourselves, on behalf of the new subtree.
      topic.heard = this.#clock.now()
      ctx.payload = scribeProtocol.encode('subscribe', { topic: b.topic.bytes, subscriber: handleToWire(self) })
      return true
    }
    if (m.name === 'anycast' && ctx.hops > 0) {
      const t = this.#topics.get(m.body.topic.hex)
      if (t?.client?.anycast?.(m.body.topic, m.body.payload) === true) return false
    }
    return true
  }

  deliver(msg: DeliveredMessage): void {
    this.#dispatch(msg.payload, msg.from)
  }

  /** Our leaf set changed: a topic we are root of may now belong to a closer node. */
  update(): void {
    for (const t of this.#topics.values()) {
      if (!t.root) continue
      const root = this.endpoint.replicaSet(t.id, 1)[0]
      if (root !== undefined && !root.id.equals(this.endpoint.localHandle.id)) {
        t.root = false
        this.#join(t)
      }
    }
  }

  readonly #dispatch = dispatcher<typeof scribeProtocol.messages, NodeHandle>(
    scribeProtocol,
    {
      subscribe: (b) => {
        // Delivered: this node is the root of the topic.
        const t = this.#topic(b.topic)
        if (t.parent !== undefined) this.#send(t.parent, 'unsubscribe', { topic: b.topic.bytes })
        t.root = true
        t.parent = undefined
        t.path = new Set()
        t.pathBytes = new Uint8Array()
        if (!b.subscriber.id.equals(this.endpoint.localHandle.id)) this.#adopt(t, b.subscriber)
      },
      subscribeAck: (b, from) => {
        const t = this.#topics.get(b.topic.hex)
        const ids = new Set<string>()
        for (let i = 0; i + 16 <= b.path.length; i += 16) ids.add(Buffer.from(b.path.subarray(i, i + 16)).toString('hex'))
        const self = this.endpoint.localHandle.id.hex
        // Not wanted any more, or the new parent hangs below us (a loop): decline it.
        if (t === undefined || ids.has(self) || t.root) {
          this.#send(from, 'unsubscribe', { topic: b.topic.bytes })
          return
        }
        if (t.parent !== undefined && !t.parent.id.equals(from.id)) this.#send(t.parent, 'unsubscribe', { topic: b.topic.bytes })
        t.parent = from
        t.path = ids
        t.pathBytes = b.path
        t.heard = this.#clock.now()
      },
      unsubscribe: (b, from) => {
        const t = this.#topics.get(b.topic.hex)
        if (t === undefined || !t.children.delete(from.id.hex)) return
        t.client?.childRemoved?.(t.id, from)
        this.#prune(t)
      },
      publish: (b) => {
        const t = this.#topic(b.topic)
        t.root = true
        this.#disseminate(t, b.payload)
      },
      multicast: (b, from) => {
        const t = this.#topics.get(b.topic.hex)
        if (t === undefined) {
          this.#send(from, 'unsubscribe', { topic: b.topic.bytes })
          return
        }
        if (t.parent === undefined || !t.parent.id.equals(from.id)) return // not (or no longer) our parent
        t.heard = this.#clock.now()
        this.#disseminate(t, b.payload)
      },
      heartbeat: (b, from) => {
        for (const topic of b.topics) {
          const t = this.#topics.get(topic.hex)
          if (t?.parent?.id.equals(from.id) === true) t.heard = this.#clock.now()
          else this.#send(from, 'unsubscribe', { topic: topic.bytes })
        }
      },
      anycast: (b) => {
        // At the root (routed) or passed down (direct): take it, or hand it to an unvisited child.
        const t = this.#topics.get(b.topic.hex)
        if (t?.client?.anycast?.(b.topic, b.payload) === true) return
        if (t === undefined) return
        const visited = new Set(b.visited.map((h) => h.id.hex))
        visited.add(this.endpoint.localHandle.id.hex)
        const next = [...t.children.values()].find((c) => !visited.has(c.id.hex))
        if (next === undefined) return
        this.#send(next, 'anycast', { topic: b.topic.bytes, payload: b.payload, visited: schema.handlesToWire([...b.visited, this.endpoint.localHandle]) })
      },
    },
    (err, from) => {
      this.#m.malformed.inc()
      this.#log.debug('malformed scribe message', { from: from.id, err })
    },
  )

  // ------------------------------------------------------------ tree upkeep

  #topic(id: Id): Topic {
    let t = this.#topics.get(id.hex)
    if (t === undefined) {
      t = { id, client: undefined, parent: undefined, root: false, children: new Map(), heard: this.#clock.now(), path: new Set(), pathBytes: new Uint8Array() }
      this.#topics.set(id.hex, t)
    }
    return t
  }

  #adopt(t: Topic, child: NodeHandle): void {
    const isNew = !t.children.has(child.id.hex)
    t.children.set(child.id.hex, child)
    const path = new Uint8Array(t.pathBytes.length + 16)
    path.set(t.pathBytes)
    path.set(this.endpoint.localHandle.id.bytes, t.pathBytes.length)
    this.#send(child, 'subscribeAck', { topic: t.id.bytes, path: t.root ? this.endpoint.localHandle.id.bytes : path })
    if (isNew) t.client?.childAdded?.(t.id, child)
  }

  #join(t: Topic): void {
    t.heard = this.#clock.now()
    this.#route(t.id, 'subscribe', { topic: t.id.bytes, subscriber: handleToWire(this.endpoint.localHandle) })
  }

  /** Leaves the tree when nothing here needs it any more. */
  #prune(t: Topic): void {
    if (t.client !== undefined || t.children.size > 0 || t.root) return
    if (t.parent !== undefined) this.#send(t.parent, 'unsubscribe', { topic: t.id.bytes })
    this.#topics.delete(t.id.hex)
  }

  #disseminate(t: Topic, payload: Uint8Array): void {
    if (t.client !== undefined) {
      this.#m.delivered.inc()
      t.client.deliver(t.id, payload)
    }
    for (const c of t.children.values()) this.#send(c, 'multicast', { topic: t.id.bytes, payload })
  }

  /** Heartbeats to children; re-subscription when a parent went quiet. */
  #maintain(): void {
    const now = this.#clock.now()
    const perChild = new Map<string, { h: NodeHandle; topics: Uint8Array[] }>()
    for (const t of this.#topics.values()) {
      for (const c of t.children.values()) {
        let e = perChild.get(c.id.hex)
        if (e === undefined) perChild.set(c.id.hex, (e = { h: c, topics: [] }))
        e.topics.push(t.id.bytes)
      }
      if (t.root) continue
      if (now - t.heard > C.MISSED_HEARTBEATS * this.#heartbeatMs) {
        this.#m.resubscribed.inc()
        t.parent = undefined
        t.path = new Set()
        t.pathBytes = new Uint8Array()
        this.#join(t)
      }
    }
    for (const { h, topics } of perChild.values()) this.#send(h, 'heartbeat', { topics })
  }

  #route<N extends ScribeMessageName>(key: Id, name: N, body: unknown): void {
    this.endpoint.route(key, scribeProtocol.encode(name, body as never))
  }

  #send<N extends ScribeMessageName>(to: NodeHandle, name: N, body: unknown): void {
    this.endpoint.send(to, scribeProtocol.encode(name, body as never))
  }
}

export function scribe(init: ScribeInit = {}): (components: ScribeComponents) => ScribeNode {
  return (components) => new ScribeNode(init, components)
}
