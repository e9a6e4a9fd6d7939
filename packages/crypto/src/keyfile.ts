import { primitives } from './backends/index.js'
import { concatBytes } from './bytes.js'
import { AEAD_KEY_BYTES, AEAD_NONCE_BYTES, AEAD_TAG_BYTES, KEYFILE_SALT_BYTES, SCRYPT_LOG_N, SCRYPT_P, SCRYPT_R } from './constants.js'
import { cryptoError, expectBytes } from './errors.js'
import { checkScryptCost, scryptKey } from './kdf.js'
import type { ScryptCost, ScryptOptions } from './kdf.js'
import { draw, randomBytes } from './random.js'
import type { RandomBytes } from './random.js'

/**
 * Private keys at rest: the secret is encrypted with XChaCha20-Poly1305 under
 * scrypt(passphrase, random salt). Layout:
 *
 *   'EPKF' | version (1) | logN | r | p | salt (16) | nonce (24) | ciphertext || tag (16)
 *
 * The whole header is the AEAD's associated data, so edited costs or salt fail like a wrong
 * passphrase. The costs in a file are bounded (SCRYPT_MAX_*) before any work is done.
 */

const MAGIC = [0x45, 0x50, 0x4b, 0x46] as const // 'EPKF'
const KEYFILE_VERSION = 1
const HEADER_BYTES = MAGIC.length + 4 + KEYFILE_SALT_BYTES + AEAD_NONCE_BYTES

export interface KeyFileOptions extends ScryptOptions {
  /** Salt and nonce source; the CSPRNG by default. */
  randomBytes?: RandomBytes
}

/** Encrypts `secret` (one or more private keys, in whatever encoding the caller uses) under `passphrase`. */
export async function encryptKeyFile(secret: Uint8Array, passphrase: string | Uint8Array, options: KeyFileOptions = {}): Promise<Uint8Array> {
  expectBytes(secret, 'the secret to protect', 'EPOST_INVALID_ARGUMENT')
  const cost: ScryptCost = { logN: options.logN ?? SCRYPT_LOG_N, r: options.r ?? SCRYPT_R, p: options.p ?? SCRYPT_P }
  checkScryptCost(cost)
  const random = options.randomBytes ?? randomBytes
  const salt = draw(random, KEYFILE_SALT_BYTES)
  const nonce = draw(random, AEAD_NONCE_BYTES)
  const header = concatBytes(Uint8Array.from([...MAGIC, KEYFILE_VERSION, cost.logN, cost.r, cost.p]), salt, nonce)
  const key = await scryptKey(passphrase, salt, AEAD_KEY_BYTES, { ...cost, signal: options.signal })
  try {
    return concatBytes(header, primitives.xchacha20poly1305Encrypt(key, nonce, secret, header))
  } finally {
    key.fill(0)
  }
}

/** The scrypt costs recorded in a key file (EPOST_CRYPTO_BAD_KEY if it is not one). */
export function keyFileCost(file: Uint8Array): ScryptCost {
  expectBytes(file, 'the key file', 'EPOST_CRYPTO_BAD_KEY')
  if (file.length < HEADER_BYTES + AEAD_TAG_BYTES || MAGIC.some((b, i) => file[i] !== b)) {
    throw cryptoError('EPOST_CRYPTO_BAD_KEY', 'this is not an ePOST key file (bad magic or too short); check the path')
  }
  if (file[4] !== KEYFILE_VERSION) {
    throw cryptoError('EPOST_CRYPTO_BAD_KEY', `unsupported key file version ${String(file[4])}; upgrade epost`)
  }
  const cost = { logN: file[5] as number, r: file[6] as number, p: file[7] as number }
  checkScryptCost(cost, 'EPOST_CRYPTO_BAD_KEY')
  return cost
}

/** Decrypts a key file; EPOST_CRYPTO_BAD_PASSPHRASE if the passphrase is wrong (or the file was altered). */
export async function decryptKeyFile(file: Uint8Array, passphrase: string | Uint8Array, options: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
  const cost = keyFileCost(file)
  const header = file.subarray(0, HEADER_BYTES)
  const salt = header.subarray(8, 8 + KEYFILE_SALT_BYTES)
  const nonce = header.subarray(8 + KEYFILE_SALT_BYTES)
  const key = await scryptKey(passphrase, salt, AEAD_KEY_BYTES, { ...cost, signal: options.signal })
  try {
    const secret = primitives.xchacha20poly1305Decrypt(key, nonce, file.subarray(HEADER_BYTES), header)
    if (secret === undefined) {
      throw cryptoError('EPOST_CRYPTO_BAD_PASSPHRASE', 'wrong passphrase for this key file (or the file was altered); try again')
    }
    return secret
  } finally {
    key.fill(0)
  }
}
