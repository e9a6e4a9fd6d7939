import { EpostError } from './errors.js'

/** Ids are 128 bits (Pastry's b = 4 gives 32 digits). */
export const ID_BITS = 128
export const ID_BYTES = ID_BITS / 8
const ID_HEX = ID_BYTES * 2
const RING = 1n << BigInt(ID_BITS)
const HALF_RING = RING >> 1n
const HEX_RE = /^[0-9a-f]{32}$/
/**
 * Ring comparisons look first at the ids' top FINGERPRINT_BITS bits: a distance computed from
 * them is off by less than one unit of 2^(128 - FINGERPRINT_BITS), so two such distances that
 * differ by two units or more are ordered as the exact ones are. Only closer calls go to bigint
 * arithmetic, which allocates (routing and the leaf set compare ids thousands of times a second).
 * 28 bits keep every fingerprint and every distance between two a small integer, which V8 never
 * boxes: with 48 a fingerprint was a double, and handing one out of the getter allocated a heap
 * number each time, 5 % of all a 3,000-node run allocated. Two ids closer than two units
 * (2^-27 of the ring) are rare next to the gaps between nodes even at a million nodes (2^-20).
 */
export const FINGERPRINT_BITS = 28
const TOP_BITS = FINGERPRINT_BITS
const TOP_RING = 2 ** TOP_BITS
const TOP_HALF = TOP_RING / 2
/** Hex digits in the fingerprint. */
const TOP_DIGITS = TOP_BITS / 4

/** Clockwise distance between two top-bit values, in top units (0 .. TOP_RING - 1). */
function topCw(from: number, to: number): number {
  const d = to - from
  return d >= 0 ? d : d + TOP_RING
}

/**
 * Orders two clockwise distances in top units, or returns 0 when only the exact ones can: a
 * clockwise distance jumps from the whole ring to 0 where the ids meet, so one within a unit or
 * two of either end may be off by nearly the whole ring.
 */
function topOrder(da: number, db: number): number {
  if (da < 2 || db < 2 || da > TOP_RING - 2 || db > TOP_RING - 2) return 0
  const d = da - db
  return d >= 2 || d <= -2 ? d : 0
}

/**
 * A 128-bit position on the Pastry ring, immutable. Kept as a lowercase hex string (cheap prefix
 * and equality tests, usable as a map key) and a bigint (ring arithmetic).
 */
export class Id {
  readonly hex: string
  #value: bigint | undefined
  #bytes: Uint8Array | undefined
  /** The top TOP_BITS bits as a number; -1 until first used. */
  #top = -1

  private constructor(hex: string, value: bigint | undefined) {
    this.hex = hex
    this.#value = value
  }

