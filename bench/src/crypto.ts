import {
  aeadOpen,
  aeadSeal,
  boxKeyPairFromSeed,
  generateAeadKey,
  hashToId,
  implementations,
  openBox,
  sealBox,
  sign,
  signingKeyPairFromSeed,
  verify,
} from '@epost/crypto'
import type { Primitives } from '@epost/crypto'
import type { BenchSection, Figure } from './harness.js'
import { opsPerSecond } from './harness.js'

// Candidates for every hot path: node:crypto (OpenSSL) against the @noble libraries, then the
// validated public API of @epost/crypto (what the stack actually calls). docs/crypto.md records
// the figures and the choice.

const SIG_MESSAGE_BYTES = 256
const AEAD_BYTES = 64 * 1024
const HASH_BYTES = 64
const BOX_MESSAGE_BYTES = 256

function filled(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff
  return out
}

const mbps = (opsPerSec: number, bytes: number): number => (opsPerSec * bytes) / 1e6

async function primitiveFigures(impl: Primitives, quick: boolean): Promise<Figure[]> {
  const lib = impl.name
  const seed = filled(32, 1)
  const publicKey = impl.ed25519PublicKey(seed)
  const message = filled(SIG_MESSAGE_BYTES, 2)
  const signature = impl.ed25519Sign(seed, message)
  if (!impl.ed25519Verify(publicKey, message, signature)) throw new Error(`${lib}: Ed25519 self-check failed`)
  const xPriv = filled(32, 3)
  const xPub = impl.x25519PublicKey(filled(32, 4))
  const key = filled(32, 5)
  const nonce24 = filled(24, 6)
  const nonce12 = filled(12, 7)
  const aad = new Uint8Array(0)
  const body = filled(AEAD_BYTES, 8)
  const sealed = impl.xchacha20poly1305Encrypt(key, nonce24, body, aad)
  const small = filled(HASH_BYTES, 9)

  const signRate = await opsPerSecond(() => impl.ed25519Sign(seed, message), { quick })
  const verifyRate = await opsPerSecond(() => impl.ed25519Verify(publicKey, message, signature), { quick })
  const x25519Rate = await opsPerSecond(() => impl.x25519(xPriv, xPub), { quick })
  const sealRate = await opsPerSecond(() => impl.xchacha20poly1305Encrypt(key, nonce24, body, aad), { quick })
  const openRate = await opsPerSecond(() => impl.xchacha20poly1305Decrypt(key, nonce24, sealed, aad), { quick })
  const gcmRate = await opsPerSecond(() => impl.aes256gcmEncrypt(key, nonce12, body, aad), { quick })
  const shaRate = await opsPerSecond(() => impl.sha256(small), { quick })
  const shaBulkRate = await opsPerSecond(() => impl.sha256(body), { quick })
  const note = lib
  return [
    { section: 'crypto', name: `Ed25519 sign ${SIG_MESSAGE_BYTES} B [${lib}]`, value: signRate, unit: 'ops/s', note },
    { section: 'crypto', name: `Ed25519 verify ${SIG_MESSAGE_BYTES} B [${lib}]`, value: verifyRate, unit: 'ops/s', note },
    { section: 'crypto', name: `X25519 shared secret [${lib}]`, value: x25519Rate, unit: 'ops/s', note },
    { section: 'crypto', name: `XChaCha20-Poly1305 seal 64 KiB [${lib}]`, value: mbps(sealRate, AEAD_BYTES), unit: 'MB/s', note },
    { section: 'crypto', name: `XChaCha20-Poly1305 open 64 KiB [${lib}]`, value: mbps(openRate, AEAD_BYTES), unit: 'MB/s', note },
    { section: 'crypto', name: `AES-256-GCM seal 64 KiB [${lib}]`, value: mbps(gcmRate, AEAD_BYTES), unit: 'MB/s', note: `${lib}; candidate, not used` },
    { section: 'crypto', name: `SHA-256 ${HASH_BYTES} B [${lib}]`, value: shaRate, unit: 'ops/s', note },
    { section: 'crypto', name: `SHA-256 64 KiB [${lib}]`, value: mbps(shaBulkRate, AEAD_BYTES), unit: 'MB/s', note },
  ]
}

async function apiFigures(quick: boolean): Promise<Figure[]> {
  const signer = signingKeyPairFromSeed(filled(32, 11))
  const message = filled(SIG_MESSAGE_BYTES, 12)
  const signature = sign(signer.privateKey, message)
  const recipient = boxKeyPairFromSeed(filled(32, 13))
  const note = filled(BOX_MESSAGE_BYTES, 14)
  const box = sealBox(recipient.publicKey, note)
  const key = generateAeadKey()
  const body = filled(AEAD_BYTES, 15)
  const sealed = aeadSeal(key, body)
  const hashInput = filled(HASH_BYTES, 16)
  const api = '@epost/crypto API (validated)'
  return [
    { section: 'crypto', name: 'API sign', value: await opsPerSecond(() => sign(signer.privateKey, message), { quick }), unit: 'ops/s', note: api },
    { section: 'crypto', name: 'API verify', value: await opsPerSecond(() => verify(signer.publicKey, message, signature), { quick }), unit: 'ops/s', note: api },
    { section: 'crypto', name: `API sealBox ${BOX_MESSAGE_BYTES} B`, value: await opsPerSecond(() => sealBox(recipient.publicKey, note), { quick }), unit: 'boxes/s', note: api },
    { section: 'crypto', name: `API openBox ${BOX_MESSAGE_BYTES} B`, value: await opsPerSecond(() => openBox(recipient, box), { quick }), unit: 'boxes/s', note: api },
    { section: 'crypto', name: 'API aeadSeal 64 KiB', value: mbps(await opsPerSecond(() => aeadSeal(key, body), { quick }), AEAD_BYTES), unit: 'MB/s', note: api },
    { section: 'crypto', name: 'API aeadOpen 64 KiB', value: mbps(await opsPerSecond(() => aeadOpen(key, sealed), { quick }), AEAD_BYTES), unit: 'MB/s', note: api },
    { section: 'crypto', name: `API hashToId ${HASH_BYTES} B`, value: await opsPerSecond(() => hashToId(hashInput), { quick }), unit: 'ops/s', note: api },
  ]
}

const section: BenchSection = {
  title: 'crypto',
  async run({ quick }) {
    const figures: Figure[] = []
    // The API first and @noble last: the pure-JS runs leave a large, busy heap behind them, which
    // slows the 64 KiB allocations of whatever is measured next.
    figures.push(...(await apiFigures(quick)))
    for (const impl of [implementations.node, implementations.noble]) figures.push(...(await primitiveFigures(impl, quick)))
    return figures
  },
}

export default section
