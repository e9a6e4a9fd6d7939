import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { FINGERPRINT_BITS, Id, RING_SIZE } from './id.js'
import { isEpostError } from './errors.js'

/** The fingerprint is the id shifted right by this many bits. */
const TOP_SHIFT = BigInt(128 - FINGERPRINT_BITS)
const arbId = fc.bigInt({ min: 0n, max: RING_SIZE - 1n }).map((v) => Id.fromBigInt(v))

describe('Id', () => {
  it('round-trips hex, bytes and bigint', () => {
    const id = Id.fromHex('0123456789abcdef0123456789ABCDEF')
    expect(id.hex).toBe('0123456789abcdef0123456789abcdef')
    expect(Id.fromBytes(id.bytes).equals(id)).toBe(true)
    expect(Id.fromBigInt(id.value).hex).toBe(id.hex)
  })

  it('fingerprints an id by its top FINGERPRINT_BITS bits, a small integer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
        const id = Id.fromBytes(b)
        expect(id.fingerprint).toBe(Number(id.value >> TOP_SHIFT))
        expect(Id.fromHex(id.hex).fingerprint).toBe(id.fingerprint)
        // Below 2^30, V8 keeps it unboxed (a Smi) wherever it goes.
        expect(id.fingerprint).toBeLessThan(2 ** 30)
      }),
      { seed: 11 },
    )
  })

  it('rejects malformed hex with a typed error', () => {
    for (const bad of ['', 'xyz', '0'.repeat(31), '0'.repeat(33)]) {
      expect(() => Id.fromHex(bad)).toThrowError(expect.objectContaining({ code: 'EPOST_INVALID_ARGUMENT' }))
    }
    try {
      Id.fromBytes(new Uint8Array(3))
    } catch (err) {
      expect(isEpostError(err, 'EPOST_INVALID_ARGUMENT')).toBe(true)
    }
  })

  it('orders by ring distance exactly as bigint arithmetic does, near ties and the wrap included', () => {
    // Ids in a few clusters, within a few fingerprint units of each other (where the fast path
    // must defer to bigints) or far closer, some either side of 0 (where clockwise distances wrap).
    const base = fc.constantFrom(0n, RING_SIZE - 1n, 1n << TOP_SHIFT, RING_SIZE / 2n, 0x1234567n << TOP_SHIFT)
    const spread = fc.constantFrom(3n << TOP_SHIFT, 3n << 80n)
    const near = fc.tuple(base, spread, fc.bigInt({ min: -(1n << 62n), max: 1n << 62n })).map(([b, s, r]) => Id.fromBigInt(b + (r * s) / (1n << 62n)))
    const anyId = fc.oneof(arbId, near)
    const cw = (from: Id, x: Id): bigint => from.cwDistance(x)
    const dist = (from: Id, x: Id): bigint => from.distance(x)
    const sign = (x: number): number => (x < 0 ? -1 : x > 0 ? 1 : 0)
    fc.assert(
      fc.property(anyId, anyId, anyId, (k, a, b) => {
        const da = dist(k, a)
        const db = dist(k, b)
        expect(k.isCloser(a, b)).toBe(da !== db ? da < db : a.value < b.value)
        const ca = cw(k, a)
        const cb = cw(k, b)
        expect(sign(k.compareCw(a, b))).toBe(ca < cb ? -1 : ca > cb ? 1 : 0)
        const wa = k.ccwDistance(a)
        const wb = k.ccwDistance(b)
        expect(sign(k.compareCcw(a, b))).toBe(wa < wb ? -1 : wa > wb ? 1 : 0)
        expect(k.isBetween(a, b)).toBe(cw(a, k) <= cw(a, b))
        expect(k.nearerCw(a)).toBe(cw(k, a) < k.ccwDistance(a))
        const byTop = k.closerTop(a.fingerprint, b.fingerprint)
        if (byTop !== 0) expect(byTop < 0 ? da < db : db < da).toBe(true)
        expect(k.isCloserWith(a.fingerprint, a, b.fingerprint, b)).toBe(k.isCloser(a, b))
      }),
      { numRuns: 5000 },
    )
  })

  it('reads digits in base 2^b', () => {
    const id = Id.fromHex('f0a00000000000000000000000000001')
    expect(id.digit(0)).toBe(15)
    expect(id.digit(1)).toBe(0)
    expect(id.digit(2)).toBe(10)
    expect(id.digit(31)).toBe(1)
    expect(id.digit(0, 2)).toBe(3)
    expect(id.digit(2, 2)).toBe(0)
    expect(id.digit(0, 8)).toBe(0xf0)
  })

  it('digits agree between the hex fast path and bigint arithmetic', () => {
    fc.assert(
      fc.property(arbId, fc.integer({ min: 0, max: 31 }), (id, i) => {
        const viaBig = Number((id.value >> BigInt(128 - (i + 1) * 4)) & 15n)
        expect(id.digit(i, 4)).toBe(viaBig)
      }),
    )
  })

  it('reads prefixes and digits from fingerprints exactly as bigint arithmetic does, for ids made any way', () => {
    // Pairs that share a prefix of any length (0..32 digits), made from hex, bytes and bigints:
    // the fingerprint comes from the bytes in fromBytes and is parsed from the hex otherwise.
    const pair = fc.tuple(arbId, fc.integer({ min: 0, max: 32 }), arbId, fc.integer({ min: 0, max: 2 })).map(([a, shared, c, how]) => {
      const hex = a.hex.slice(0, shared) + c.hex.slice(shared)
      const b = how === 0 ? Id.fromHex(hex) : how === 1 ? Id.fromBytes(Buffer.from(hex, 'hex')) : Id.fromBigInt(BigInt('0x' + hex))
      return [how === 1 ? Id.fromBytes(Buffer.from(a.hex, 'hex')) : a, b] as const
    })
    fc.assert(
      fc.property(pair, ([x, y]) => {
        expect(x.fingerprint).toBe(Number(x.value >> TOP_SHIFT))
        expect(y.fingerprint).toBe(Number(y.value >> TOP_SHIFT))
        // b = 1 takes the bigint path: whole shared digits are its bits / 4.
        expect(x.sharedPrefixLength(y)).toBe(Math.floor(x.sharedPrefixLength(y, 1) / 4))
        for (let i = 0; i < 32; i++) expect(y.digit(i)).toBe(Number((y.value >> BigInt(124 - 4 * i)) & 15n))
      }),
    )
  })

  it('computes shared prefix length for any b', () => {
    const a = Id.fromHex('abcd0000000000000000000000000000')
    const b = Id.fromHex('abce0000000000000000000000000000')
    expect(a.sharedPrefixLength(b)).toBe(3)
    expect(a.sharedPrefixLength(a)).toBe(32)
    // 0xd = 1101, 0xe = 1110: 12 + 2 shared bits
    expect(a.sharedPrefixLength(b, 2)).toBe(7)
    expect(a.sharedPrefixLength(b, 1)).toBe(14)
    fc.assert(
      fc.property(arbId, arbId, (x, y) => {
        const p = x.sharedPrefixLength(y)
        for (let i = 0; i < p; i++) expect(x.digit(i)).toBe(y.digit(i))
        if (p < 32) expect(x.digit(p)).not.toBe(y.digit(p))
        expect(x.sharedPrefixLength(y, 2)).toBeGreaterThanOrEqual(2 * p)
      }),
    )
  })

  it('measures ring distances with wrap-around', () => {
    const lo = Id.fromBigInt(5n)
    const hi = Id.fromBigInt(RING_SIZE - 5n)
    expect(lo.cwDistance(hi)).toBe(RING_SIZE - 10n)
    expect(hi.cwDistance(lo)).toBe(10n)
    expect(lo.ccwDistance(hi)).toBe(10n)
    expect(lo.distance(hi)).toBe(10n)
    fc.assert(
      fc.property(arbId, arbId, (x, y) => {
        expect(x.distance(y)).toBe(y.distance(x))
        expect(x.cwDistance(y) + y.cwDistance(x)).toBe(x.equals(y) ? 0n : RING_SIZE)
        expect(x.distance(y) <= RING_SIZE / 2n).toBe(true)
      }),
    )
  })

  it('finds the numerically closest node, across zero', () => {
    const key = Id.fromBigInt(2n)
    const nodes = [RING_SIZE - 1n, 100n, RING_SIZE / 2n].map((v) => ({ id: Id.fromBigInt(v) }))
    expect(key.closest(nodes)?.id.value).toBe(RING_SIZE - 1n)
    // ties go to the smaller id, so every node agrees on one root
    const tie = Id.fromBigInt(10n)
    const a = { id: Id.fromBigInt(8n) }
    const b = { id: Id.fromBigInt(12n) }
    expect(tie.closest([b, a])).toBe(a)
    expect(tie.closest([a, b])).toBe(a)
    expect(key.closest([])).toBeUndefined()
  })

  it('tests clockwise arcs inclusively, wrapping', () => {
    const from = Id.fromBigInt(RING_SIZE - 10n)
    const to = Id.fromBigInt(10n)
    expect(Id.fromBigInt(0n).isBetween(from, to)).toBe(true)
    expect(from.isBetween(from, to)).toBe(true)
    expect(to.isBetween(from, to)).toBe(true)
    expect(Id.fromBigInt(11n).isBetween(from, to)).toBe(false)
  })
})
