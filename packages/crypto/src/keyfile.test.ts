import { Rng, isEpostError } from '@epost/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { toHex } from './bytes.js'
import { SCRYPT_LOG_N, SCRYPT_P, SCRYPT_R } from './constants.js'
import { decryptKeyFile, encryptKeyFile, keyFileCost } from './keyfile.js'
import { generateSigningKeyPair } from './sign.js'

// Small costs keep the suite fast; the defaults are checked separately.
const FAST = { logN: 4, r: 1, p: 1 }

describe('key files', () => {
  const secret = generateSigningKeyPair().privateKey

  it('round-trip a private key under a passphrase', async () => {
    const file = await encryptKeyFile(secret, 'correct horse battery staple', FAST)
    expect(toHex(await decryptKeyFile(file, 'correct horse battery staple'))).toBe(toHex(secret))
    expect(keyFileCost(file)).toEqual(FAST)
  })

  it('a wrong passphrase is EPOST_CRYPTO_BAD_PASSPHRASE', async () => {
    const file = await encryptKeyFile(secret, 'right', FAST)
    await expect(decryptKeyFile(file, 'wrong')).rejects.toMatchObject({ code: 'EPOST_CRYPTO_BAD_PASSPHRASE' })
    await expect(decryptKeyFile(file, '')).rejects.toMatchObject({ code: 'EPOST_CRYPTO_BAD_PASSPHRASE' })
  })

  it('is salted: the same secret and passphrase give different files', async () => {
    const a = await encryptKeyFile(secret, 'pw', FAST)
    const b = await encryptKeyFile(secret, 'pw', FAST)
    expect(toHex(a)).not.toBe(toHex(b))
    const c = await encryptKeyFile(secret, 'pw', { ...FAST, randomBytes: (n) => new Rng(5).bytes(n) })
    const d = await encryptKeyFile(secret, 'pw', { ...FAST, randomBytes: (n) => new Rng(5).bytes(n) })
    expect(toHex(c)).toBe(toHex(d))
  })

  it('uses strong scrypt costs by default (one slow run) and can be aborted', async () => {
    const file = await encryptKeyFile(secret, 'pw')
    expect(keyFileCost(file)).toEqual({ logN: SCRYPT_LOG_N, r: SCRYPT_R, p: SCRYPT_P })
    expect([SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P]).toEqual([17, 8, 1])
    const ctl = new AbortController()
    ctl.abort()
    await expect(decryptKeyFile(file, 'pw', { signal: ctl.signal })).rejects.toMatchObject({ code: 'EPOST_ABORTED' })
  })

  it('any edit to the file fails like a wrong passphrase, or as a malformed file; never anything else', async () => {
    const file = await encryptKeyFile(secret, 'pw', FAST)
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: file.length * 8 - 1 }), async (bit) => {
        const bad = Uint8Array.from(file)
        bad[bit >> 3]! ^= 1 << (bit & 7)
        try {
          await decryptKeyFile(bad, 'pw')
          expect.unreachable('an edited key file opened')
        } catch (err) {
          expect(isEpostError(err, 'EPOST_CRYPTO_BAD_PASSPHRASE') || isEpostError(err, 'EPOST_CRYPTO_BAD_KEY')).toBe(true)
        }
      }),
      { numRuns: 150 },
    )
  })

  it('refuses files that are not key files, or ask for too much work, before running scrypt', async () => {
    const file = await encryptKeyFile(secret, 'pw', FAST)
    for (const bad of [new Uint8Array(0), file.subarray(0, 40), new Uint8Array(100), 'file' as never]) {
      await expect(decryptKeyFile(bad, 'pw')).rejects.toMatchObject({ code: 'EPOST_CRYPTO_BAD_KEY' })
    }
    const greedy = Uint8Array.from(file)
    greedy[5] = 40 // logN
    await expect(decryptKeyFile(greedy, 'pw')).rejects.toMatchObject({ code: 'EPOST_CRYPTO_BAD_KEY' })
    // Found by the property test above: logN 4 -> 20 with r = 1 breaks RFC 7914's N < 2^(16r).
    const overflow = Uint8Array.from(file)
    overflow[5] = 20
    await expect(decryptKeyFile(overflow, 'pw')).rejects.toMatchObject({ code: 'EPOST_CRYPTO_BAD_KEY' })
    const future = Uint8Array.from(file)
    future[4] = 2
    await expect(decryptKeyFile(future, 'pw')).rejects.toMatchObject({ code: 'EPOST_CRYPTO_BAD_KEY' })
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 120 }), async (junk) => {
        await expect(decryptKeyFile(junk, 'pw')).rejects.toSatisfy((err: unknown) => isEpostError(err))
      }),
      { numRuns: 100 },
    )
  })

  it('rejects bad arguments with typed errors', async () => {
    await expect(encryptKeyFile('secret' as never, 'pw', FAST)).rejects.toMatchObject({ code: 'EPOST_INVALID_ARGUMENT' })
    await expect(encryptKeyFile(secret, 'pw', { logN: 99 })).rejects.toMatchObject({ code: 'EPOST_INVALID_ARGUMENT' })
  })
})
