import { EpostError, handle, silentLogger } from '@epost/core'
import type { CertificateVerifier, Logger, NodeCredentials, NodeHandle, Rng, VirtualClock } from '@epost/core'
import { MAX_FRAME_BYTES, SIM_ADDRESS_PREFIX, SIM_LATENCY_RESOLUTION_MS } from '../constants.js'
import { peerMismatch } from '../errors.js'
import { DeliveryQueue } from './delivery-queue.js'
import { FrameCopier } from './frame-copy.js'
import { sphereLatency } from './latency.js'
import type { LatencyModel, Point } from './latency.js'
import { Partition } from './partition.js'
import { SimTransport } from './sim-transport.js'
import type { SimLink } from './sim-transport.js'

export interface SimNetworkInit {
  /** All delivery happens on this clock's timers. */
  clock: VirtualClock
  /** Seeds placement, loss and jitter (each from its own fork, so one does not shift the others). */
  rng: Rng
  /** Where nodes sit and how far apart they are in time. @default sphereLatency() (1..200 ms) */
  latency?: LatencyModel
  /** Extra per-frame delay, uniform in [0, jitterMs). May reorder frames. @default 0 */
  jitterMs?: number
  /** Probability that a frame is silently dropped. @default 0 */
  lossRate?: number
  /** Delivery times are rounded to this many ms; 0 keeps them exact. @default SIM_LATENCY_RESOLUTION_MS */
  latencyResolutionMs?: number
  /** Checks each node's certificate once, when it attaches. Without one, credentials are trusted. */
  verifier?: CertificateVerifier
  /** Default frame limit of every transport on this network, in bytes. @default MAX_FRAME_BYTES */
  maxFrameBytes?: number
  /**
   * Copy each frame at send, so the receiver never shares memory with the sender (as on a real
   * wire). Turn off only for benchmarks of code known not to reuse buffers. @default true
   */
  copyFrames?: boolean
  /**
   * Where frames to remote nodes go (attachRemote): a parallel simulator runs the ring in several
   * shards, each a SimNetwork, and hands frames between them. Without it there are no remote nodes.
   */
  remote?: RemoteSink
  logger?: Logger
}

/** Takes a frame for a node attached as remote, due at `at` on the shared virtual time. */
export interface RemoteSink {
  transmit(from: SimTransport, to: SimTransport, data: Uint8Array, at: number): void
}

export interface CreateSimTransportOptions {
  credentials: NodeCredentials
  /** A point in the latency model's space; drawn from the network's rng if omitted. */
  position?: Point
  /** @default the network's maxFrameBytes */
  maxFrameBytes?: number
  /** The node's address; the network assigns the next free one if omitted. */
  address?: string
}

/** What happened to frames on this network so far. */
export interface SimNetworkStats {
  nodes: number
  sent: number
  delivered: number
  /** Dropped by the loss model. */
  lost: number
  /** Dropped by a partition. */
  blocked: number
  /** Addressed to an unknown, killed or stopped node, or sent by a killed one. */
  undeliverable: number
  inFlight: number
}

/**
 * An in-process network on a VirtualClock: nodes in a metric space, latency by distance, seeded
 * loss and jitter, partitions and crashes. An instance, never a global: every testnet has its own.
 *
 * Per node it keeps one SimTransport (a handle, a position and counters); per frame in flight,
 * three array slots. Nothing is kept per pair of nodes.
 */
export class SimNetwork {
  readonly clock: VirtualClock
  readonly model: LatencyModel
  readonly maxFrameBytes: number
  readonly #placeRng: Rng
  readonly #lossRng: Rng
  readonly #jitterRng: Rng
  readonly #jitterMs: number
  readonly #resolution: number
  readonly #verifier: CertificateVerifier | undefined
  readonly #copier: FrameCopier | undefined
  readonly #logger: Logger
  readonly #nodes = new Map<string, SimTransport>()
  readonly #queue: DeliveryQueue<SimTransport>
  readonly #link: SimLink
  readonly #remote: RemoteSink | undefined
  #lossRate: number
  #partitions: Array<Partition<SimTransport>> = []
  #next = 0
  #sent = 0
  #delivered = 0
  #lost = 0
  #blocked = 0
  #undeliverable = 0

