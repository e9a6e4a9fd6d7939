import { createMetrics, handleToWire, silentLogger } from '@epost/core'
import type { Application, Clock, Counter, DeliveredMessage, Endpoint, ForwardContext, Id, Logger, Metrics, NodeHandle, Overlay, Timer } from '@epost/core'
import { dispatcher } from '@epost/codec'
import { concatBytes, equalBytes, hashToId } from '@epost/crypto'
import * as C from './constants.js'
import { SCRIBE_PROTOCOL, scribeProtocol } from './messages.js'
import type { ScribeBody, ScribeMessageName } from './messages.js'
import { Topic, pathIds } from './topic.js'
import { AnycastWalk, nearestFirst } from './anycast.js'
import type { AnycastPolicy } from './anycast.js'

/** What an application subscribed to a topic is told. */
export interface ScribeClient {
  /** A message published on the topic (each one once, even across repairs). */
  deliver(topic: Id, payload: Uint8Array): void
  /** An anycast on the topic: return true to take it (it goes no further). */
  anycast?(topic: Id, payload: Uint8Array): boolean
  childAdded?(topic: Id, child: NodeHandle): void
  childRemoved?(topic: Id, child: NodeHandle): void
  /**
   * SUBSCRIBE_RETRIES subscribes in a row went unacknowledged (no route to the root, or the
   * ring is partitioned). Scribe keeps trying once per heartbeat period; unsubscribe to stop.
   */
  subscribeFailed?(topic: Id): void
}

export interface ScribeInit {
  /** @default HEARTBEAT_MS */
  heartbeatMs?: number
  /** Fan-out cap per topic; a full node passes subscribers toward the root (the root pushes them down). @default MAX_CHILDREN */
  maxChildren?: number
  /** @default nearestFirst */
  anycastPolicy?: AnycastPolicy
}

export interface ScribeComponents {
  overlay: Overlay
  clock: Clock
  /** Measured round trip to a node, if known (Pastry: `node.liveness.rtt(h.id)`); orders anycast. */
  proximity?: (h: NodeHandle) => number | undefined
  logger?: Logger
  metrics?: Metrics
}

const TOPIC_TAG = 'epost-scribe-topic/'

/** The id of a named topic: where its tree is rooted. */
export function topicId(name: string): Id {
  return hashToId(new TextEncoder().encode(TOPIC_TAG + name))
}

const KEY_TAG = 'epost-scribe-key/'

/**
 * The topic of a public key (POST presence and notifications): a user's daemon subscribes to the
 * topic of its own key; others publish notifications to it, or anycast to see whether it is online.
 */
export function keyTopic(publicKey: Uint8Array): Id {
  return hashToId(concatBytes(new TextEncoder().encode(KEY_TAG), publicKey))
}

type Ctx = { from: NodeHandle; routed: boolean }

/**
 * Scribe (Castro et al.; FreePastry `rice/p2p/scribe`) over the common API: a topic's tree is the
 * union of the routes from its members to the topic id; a publish goes to the root and down the
 * tree. Parents send heartbeats and children answer them; a child that stops hearing its parent
 * subscribes again, keeping its own subtree, so membership survives a parent's crash; what it
 * missed meanwhile is replayed by its new parent from the topic's recent messages.
 */
export class ScribeNode implements Application {
  readonly endpoint: Endpoint
  readonly #clock: Clock
  readonly #log: Logger
  readonly #heartbeatMs: number
  readonly #maxChildren: number
  readonly #topics = new Map<string, Topic>()
  readonly #anycasts: AnycastWalk
  readonly #m: Record<'delivered' | 'published' | 'resubscribed' | 'malformed' | 'duplicates' | 'replayed' | 'subscribeFailed', Counter>
  #timer: Timer | undefined
  #lastBeat = -Infinity
  #seq = 0
  #pushRound = 0

