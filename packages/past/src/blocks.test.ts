import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { EpostError, Rng } from '@epost/core'
import { signingKeyPairFromSeed } from '@epost/crypto'
import { blockHandle, contentBlock, decodeBlock, encodeBlock, publicKeyBlock, verifyBlock } from './blocks.js'

const ca = signingKeyPairFromSeed(new Rng(1).bytes(32))
const owner = signingKeyPairFromSeed(new Rng(2).bytes(32))

describe('blocks', () => {
  it('round-trip and verify at their own handle', () => {
    for (const b of [contentBlock(new Uint8Array([1, 2, 3])), publicKeyBlock(owner, 'n', 7, new Uint8Array([9]))]) {
      const back = decodeBlock(encodeBlock(b))
      expect(encodeBlock(back)).toEqual(encodeBlock(b))
      expect(back.kind).toBe(b.kind)
      expect(() => verifyBlock(blockHandle(back), back, { caPublicKey: ca.publicKey })).not.toThrow()
    }
  })

  it('never throw anything but an EpostError on random or damaged bytes, and damage is caught', () => {
    const good = encodeBlock(publicKeyBlock(owner, 'n', 7, new Uint8Array(40)))
    const handle = blockHandle(decodeBlock(good))
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), (random, at) => {
        const flipped = Uint8Array.from(good)
        const i = at % good.length
        flipped[i] = (flipped[i] as number) ^ 0x01
        for (const bytes of [random, flipped]) {
          try {
            verifyBlock(handle, decodeBlock(bytes), { caPublicKey: ca.publicKey })
            // Only an undamaged block verifies at this handle.
            expect(bytes).toEqual(good)
          } catch (e) {
            expect(e).toBeInstanceOf(EpostError)
          }
        }
      }),
      { numRuns: 2000 },
    )
  })
})
