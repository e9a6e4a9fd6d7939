/**
 * The raw primitives, implemented twice: by node:crypto (OpenSSL) and by the @noble libraries.
 * The public API validates its inputs and then calls the `node` backend on the hot paths; the
 * `noble` backend serves the cross-checks in the tests and the comparison in bench/.
 * Backends assume valid lengths; they may throw raw errors, which the public API maps.
 */
export interface Primitives {
  readonly name: string
  ed25519PublicKey(seed: Uint8Array): Uint8Array
  ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array
  /** False for a bad signature; may throw on a public key that is not a curve point. */
  ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean
  x25519PublicKey(privateKey: Uint8Array): Uint8Array
  /** Throws on a low-order public key (all-zero shared secret). */
  x25519(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array
  /**
   * XChaCha20-Poly1305; returns ciphertext || tag, after `headroom` zero bytes left for the caller
   * to fill (a nonce or an ephemeral key), which saves copying large messages.
   */
  xchacha20poly1305Encrypt(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, headroom?: number): Uint8Array
  /** Undefined when the tag does not check out. */
  xchacha20poly1305Decrypt(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | undefined
  /** AES-256-GCM with a 12-byte nonce (measured as a candidate, not used by the API). */
  aes256gcmEncrypt(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array
  aes256gcmDecrypt(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | undefined
  sha256(...parts: Uint8Array[]): Uint8Array
  hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array
  scrypt(passphrase: Uint8Array, salt: Uint8Array, params: ScryptParams): Promise<Uint8Array>
}

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number
  r: number
  p: number
  dkLen: number
}