  constructor(init: ScribeInit, c: ScribeComponents) {
    this.#clock = c.clock
    this.#heartbeatMs = init.heartbeatMs ?? C.HEARTBEAT_MS
    this.#maxChildren = init.maxChildren ?? C.MAX_CHILDREN
    const metrics = c.metrics ?? createMetrics()
    const counter = (name: string): Counter => metrics.counter(`epost_scribe_${name}_total`)
    this.#m = {
      delivered: counter('delivered'),
      published: counter('published'),
      resubscribed: counter('resubscribed'),
      malformed: counter('malformed'),
      duplicates: counter('duplicates'),
      replayed: counter('replayed'),
      subscribeFailed: counter('subscribe_failed'),
    }
    this.endpoint = c.overlay.register(SCRIBE_PROTOCOL, this)
    this.#anycasts = new AnycastWalk(this.endpoint.localHandle, c.clock, init.anycastPolicy ?? nearestFirst, c.proximity ?? (() => undefined), (to, name, body) => this.#send(to, name, body))
    this.#log = (c.logger ?? silentLogger).forComponent('epost:scribe').child({ node: this.endpoint.localHandle.id.short() })
  }

  /** Starts heartbeats, parent checks, subscribe retries and child expiry. */
  start(): void {
    if (this.#timer !== undefined) return
    const every = this.#heartbeatMs / C.CHECKS_PER_HEARTBEAT
    const tick = (): void => {
      this.#maintain()
      this.#timer = this.#clock.setTimeout(tick, every)
    }
    this.#timer = this.#clock.setTimeout(tick, every)
  }

  stop(): void {
    this.#timer?.cancel()
    this.#timer = undefined
    this.#anycasts.stop()
  }

  // ------------------------------------------------------------ client API

  subscribe(topic: Id, client: ScribeClient): void {
    const t = this.#topic(topic)
    t.client = client
    if (!t.attached && t.waiting === undefined) this.#join(t)
  }

  unsubscribe(topic: Id): void {
    const t = this.#topics.get(topic.hex)
    if (t === undefined) return
    t.client = undefined
    this.#prune(t)
  }

  publish(topic: Id, payload: Uint8Array): void {
    this.#m.published.inc()
    const mid = `${this.endpoint.localHandle.id.hex}/${this.#clock.now()}/${++this.#seq}`
    this.#route(topic, 'publish', { topic: topic.bytes, mid, payload })
  }

  /**
   * To one member whose client takes it, nearest first (the walk starts where the route meets the
   * tree). `onFailed` runs if every member declined or none could be reached.
   */
  anycast(topic: Id, payload: Uint8Array, onFailed?: (topic: Id, payload: Uint8Array) => void): void {
    this.#route(topic, 'anycast', this.#anycasts.begin(topic, ++this.#seq, payload, onFailed))
  }

  /** Tree state, for tests, scenarios and metrics. */
  info(topic: Id): { parent: NodeHandle | undefined; children: NodeHandle[]; root: boolean; member: boolean; subscribing: boolean } | undefined {
    const t = this.#topics.get(topic.hex)
    if (t === undefined) return undefined
    return { parent: t.parent, children: [...t.children.values()].map((c) => c.handle), root: t.root, member: t.client !== undefined, subscribing: t.waiting !== undefined }
  }

  // ------------------------------------------------------------ overlay upcalls

  forward(ctx: ForwardContext): boolean {
    const m = scribeProtocol.decodeIf(ctx.payload, ['subscribe', 'anycast'])
    if (m === undefined || ctx.nextHop === undefined) return true
    if (m.name === 'anycast') {
      if (ctx.hops === 0) return true
      const t = this.#topics.get(m.body.topic.hex)
      if (t === undefined) return true
      // The route met the tree: the walk starts here, nearest to the source.
      this.#anycasts.step(t, m.body)
      return false
    }
    const b = m.body
    if (b.subscriber.id.equals(this.endpoint.localHandle.id)) return true
    const t = this.#topics.get(b.topic.hex)
    if (t !== undefined && this.#full(t, b.subscriber)) return true // full: on toward the root
    if (t?.path.has(b.subscriber.id.hex) === true) return true // our own ancestor: adopting it would close a loop
    if (b.avoid !== undefined && t?.path.has(b.avoid.hex) === true) return true // below the subscriber's lost parent: cut off as well
    const topic = t ?? this.#topic(b.topic)
    this.#adopt(topic, b.subscriber, b.known)
    // Not in the tree yet: join it ourselves, on behalf of the new subtree.
    if (!topic.attached && topic.waiting === undefined) this.#join(topic)
    return false
  }

  deliver(msg: DeliveredMessage): void {
    this.#dispatch(msg.payload, { from: msg.from, routed: msg.key !== undefined })
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

  readonly #dispatch = dispatcher<typeof scribeProtocol.messages, Ctx>(
    scribeProtocol,
    {
      subscribe: (b, { routed }) => {
        if (routed) {
          // Delivered: this node is the root of the topic.
          const t = this.#topic(b.topic)
          this.#becomeRoot(t)
          if (!b.subscriber.id.equals(this.endpoint.localHandle.id)) this.#takeOrPushDown(t, b)
          return
        }
        // Pushed down to us by a full parent. If we cannot take it (we left the tree, or it is our
        // ancestor), the subscriber's retry finds another place. (`avoid` was checked by the parent
        // that pushed it: our stored path may still name a failed root.)
        const t = this.#topics.get(b.topic.hex)
        if (t === undefined || !t.attached || t.path.has(b.subscriber.id.hex) || b.subscriber.id.equals(this.endpoint.localHandle.id)) return
        this.#takeOrPushDown(t, b)
      },
      subscribeAck: (b, { from }) => {
        // From a new parent (we asked to join), or from our parent with its new path from the root.
        const t = this.#topics.get(b.topic.hex)
        const fromParent = t?.isParent(from) === true
        const path = pathIds(b.path)
        if (t === undefined || t.root || path.has(this.endpoint.localHandle.id.hex)) {
          // Not wanted any more, or the parent hangs below us: a loop. Leave it and join afresh.
          this.#send(from, 'unsubscribe', { topic: b.topic.bytes })
          if (t !== undefined && fromParent) {
            t.detach(this.#clock.now())
            this.#join(t)
          }
          return
        }
        if (t.parent !== undefined && !fromParent) this.#send(t.parent, 'unsubscribe', { topic: b.topic.bytes })
        // Children need our path again only if it changed (a repeated ack would echo down the subtree).
        const changed = !fromParent || !equalBytes(t.pathBytes, b.path)
        t.setParent(from, b.path, this.#clock.now(), path)
        t.waiting = undefined
        if (changed) this.#pushPath(t)
      },
      unsubscribe: (b, { from }) => {
        const t = this.#topics.get(b.topic.hex)
        if (t === undefined) return
        if (t.children.delete(from.id.hex)) {
          t.client?.childRemoved?.(t.id, from)
          this.#prune(t)
        }
      },
      publish: (b) => {
        const t = this.#topic(b.topic)
        this.#becomeRoot(t)
        this.#disseminate(t, b.mid, 0, b.payload)
      },
      multicast: (b, { from }) => {
        const t = this.#topics.get(b.topic.hex)
        if (t === undefined) {
          this.#send(from, 'unsubscribe', { topic: b.topic.bytes })
          return
        }
        if (!t.isParent(from)) return // not (or no longer) our parent
        t.heard = this.#clock.now()
        this.#disseminate(t, b.mid, b.age, b.payload)
      },
      heartbeat: (b, { from }) => {
        const mine: Uint8Array[] = []
        for (const topic of b.topics) {
          const t = this.#topics.get(topic.hex)
          if (t?.isParent(from) === true) {
            t.heard = this.#clock.now()
            mine.push(topic.bytes)
          } else this.#send(from, 'unsubscribe', { topic: topic.bytes })
        }
        if (mine.length > 0) this.#send(from, 'heartbeatAck', { topics: mine })
      },
      heartbeatAck: (b, { from }) => {
        const now = this.#clock.now()
        for (const topic of b.topics) {
          const c = this.#topics.get(topic.hex)?.children.get(from.id.hex)
          if (c !== undefined) c.heard = now
        }
      },
      anycast: (b) => {
        const t = this.#topics.get(b.topic.hex)
        if (t !== undefined) this.#anycasts.step(t, b)
        else this.#anycasts.next(b)
      },
      anycastFailed: (b) => this.#anycasts.failed(b.topic, b.nonce),
    },
    (err, { from }) => {
      this.#m.malformed.inc()
      this.#log.debug('malformed scribe message', { from: from.id, err })
    },
  )

  // ------------------------------------------------------------ tree upkeep

  #topic(id: Id): Topic {
    let t = this.#topics.get(id.hex)
    if (t === undefined) {
      t = new Topic(id, this.#clock.now())
      this.#topics.set(id.hex, t)
    }
    return t
  }

  #becomeRoot(t: Topic): void {
    if (t.root) return
    if (t.parent !== undefined) this.#send(t.parent, 'unsubscribe', { topic: t.id.bytes })
    t.detach(this.#clock.now())
    t.root = true
    t.waiting = undefined
    this.#pushPath(t)
  }

  /** Our children's paths run through us: tell them our new one (a loop shows up at once). */
  #pushPath(t: Topic): void {
    this.#sendAll(t, 'subscribeAck', { topic: t.id.bytes, path: this.#pathFor(t) })
  }

  /** A full node hands the subscriber to one of its children (round robin); others adopt it. */
  #takeOrPushDown(t: Topic, b: ScribeBody<'subscribe'>): void {
    if (!this.#full(t, b.subscriber)) {
      this.#adopt(t, b.subscriber, b.known)
      return
    }
    // Children that answered the last heartbeat first: a crashed one would swallow the subscribe.
    const now = this.#clock.now()
    const kids = [...t.children.values()].filter((c) => !c.handle.id.equals(b.subscriber.id) && b.avoid?.equals(c.handle.id) !== true)
    const fresh = kids.filter((c) => now - c.heard <= 1.25 * this.#heartbeatMs)
    const pool = fresh.length > 0 ? fresh : kids
    const to = pool[this.#pushRound++ % pool.length]
    if (to === undefined) this.#adopt(t, b.subscriber, b.known)
    else this.#send(to.handle, 'subscribe', { topic: t.id.bytes, subscriber: handleToWire(b.subscriber), known: b.known, avoid: b.avoid?.bytes })
  }

  /** No room for `subscriber` here: the fan-out cap is reached by other children (one already ours is kept). */
  #full(t: Topic, subscriber: NodeHandle): boolean {
    return t.children.size >= this.#maxChildren && !t.children.has(subscriber.id.hex)
  }

  /** Takes `child` in, acknowledges with our path, and replays the recent messages it lacks. */
  #adopt(t: Topic, child: NodeHandle, known: readonly string[]): void {
    const now = this.#clock.now()
    const isNew = !t.children.has(child.id.hex)
    t.children.set(child.id.hex, { handle: child, heard: now })
    this.#send(child, 'subscribeAck', { topic: t.id.bytes, path: this.#pathFor(t) })
    for (const m of t.missing(known, now)) {
      this.#m.replayed.inc()
      this.#send(child, 'multicast', { topic: t.id.bytes, mid: m.mid, age: m.age, payload: m.payload })
    }
    if (isNew) t.client?.childAdded?.(t.id, child)
  }

  /** Our path from the root, ourselves included (what a child is told). */
  #pathFor(t: Topic): Uint8Array {
    const self = this.endpoint.localHandle.id.bytes
    return t.root ? self : concatBytes(t.pathBytes, self)
  }

  /** Subscribes (again); `avoid`: the parent we lost, whose subtree must not adopt us. */
  #join(t: Topic, avoid?: Id): void {
    const now = this.#clock.now()
    t.heard = now
    if (t.waiting === undefined) t.waiting = { since: now, attempts: 0, reported: false, avoid }
    else {
      t.waiting.since = now
      t.waiting.attempts++
    }
    const { avoid: lost } = t.waiting
    this.#route(t.id, 'subscribe', { topic: t.id.bytes, subscriber: handleToWire(this.endpoint.localHandle), known: t.known(), avoid: lost?.bytes })
  }

  /** Leaves the tree when nothing here needs it any more. */
  #prune(t: Topic): void {
    if (t.client !== undefined || t.children.size > 0 || t.root) return
    if (t.parent !== undefined) this.#send(t.parent, 'unsubscribe', { topic: t.id.bytes })
    this.#topics.delete(t.id.hex)
  }

  /** `age`: how long ago the root took the publish in (keeps every node's replay window aligned). */
  #disseminate(t: Topic, mid: string, age: number, payload: Uint8Array): void {
    const now = this.#clock.now()
    if (!t.remember(mid, payload, now - age, now)) {
      this.#m.duplicates.inc()
      return
    }
    if (t.client !== undefined) {
      this.#m.delivered.inc()
      t.client.deliver(t.id, payload)
    }
    this.#sendAll(t, 'multicast', { topic: t.id.bytes, mid, age, payload })
  }

  #maintain(): void {
    const now = this.#clock.now()
    const beat = now - this.#lastBeat >= this.#heartbeatMs - 1
    if (beat) this.#lastBeat = now
    const perChild = new Map<string, { h: NodeHandle; topics: Uint8Array[] }>()
    for (const t of [...this.#topics.values()]) {
      t.expire(now)
      for (const [key, c] of t.children) {
        if (now - c.heard > C.CHILD_TIMEOUT_HEARTBEATS * this.#heartbeatMs) {
          t.children.delete(key)
          t.client?.childRemoved?.(t.id, c.handle)
          continue
        }
        if (!beat) continue
        let e = perChild.get(key)
        if (e === undefined) perChild.set(key, (e = { h: c.handle, topics: [] }))
        e.topics.push(t.id.bytes)
      }
      if (t.root) continue
      if (t.client === undefined && t.children.size === 0) this.#prune(t)
      else if (t.waiting !== undefined) this.#retry(t, now)
      else if (now - t.heard > C.PARENT_TIMEOUT_HEARTBEATS * this.#heartbeatMs) {
        // The parent went quiet: subscribe again, keeping our subtree.
        this.#m.resubscribed.inc()
        const lost = t.parent
        t.detach(now)
        this.#join(t, lost?.id)
      }
    }
    for (const { h, topics } of perChild.values()) this.#send(h, 'heartbeat', { topics })
  }

  #retry(t: Topic, now: number): void {
    const w = t.waiting
    if (w === undefined) return
    const wait = Math.min(Math.min(C.SUBSCRIBE_TIMEOUT_MS, this.#heartbeatMs / 3) * 2 ** w.attempts, this.#heartbeatMs)
    if (now - w.since < wait) return
    if (w.attempts + 1 >= C.SUBSCRIBE_RETRIES && !w.reported) {
      w.reported = true
      this.#m.subscribeFailed.inc()
      this.#log.info('subscribe unacknowledged, still trying', { topic: t.id, attempts: w.attempts + 1 })
      t.client?.subscribeFailed?.(t.id)
    }
    this.#join(t)
  }

  #route<N extends ScribeMessageName>(key: Id, name: N, body: unknown): void {
    this.endpoint.route(key, scribeProtocol.encode(name, body as never))
  }

  #send<N extends ScribeMessageName>(to: NodeHandle, name: N, body: unknown): void {
    this.endpoint.send(to, scribeProtocol.encode(name, body as never))
  }

  /** One message to every child of `t`, encoded once. */
  #sendAll<N extends ScribeMessageName>(t: Topic, name: N, body: unknown): void {
    if (t.children.size === 0) return
    const bytes = scribeProtocol.encode(name, body as never)
    for (const c of t.children.values()) this.endpoint.send(c.handle, bytes)
  }
}

export function scribe(init: ScribeInit = {}): (components: ScribeComponents) => ScribeNode {
  return (components) => new ScribeNode(init, components)
}