  /**
   * The id's top FINGERPRINT_BITS bits as a number: what ring comparisons look at first, and a
   * fingerprint for scans that compare many ids (equal ids have equal fingerprints; ids that
   * differ mostly differ here, and then no string is read).
   */
  get fingerprint(): number {
    if (this.#top < 0) this.#top = parseInt(this.hex.slice(0, TOP_DIGITS), 16)
    return this.#top
  }

  /** The id as a number in 0 .. 2^128 - 1 (computed on first use). */
  get value(): bigint {
    if (this.#value === undefined) this.#value = BigInt('0x' + this.hex)
    return this.#value
  }

  static fromHex(hex: string): Id {
    const h = hex.toLowerCase()
    if (!HEX_RE.test(h)) throw new EpostError('EPOST_INVALID_ARGUMENT', `an id is ${ID_HEX} hex digits, got '${hex}'`)
    return new Id(h, undefined)
  }

  static fromBigInt(v: bigint): Id {
    const n = ((v % RING) + RING) % RING
    return new Id(n.toString(16).padStart(ID_HEX, '0'), n)
  }

  /** The 16 bytes of `bytes` from `offset` (the start of a hash, usually) as an id. */
  static fromBytes(bytes: Uint8Array, offset = 0): Id {
    if (bytes.length < offset + ID_BYTES) {
      throw new EpostError('EPOST_INVALID_ARGUMENT', `an id needs ${ID_BYTES} bytes, got ${bytes.length - offset}`)
    }
    // Buffers (what msgpack decodes binary into) convert in place; other arrays through a view.
    const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const id = new Id(buf.toString('hex', offset, offset + ID_BYTES), undefined)
    // The fingerprint from the bytes at hand (later it would be parsed from the hex string).
    id.#top = buf.readUInt32BE(offset) >>> (32 - TOP_BITS)
    return id
  }

  /** Uniformly random id from a source of random bytes (an Rng or a CSPRNG). */
  static random(randomBytes: (n: number) => Uint8Array): Id {
    return Id.fromBytes(randomBytes(ID_BYTES))
  }

  get bytes(): Uint8Array {
    if (this.#bytes === undefined) this.#bytes = new Uint8Array(Buffer.from(this.hex, 'hex'))
    return this.#bytes
  }

  /** Digit `i` (0 = most significant) in base 2^b. b must divide 128 and be at most 16. */
  digit(i: number, b = 4): number {
    if (b === 4) {
      // The first TOP_DIGITS digits are in the fingerprint: no string is read.
      if (i < TOP_DIGITS) return (this.fingerprint >>> (4 * (TOP_DIGITS - 1 - i))) & 15
      return parseInt(this.hex[i] as string, 16)
    }
    const shift = BigInt(ID_BITS - (i + 1) * b)
    return Number((this.value >> shift) & ((1n << BigInt(b)) - 1n))
  }

  /** Number of leading base-2^b digits shared with `other`. */
  sharedPrefixLength(other: Id, b = 4): number {
    if (b === 4) {
      // Ids that differ in their fingerprints (nearly all) differ in one of its digits: found by
      // the leading zeros of the fingerprints' difference.
      const x = this.fingerprint
      const y = other.fingerprint
      if (x !== y) return (Math.clz32(x ^ y) - (32 - TOP_BITS)) >> 2
      const a = this.hex
      const o = other.hex
      let i = TOP_DIGITS
      while (i < ID_HEX && a.charCodeAt(i) === o.charCodeAt(i)) i++
      return i
    }
    const x = this.value ^ other.value
    if (x === 0n) return ID_BITS / b
    const bits = ID_BITS - x.toString(2).length
    return Math.floor(bits / b)
  }

  equals(other: Id): boolean {
    // The fingerprints sit in the Id objects themselves: different ids nearly always differ
    // there, and the hex strings' characters are read only for equal ones.
    return this === other || (this.fingerprint === other.fingerprint && this.hex === other.hex)
  }

  /** Clockwise distance from this id to `other` (0 .. 2^128-1). */
  cwDistance(other: Id): bigint {
    const d = other.value - this.value
    return d >= 0n ? d : d + RING
  }

  /** Counter-clockwise distance from this id to `other`. */
  ccwDistance(other: Id): bigint {
    return other.cwDistance(this)
  }

  /** Shortest distance around the ring (0 .. 2^127). */
  distance(other: Id): bigint {
    const d = this.cwDistance(other)
    return d > HALF_RING ? RING - d : d
  }

  /** True if `a` is strictly closer to this id than `b` on the ring; ties go to the smaller id. */
  isCloser(a: Id, b: Id): boolean {
    const c = this.closerTop(a.fingerprint, b.fingerprint)
    if (c !== 0) return c < 0
    const da = this.distance(a)
    const db = this.distance(b)
    if (da !== db) return da < db
    return a.value < b.value
  }

  /**
   * isCloser for a caller that keeps the ids' fingerprints beside them: the Ids themselves are
   * read only when the fingerprints cannot tell.
   */
  isCloserWith(aTop: number, a: Id, bTop: number, b: Id): boolean {
    const c = this.closerTop(aTop, bTop)
    return c !== 0 ? c < 0 : this.isCloser(a, b)
  }

  /**
   * Which of two ids, given by their fingerprints, is closer to this one on the ring: -1 the
   * first, 1 the second, 0 when the fingerprints cannot tell (then isCloser on the ids does). For
   * callers that keep fingerprints beside handles, so that most comparisons read no Id at all.
   */
  closerTop(aTop: number, bTop: number): number {
    const t = this.fingerprint
    const ca = topCw(t, aTop)
    const cb = topCw(t, bTop)
    const ta = ca > TOP_HALF ? TOP_RING - ca : ca
    const tb = cb > TOP_HALF ? TOP_RING - cb : cb
    if (ta - tb >= 2) return 1
    if (tb - ta >= 2) return -1
    return 0
  }

  /** Of `candidates`, the one numerically closest to this id (ring wrap-around). */
  closest<T extends { id: Id }>(candidates: Iterable<T>): T | undefined {
    let best: T | undefined
    for (const c of candidates) {
      if (best === undefined || this.isCloser(c.id, best.id)) best = c
    }
    return best
  }

  /** Does `other` lie nearer going clockwise from this id than going counter-clockwise? */
  nearerCw(other: Id): boolean {
    const d = topCw(this.fingerprint, other.fingerprint)
    if (d >= 2 && d <= TOP_HALF - 2) return true
    if (d >= TOP_HALF + 2 && d <= TOP_RING - 2) return false
    return this.cwDistance(other) < this.ccwDistance(other)
  }

  /** Is this id in the clockwise arc from `from` to `to` (both inclusive)? */
  isBetween(from: Id, to: Id): boolean {
    return from.compareCw(this, to) <= 0
  }

  /**
   * Compares the clockwise distances from this id to `a` and to `b`: negative when `a` comes
   * first going clockwise, positive when `b` does, 0 when they are the same id.
   */
  compareCw(a: Id, b: Id): number {
    const t = this.fingerprint
    const d = topOrder(topCw(t, a.fingerprint), topCw(t, b.fingerprint))
    if (d !== 0) return d
    if (a.equals(b)) return 0
    const x = this.cwDistance(a)
    const y = this.cwDistance(b)
    return x < y ? -1 : x > y ? 1 : 0
  }

  /** compareCw going counter-clockwise: negative when `a` comes first that way. */
  compareCcw(a: Id, b: Id): number {
    const t = this.fingerprint
    const d = topOrder(topCw(a.fingerprint, t), topCw(b.fingerprint, t))
    if (d !== 0) return d
    if (a.equals(b)) return 0
    const x = this.ccwDistance(a)
    const y = this.ccwDistance(b)
    return x < y ? -1 : x > y ? 1 : 0
  }

  add(delta: bigint): Id {
    return Id.fromBigInt(this.value + delta)
  }

  compare(other: Id): number {
    return this.value < other.value ? -1 : this.value > other.value ? 1 : 0
  }

  toString(): string {
    return this.hex
  }

  /** Short form for logs. */
  short(): string {
    return this.hex.slice(0, 8)
  }

  toJSON(): string {
    return this.hex
  }
}

export const RING_SIZE = RING
export const ID_ZERO = Id.fromBigInt(0n)
export const ID_MAX = Id.fromBigInt(RING - 1n)