  constructor(init: SimNetworkInit) {
    this.clock = init.clock
    this.model = init.latency ?? sphereLatency()
    this.maxFrameBytes = init.maxFrameBytes ?? MAX_FRAME_BYTES
    this.#placeRng = init.rng.fork('sim/placement')
    this.#lossRng = init.rng.fork('sim/loss')
    this.#jitterRng = init.rng.fork('sim/jitter')
    this.#jitterMs = init.jitterMs ?? 0
    this.#resolution = init.latencyResolutionMs ?? SIM_LATENCY_RESOLUTION_MS
    this.#verifier = init.verifier
    this.#copier = (init.copyFrames ?? true) ? new FrameCopier() : undefined
    this.#logger = (init.logger ?? silentLogger).forComponent('epost:transport:sim')
    this.#lossRate = checkRate(init.lossRate ?? 0)
    this.#remote = init.remote
    if (!(this.#jitterMs >= 0)) throw new EpostError('EPOST_INVALID_ARGUMENT', `jitterMs must be >= 0, got ${this.#jitterMs}`)
    if (!(this.#resolution >= 0)) throw new EpostError('EPOST_INVALID_ARGUMENT', `latencyResolutionMs must be >= 0, got ${this.#resolution}`)
    this.#queue = new DeliveryQueue(this.clock, (from, to, data) => this.#arrive(from, to, data))
    this.#link = { transmit: (from, to, data) => this.#transmit(from, to, data), logger: this.#logger }
  }

  /**
   * Attaches a node: assigns it an address, binds the address to the certified id (checking the
   * certificate with the verifier, if the network has one) and places it in the latency space.
   * Throws EPOST_TRANSPORT_AUTH_FAILED for a certificate that does not check out.
   */
  createTransport(options: CreateSimTransportOptions): SimTransport {
    const { credentials } = options
    if (this.#verifier !== undefined) {
      let certified
      try {
        certified = this.#verifier.verifyNodeCertificate(credentials.certificate)
      } catch (err) {
        throw new EpostError('EPOST_TRANSPORT_AUTH_FAILED', `node ${credentials.id.short()} cannot attach: its certificate does not check out; issue it from this network's CA`, { cause: err })
      }
      if (!certified.id.equals(credentials.id)) {
        throw new EpostError('EPOST_TRANSPORT_AUTH_FAILED', `credentials claim id ${credentials.id.short()} but the certificate is for ${certified.id.short()}; build credentials from the matching certificate`)
      }
    }
    const address = this.#freeAddress(options.address)
    const position = options.position ?? this.model.place(this.#placeRng)
    const t = new SimTransport(this.#link, Object.freeze(handle(credentials.id, address)), position, options.maxFrameBytes ?? this.maxFrameBytes)
    this.#nodes.set(address, t)
    return t
  }

  /**
   * Attaches a node that runs in another shard (another SimNetwork, usually in another thread):
   * frames to it go to the network's RemoteSink, due at their arrival time, and frames from it
   * come in through `arrive`. Its certificate was checked where it runs.
   */
  attachRemote(nodeHandle: NodeHandle, position: Point): SimTransport {
    if (this.#remote === undefined) throw new EpostError('EPOST_INVALID_ARGUMENT', 'this network has no remote sink: give SimNetworkInit.remote to attach remote nodes')
    const t = new SimTransport(this.#link, Object.freeze(handle(nodeHandle.id, this.#freeAddress(nodeHandle.address))), position, this.maxFrameBytes)
    t.remote = true
    // Up as far as this network can tell (it is never started here): an address that does not
    // match the id is still caught as a peer mismatch.
    t.up = true
    this.#nodes.set(t.localHandle.address, t)
    return t
  }

  /** A frame from remote node `from` to local node `to` (both attached here), due at `at`. */
  arrive(from: SimTransport, to: SimTransport, data: Uint8Array, at: number): void {
    this.#queue.push(at, from, to, data)
  }

  #freeAddress(address: string | undefined): string {
    if (address === undefined) {
      while (this.#nodes.has(SIM_ADDRESS_PREFIX + String(this.#next))) this.#next++
      return SIM_ADDRESS_PREFIX + String(this.#next++)
    }
    if (this.#nodes.has(address)) throw new EpostError('EPOST_INVALID_ARGUMENT', `address ${address} is taken on this network`)
    return address
  }

  /** Nodes ever attached (killed and stopped ones included). */
  get size(): number {
    return this.#nodes.size
  }

  /** The transport attached at `address`, if any. */
  get(address: string): SimTransport | undefined {
    return this.#nodes.get(address)
  }

  /** Attached, started, and not killed. */
  isAlive(address: string): boolean {
    const t = this.#nodes.get(address)
    return t !== undefined && t.up && !t.killed
  }

  /**
   * The base one-way latency between two attached nodes in ms, as used for delivery (rounded,
   * without jitter): the overlay simulator's yardstick for relative delay penalty.
   */
  latency(a: string, b: string): number {
    const x = this.#nodes.get(a)
    const y = this.#nodes.get(b)
    if (x === undefined || y === undefined) throw new EpostError('EPOST_INVALID_ARGUMENT', `no node at ${x === undefined ? a : b} on this network`)
    return this.#round(this.model.latencyMs(x.position, y.position))
  }

  /** The node crashes: it vanishes without notice; frames to it, from it and in flight are lost. */
  kill(address: string): void {
    const t = this.#nodes.get(address)
    if (t !== undefined) t.killed = true
  }

  /**
   * Cuts the network between `groupA` and `groupB` (everyone else if omitted) until the returned
   * partition, or the whole network, is healed. Frames in flight across the cut are dropped too.
   */
  partition(groupA: Iterable<string | NodeHandle>, groupB?: Iterable<string | NodeHandle>): Partition<SimTransport> {
    const p = new Partition(this.#group(groupA), groupB === undefined ? undefined : this.#group(groupB), (q) => {
      this.#partitions = this.#partitions.filter((x) => x !== q)
    })
    this.#partitions.push(p)
    return p
  }

  /** Removes every partition. */
  heal(): void {
    for (const p of [...this.#partitions]) p.heal()
  }

  get lossRate(): number {
    return this.#lossRate
  }

  set lossRate(rate: number) {
    this.#lossRate = checkRate(rate)
  }

  stats(): SimNetworkStats {
    return {
      nodes: this.#nodes.size,
      sent: this.#sent,
      delivered: this.#delivered,
      lost: this.#lost,
      blocked: this.#blocked,
      undeliverable: this.#undeliverable,
      inFlight: this.#queue.inFlight,
    }
  }

  #group(items: Iterable<string | NodeHandle>): Set<SimTransport> {
    const s = new Set<SimTransport>()
    for (const it of items) {
      const address = typeof it === 'string' ? it : it.address
      const t = this.#nodes.get(address)
      if (t === undefined) throw new EpostError('EPOST_INVALID_ARGUMENT', `no node at ${address} on this network`)
      s.add(t)
    }
    return s
  }

  #round(ms: number): number {
    const r = this.#resolution
    return r === 0 ? ms : Math.round(ms / r) * r
  }

  #separated(a: SimTransport, b: SimTransport): boolean {
    const ps = this.#partitions
    for (let i = 0; i < ps.length; i++) if ((ps[i] as Partition<SimTransport>).separates(a, b)) return true
    return false
  }

  #transmit(from: SimTransport, to: NodeHandle, data: Uint8Array): EpostError | undefined {
    const dst = this.#nodes.get(to.address)
    if (dst !== undefined && dst.id !== to.id && !dst.id.equals(to.id) && dst.up && !dst.killed) {
      return peerMismatch(to.address, to.id, dst.id)
    }
    this.#sent++
    from.framesSent++
    from.bytesSent += data.length
    if (dst !== undefined && dst.remote && !from.killed) {
      // Loss, jitter and partitions are not modelled across shards (the routing experiments use none).
      ;(this.#remote as RemoteSink).transmit(from, dst, data, this.clock.now() + this.#round(this.model.latencyMs(from.position, dst.position)))
      return undefined
    }
    if (dst === undefined || !dst.up || dst.killed || from.killed) {
      this.#undeliverable++
      return undefined
    }
    if (this.#lossRate > 0 && this.#lossRng.next() < this.#lossRate) {
      this.#lost++
      return undefined
    }
    if (this.#partitions.length > 0 && this.#separated(from, dst)) {
      this.#blocked++
      return undefined
    }
    let ms = this.model.latencyMs(from.position, dst.position)
    if (this.#jitterMs > 0) ms += this.#jitterRng.next() * this.#jitterMs
    this.#queue.push(this.clock.now() + this.#round(ms), from, dst, this.#copier === undefined ? data : this.#copier.copy(data))
    return undefined
  }

  #arrive(from: SimTransport, to: SimTransport, data: Uint8Array): void {
    // A frame already on the wire when its sender crashed still arrives, as a packet would: only
    // frames sent after the kill are lost (checked in #transmit).
    if (this.#partitions.length > 0 && this.#separated(from, to)) {
      this.#blocked++
      return
    }
    if (to.receive(from.localHandle, data)) this.#delivered++
    else this.#undeliverable++
  }
}

function checkRate(rate: number): number {
  if (!(rate >= 0 && rate <= 1)) throw new EpostError('EPOST_INVALID_ARGUMENT', `lossRate must be in [0, 1], got ${rate}`)
  return rate
}
