import { describe, expect, it } from 'vitest'
import { implementations } from './backends/index.js'
import { toHex } from './bytes.js'
import { checkScryptCost, passphraseBytes, scryptKey } from './kdf.js'

describe('scrypt (RFC 7914 §12)', () => {
  it('vector 1: "" / "" / N=16, r=1, p=1', async () => {
    const key = await scryptKey('', new Uint8Array(0), 64, { logN: 4, r: 1, p: 1 })
    expect(toHex(key)).toBe(
      '77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906',
    )
  })

  it('vector 2: "password" / "NaCl" / N=1024, r=8, p=16, on both backends', async () => {
    const expected =
      'fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640'
    const salt = new TextEncoder().encode('NaCl')
    expect(toHex(await scryptKey('password', salt, 64, { logN: 10, r: 8, p: 16 }))).toBe(expected)
    const params = { N: 1024, r: 8, p: 16, dkLen: 64 }
    expect(toHex(await implementations.noble.scrypt(passphraseBytes('password'), salt, params))).toBe(expected)
  })

  it('normalises passphrases to NFC, so composed and decomposed accents give one key', async () => {
    const salt = new Uint8Array(16)
    const composed = await scryptKey('caf\u00e9', salt, 32, { logN: 4, r: 1, p: 1 })
    const decomposed = await scryptKey('cafe\u0301', salt, 32, { logN: 4, r: 1, p: 1 })
    expect(toHex(decomposed)).toBe(toHex(composed))
  })

  it('refuses costs outside the limits, and aborts', async () => {
    expect(() => checkScryptCost({ logN: 0, r: 8, p: 1 })).toThrowError(expect.objectContaining({ code: 'EPOST_INVALID_ARGUMENT' }))
    expect(() => checkScryptCost({ logN: 23, r: 8, p: 1 })).toThrowError(expect.objectContaining({ code: 'EPOST_INVALID_ARGUMENT' }))
    expect(() => checkScryptCost({ logN: 22, r: 8, p: 1 })).toThrowError(expect.objectContaining({ code: 'EPOST_INVALID_ARGUMENT' })) // 4 GiB
    expect(() => checkScryptCost({ logN: 10, r: 0, p: 1 })).toThrowError(expect.objectContaining({ code: 'EPOST_INVALID_ARGUMENT' }))
    expect(() => checkScryptCost({ logN: 17, r: 8, p: 1 })).not.toThrow()
    const ctl = new AbortController()
    ctl.abort()
    await expect(scryptKey('x', new Uint8Array(16), 32, { logN: 4, signal: ctl.signal })).rejects.toMatchObject({ code: 'EPOST_ABORTED' })
    await expect(scryptKey(42 as never, new Uint8Array(16), 32, { logN: 4 })).rejects.toMatchObject({ code: 'EPOST_INVALID_ARGUMENT' })
  })
})
