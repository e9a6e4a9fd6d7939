import { Id } from '@epost/core'
import { decodeFrame, defineProtocol, encodeFrame, schema } from '@epost/codec'
import type { BenchSection, Figure } from './harness.js'
import { opsPerSecond } from './harness.js'

const { v } = schema

// A message shaped like Pastry's routed envelope: key, source handle, hop count and a payload.
const proto = defineProtocol('epost/bench/1', {
  route: {
    type: 1,
    schema: v.object({ key: schema.id, source: schema.handle, hops: schema.uint, payload: schema.bytes(1 << 20) }),
  },
})

const section: BenchSection = {
  title: 'codec',
  async run({ quick }) {
    const key = Id.fromHex('0123456789abcdef0123456789abcdef')
    const figures: Figure[] = []
    for (const size of [100, 16 * 1024]) {
      const body = { key: key.bytes, source: [key.bytes, 'ws://127.0.0.1:40000'] as [Uint8Array, string], hops: 3, payload: new Uint8Array(size) }
      const bytes = proto.encode('route', body)
      const enc = await opsPerSecond(() => proto.encode('route', body), { quick })
      const dec = await opsPerSecond(() => proto.decodeBytes(bytes), { quick })
      const raw = await opsPerSecond(() => decodeFrame(encodeFrame('epost/bench/1', 1, body)), { quick })
      const both = await opsPerSecond(() => proto.decodeBytes(proto.encode('route', body)), { quick })
      const note = `${size} B payload, ${bytes.length} B frame`
      figures.push(
        { section: 'codec', name: `encode ${size} B`, value: enc, unit: 'frames/s', note },
        { section: 'codec', name: `decode + schema check ${size} B`, value: dec, unit: 'frames/s', note },
        { section: 'codec', name: `encode+decode envelope only ${size} B`, value: raw, unit: 'frames/s', note },
        { section: 'codec', name: `encode+decode+validate ${size} B`, value: both, unit: 'frames/s', note },
      )
    }
    return figures
  },
}

export default section
