/**
 * HChaCha20 (draft-irtf-cfrg-xchacha §2.2): the ChaCha20 block function without the final
 * addition, keeping words 0-3 and 12-15. XChaCha20-Poly1305 is ChaCha20-Poly1305 under the key
 * HChaCha20(key, nonce[0..16]) with the nonce 0x00000000 || nonce[16..24]; this lets OpenSSL's
 * ChaCha20-Poly1305 do the bulk work while nonces stay 192-bit and safe to draw at random.
 * Reads and writes little-endian explicitly, so it is correct on any host.
 */
const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574] as const

function rotl(x: number, n: number): number {
  return (x << n) | (x >>> (32 - n))
}

function readLE(b: Uint8Array, i: number): number {
  return ((b[i] as number) | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16) | ((b[i + 3] as number) << 24)) >>> 0
}

/** key: 32 bytes, nonce16: 16 bytes; returns the 32-byte subkey. Lengths are the caller's job. */
export function hchacha20(key: Uint8Array, nonce16: Uint8Array): Uint8Array {
  const s = new Uint32Array(16)
  s[0] = SIGMA[0]
  s[1] = SIGMA[1]
  s[2] = SIGMA[2]
  s[3] = SIGMA[3]
  for (let i = 0; i < 8; i++) s[4 + i] = readLE(key, 4 * i)
  for (let i = 0; i < 4; i++) s[12 + i] = readLE(nonce16, 4 * i)
  const qr = (a: number, b: number, c: number, d: number): void => {
    s[a] = (s[a] as number) + (s[b] as number)
    s[d] = rotl((s[d] as number) ^ (s[a] as number), 16)
    s[c] = (s[c] as number) + (s[d] as number)
    s[b] = rotl((s[b] as number) ^ (s[c] as number), 12)
    s[a] = (s[a] as number) + (s[b] as number)
    s[d] = rotl((s[d] as number) ^ (s[a] as number), 8)
    s[c] = (s[c] as number) + (s[d] as number)
    s[b] = rotl((s[b] as number) ^ (s[c] as number), 7)
  }
  for (let round = 0; round < 10; round++) {
    qr(0, 4, 8, 12)
    qr(1, 5, 9, 13)
    qr(2, 6, 10, 14)
    qr(3, 7, 11, 15)
    qr(0, 5, 10, 15)
    qr(1, 6, 11, 12)
    qr(2, 7, 8, 13)
    qr(3, 4, 9, 14)
  }
  const out = new Uint8Array(32)
  const words = [0, 1, 2, 3, 12, 13, 14, 15]
  for (let i = 0; i < 8; i++) {
    const w = s[words[i] as number] as number
    out[4 * i] = w & 0xff
    out[4 * i + 1] = (w >>> 8) & 0xff
    out[4 * i + 2] = (w >>> 16) & 0xff
    out[4 * i + 3] = (w >>> 24) & 0xff
  }
  return out
}
