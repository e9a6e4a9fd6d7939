import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { EpostError, Id } from '@epost/core'
import { MAX_FRAME_BYTES, PROTOCOL_VERSION, decodeFrame, defineProtocol, dispatcher, encodeFrame, pack, schema } from './index.js'

const { v } = schema
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/**
 * Golden vectors: the exact bytes of each envelope. A change here is a change of wire format and
 * must come with a PROTOCOL_VERSION decision (docs/wire-protocol.md).
 */
const GOLDEN: Array<{ app: string; type: number; body: unknown; hex: string }> = [
  { app: 'epost/test/1', type: 1, body: null, hex: '9401ac65706f73742f746573742f3101c0' },
  { app: 'epost/test/1', type: 2, body: { n: 7, s: 'hi' }, hex: '9401ac65706f73742f746573742f310282a16e07a173a26869' },
  { app: 'a', type: 65535, body: [new Uint8Array([1, 2, 3]), true, -1], hex: '9401a161cdffff93c403010203c3ff' },
  { app: 'epost/pastry/1', type: 3, body: { key: new Uint8Array(16).fill(0xab), hops: 2 }, hex: '9401ae65706f73742f7061737472792f310382a36b6579c410abababababababababababababababab a4686f707302'.replace(/ /g, '') },
]

describe('frames', () => {
  it('match the golden vectors byte for byte and decode back', () => {
    for (const g of GOLDEN) {
      const bytes = encodeFrame(g.app, g.type, g.body)
      expect(hex(bytes)).toBe(g.hex)
      const f = decodeFrame(Buffer.from(g.hex, 'hex'))
      expect(f).toMatchObject({ version: PROTOCOL_VERSION, app: g.app, type: g.type })
      expect(pack(f.body)).toEqual(pack(g.body))
    }
  })

  it('refuses other versions, bad envelopes and oversized frames with typed errors', () => {
    const code = (fn: () => unknown): string => {
      try {
        fn()
      } catch (e) {
        return e instanceof EpostError ? e.code : 'untyped'
      }
      return 'none'
    }
    expect(code(() => decodeFrame(pack([2, 'a', 1, null])))).toBe('EPOST_CODEC_VERSION')
    expect(code(() => decodeFrame(pack([1, 'a', 1])))).toBe('EPOST_CODEC_MALFORMED')
    expect(code(() => decodeFrame(pack({ version: 1 })))).toBe('EPOST_CODEC_MALFORMED')
    expect(code(() => decodeFrame(pack([1, '', 1, null])))).toBe('EPOST_CODEC_MALFORMED')
    expect(code(() => decodeFrame(pack([1, 'a', -1, null])))).toBe('EPOST_CODEC_MALFORMED')
    expect(code(() => decodeFrame(pack([1, 'a', 1.5, null])))).toBe('EPOST_CODEC_MALFORMED')
    expect(code(() => decodeFrame(new Uint8Array([0x94, 0x01])))).toBe('EPOST_CODEC_MALFORMED')
    const ok = encodeFrame('a', 1, null)
    expect(code(() => decodeFrame(Uint8Array.from([...ok, 0x00])))).toBe('EPOST_CODEC_MALFORMED')
    expect(code(() => decodeFrame(new Uint8Array(MAX_FRAME_BYTES + 1)))).toBe('EPOST_CODEC_TOO_LARGE')
    expect(code(() => encodeFrame('a', 1, new Uint8Array(MAX_FRAME_BYTES)))).toBe('EPOST_CODEC_TOO_LARGE')
    expect(code(() => decodeFrame(ok, { maxBytes: ok.length - 1 }))).toBe('EPOST_CODEC_TOO_LARGE')
  })

  it('never throws anything but an EpostError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        try {
          decodeFrame(bytes)
        } catch (e) {
          expect(e).toBeInstanceOf(EpostError)
        }
      }),
      { numRuns: 5000 },
    )
  })

  it('never throws anything but an EpostError on truncated or bit-flipped frames', () => {
    const body = fc.jsonValue({ maxDepth: 3 })
    fc.assert(
      fc.property(body, fc.nat(), fc.nat(), (b, cut, flip) => {
        const bytes = encodeFrame('epost/test/1', 9, b)
        const truncated = bytes.subarray(0, cut % bytes.length)
        const flipped = Uint8Array.from(bytes)
        const at = flip % bytes.length
        flipped[at] = (flipped[at] as number) ^ (1 << flip % 8)
        for (const bad of [truncated, flipped]) {
          try {
            decodeFrame(bad)
          } catch (e) {
            expect(e).toBeInstanceOf(EpostError)
          }
        }
      }),
      { numRuns: 3000 },
    )
  })
})

describe('protocols', () => {
  const proto = defineProtocol('epost/test/1', {
    ping: { type: 1, schema: v.object({ nonce: schema.uint }) },
    route: { type: 2, schema: v.object({ key: schema.id, from: schema.handle, path: schema.list(schema.handle, 4), data: schema.bytes(8) }) },
  })
  const key = Id.fromHex('00112233445566778899aabbccddeeff')

  it('round-trips typed messages: ids and handles come out as core types', () => {
    const bytes = proto.encode('route', { key: key.bytes, from: [key.bytes, 'sim:1'], path: [], data: new Uint8Array([1]) })
    const m = proto.decodeBytes(bytes)
    expect(m.name).toBe('route')
    if (m.name !== 'route') throw new Error('unreachable')
    expect(m.body.key.equals(key)).toBe(true)
    expect(m.body.from.address).toBe('sim:1')
    expect(m.body.from.id.equals(key)).toBe(true)
  })

  it('rejects bodies that break the schema, and unknown types, with typed errors', () => {
    const bad = [
      encodeFrame('epost/test/1', 1, { nonce: -1 }),
      encodeFrame('epost/test/1', 1, { nonce: 'x' }),
      encodeFrame('epost/test/1', 2, { key: new Uint8Array(15), from: [key.bytes, 'a'], path: [], data: new Uint8Array() }),
      encodeFrame('epost/test/1', 2, { key: key.bytes, from: [key.bytes, ''], path: [], data: new Uint8Array() }),
      // Handles: the wrong shape, a short id, an address that is no string or is too long.
      ...[[key.bytes], [new Uint8Array(15), 'a'], 'x', [key.bytes, 7], [key.bytes, 'a'.repeat(257)], [key.bytes, 'a', 'b']].map((from) =>
        encodeFrame('epost/test/1', 2, { key: key.bytes, from, path: [], data: new Uint8Array() }),
      ),
      encodeFrame('epost/test/1', 2, { key: key.bytes, from: [key.bytes, 'a'], path: [], data: new Uint8Array(9) }),
      encodeFrame('epost/test/1', 2, { key: key.bytes, from: [key.bytes, 'a'], path: new Array(5).fill([key.bytes, 'a']), data: new Uint8Array() }),
    ]
    for (const b of bad) expect(() => proto.decodeBytes(b)).toThrowError(expect.objectContaining({ code: 'EPOST_CODEC_SCHEMA' }))
    expect(() => proto.decodeBytes(encodeFrame('epost/test/1', 99, null))).toThrowError(expect.objectContaining({ code: 'EPOST_CODEC_UNKNOWN_TYPE' }))
    expect(() => proto.decodeBytes(encodeFrame('other/1', 1, { nonce: 1 }))).toThrowError(expect.objectContaining({ code: 'EPOST_CODEC_UNKNOWN_TYPE' }))
  })

  it('shares decoded handles: one frozen object per node and address, within the cache limit', () => {
    const p = defineProtocol('epost/test/3', { hs: { type: 1, schema: v.object({ hs: schema.handleList(4), one: schema.handle }) } })
    const a = { id: Id.fromHex('0a'.repeat(16)), address: 'sim:a' }
    const b = { id: Id.fromHex('0b'.repeat(16)), address: 'sim:b' }
    const decode = (hs: Array<{ id: Id; address: string }>, one: { id: Id; address: string }) =>
      p.decodeBytes(p.encode('hs', { hs: schema.handlesToWire(hs), one: [one.id.bytes, one.address] })).body
    const first = decode([a, b], a)
    const second = decode([b, a], b)
    expect(second.hs[1]).toBe(first.hs[0])
    expect(first.one).toBe(first.hs[0])
    expect(second.one).toBe(first.hs[1])
    expect(Object.isFrozen(first.one)).toBe(true)
    // The same id at a new address (a restarted node) is a new handle.
    const moved = decode([{ id: a.id, address: 'sim:a2' }], a).hs[0]
    expect(moved?.address).toBe('sim:a2')
    expect(moved).not.toBe(first.hs[0])
    // Ids that agree in their first bytes stay apart.
    const twin1 = { id: Id.fromHex('0a'.repeat(4) + '11'.repeat(12)), address: 'sim:t' }
    const twin2 = { id: Id.fromHex('0a'.repeat(4) + '22'.repeat(12)), address: 'sim:t' }
    for (let i = 0; i < 3; i++) {
      const got = decode([twin1, twin2, twin1], twin2)
      expect(got.hs.map((h) => h.id.hex)).toEqual([twin1.id.hex, twin2.id.hex, twin1.id.hex])
      expect(got.one.id.hex).toBe(twin2.id.hex)
    }
    // Past the limit a handle whose slots other handles took is decoded afresh, with the same value.
    schema.setHandleCacheLimit(1)
    try {
      const before = decode([b], b).hs[0]
      expect(decode([b], b).hs[0]).toBe(before)
      for (let i = 0; i < 16; i++) decode([{ id: Id.fromHex(i.toString(16).padStart(2, '0').repeat(16)), address: `sim:${i}` }], a)
      const after = decode([b], b).hs[0]
      expect(after).not.toBe(before)
      expect([after?.id.hex, after?.address]).toEqual([b.id.hex, b.address])
    } finally {
      schema.setHandleCacheLimit(1 << 16)
    }
  })

  it('decodes every handle to its own id and address however the cache is sized and filled', () => {
    const p = defineProtocol('epost/test/4', { hs: { type: 1, schema: v.object({ hs: schema.handleList(8) }) } })
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        // Ids that often share their first bytes (the same cache set), at one of two addresses.
        fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.uint8Array({ minLength: 12, maxLength: 12 }), fc.boolean()), { minLength: 1, maxLength: 200 }),
        (limit, picks) => {
          schema.setHandleCacheLimit(limit)
          const hs = picks.map(([set, rest, moved]) => ({ id: Id.fromBytes(Uint8Array.from([set, 0, 0, 0, ...rest])), address: moved ? 'sim:moved' : 'sim:x' }))
          for (let i = 0; i < hs.length; i += 8) {
            const chunk = hs.slice(i, i + 8)
            const got = p.decodeBytes(p.encode('hs', { hs: schema.handlesToWire(chunk) })).body.hs
            expect(got.map((h) => [h.id.hex, h.address])).toEqual(chunk.map((h) => [h.id.hex, h.address]))
          }
        },
      ),
      { seed: 7, numRuns: 200 },
    )
    schema.setHandleCacheLimit(1 << 16)
  })

  it('carries handle lists compactly and checks their shape', () => {
    const p = defineProtocol('epost/test/2', { hs: { type: 1, schema: v.object({ hs: schema.handleList(3) }) } })
    const a = { id: key, address: 'sim:1' }
    const b = { id: Id.fromHex('ff'.repeat(16)), address: 'ws://127.0.0.1:1' }
    const m = p.decodeBytes(p.encode('hs', { hs: schema.handlesToWire([a, b]) }))
    expect(m.body.hs.map((h) => [h.id.hex, h.address])).toEqual([
      [a.id.hex, a.address],
      [b.id.hex, b.address],
    ])
    expect(p.decodeBytes(p.encode('hs', { hs: schema.handlesToWire([]) })).body.hs).toEqual([])
    const bad: unknown[] = [
      [new Uint8Array(15), ['x']],
      [new Uint8Array(32), ['x']],
      [new Uint8Array(16), ['']],
      [new Uint8Array(64), ['a', 'b', 'c', 'd']],
      [new Uint8Array(16), [7]],
      [new Uint8Array(16), ['a'.repeat(257)]],
      [new Uint8Array(16), ['a'], 'extra'],
      [[1, 2], ['a']],
      'nope',
    ]
    for (const hs of bad) {
      expect(() => p.decodeBytes(encodeFrame('epost/test/2', 1, { hs }))).toThrowError(expect.objectContaining({ code: 'EPOST_CODEC_SCHEMA' }))
    }
  })

  it('decodeIf picks out chosen messages and leaves the rest (and garbage) alone', () => {
    const ping = proto.encode('ping', { nonce: 3 })
    expect(proto.decodeIf(ping, ['ping'])).toEqual({ name: 'ping', body: { nonce: 3 } })
    expect(proto.decodeIf(ping, ['route'])).toBeUndefined()
    expect(proto.decodeIf(encodeFrame('epost/test/1', 1, { nonce: -1 }), ['ping'])).toBeUndefined()
    expect(proto.decodeIf(new Uint8Array([1, 2, 3]), ['ping'])).toBeUndefined()
    expect(proto.decodeIf(encodeFrame('other/1', 1, { nonce: 1 }), ['ping'])).toBeUndefined()
  })

  it('dispatches each message to its handler with the context, and bad ones to onMalformed', () => {
    const seen: string[] = []
    const dispatch = dispatcher(
      proto,
      {
        ping: (b, ctx: string) => seen.push(`ping ${b.nonce} from ${ctx}`),
        route: (b, ctx: string) => seen.push(`route ${b.key.short()} from ${ctx}`),
      },
      (err, ctx) => seen.push(`bad ${err.code} from ${ctx}`),
    )
    dispatch(proto.encode('ping', { nonce: 7 }), 'a')
    dispatch(encodeFrame('epost/test/1', 1, { nonce: 'x' }), 'b')
    dispatch(new Uint8Array([0xc1]), 'c')
    expect(seen).toEqual(['ping 7 from a', 'bad EPOST_CODEC_SCHEMA from b', 'bad EPOST_CODEC_MALFORMED from c'])
  })

  it('refuses a protocol whose message types collide', () => {
    expect(() => defineProtocol('x', { a: { type: 1, schema: v.null() }, b: { type: 1, schema: v.null() } })).toThrowError(
      expect.objectContaining({ code: 'EPOST_INVALID_ARGUMENT' }),
    )
  })

  it('only ever throws EpostError for arbitrary decoded bodies', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 }), fc.anything(), (type, body) => {
        let bytes: Uint8Array
        try {
          bytes = encodeFrame('epost/test/1', type, body)
        } catch {
          return
        }
        try {
          proto.decodeBytes(bytes)
        } catch (e) {
          expect(e).toBeInstanceOf(EpostError)
        }
      }),
      { numRuns: 2000 },
    )
  })
})
