/** Sizes and defaults of @epost/crypto, in one place. */

/** Ed25519 public key, private key (the 32-byte RFC 8032 seed) and signature sizes. */
export const SIGNING_PUBLIC_KEY_BYTES = 32
export const SIGNING_PRIVATE_KEY_BYTES = 32
export const SIGNATURE_BYTES = 64

/** X25519 key and shared-secret sizes. */
export const BOX_PUBLIC_KEY_BYTES = 32
export const BOX_PRIVATE_KEY_BYTES = 32
export const SHARED_SECRET_BYTES = 32

/** XChaCha20-Poly1305: 256-bit key, 192-bit nonce (safe to draw at random), 128-bit tag. */
export const AEAD_KEY_BYTES = 32
export const AEAD_NONCE_BYTES = 24
export const AEAD_TAG_BYTES = 16

/** Sealed box: ephemeral X25519 public key in front of the AEAD ciphertext. */
export const SEALED_BOX_OVERHEAD_BYTES = BOX_PUBLIC_KEY_BYTES + AEAD_TAG_BYTES

export const SHA256_BYTES = 32
/** HKDF-SHA256 can expand to at most 255 blocks. */
export const HKDF_SHA256_MAX_BYTES = 255 * SHA256_BYTES

/** scrypt defaults for key files: N = 2^17, r = 8, p = 1 (128 MiB, a fraction of a second). */
export const SCRYPT_LOG_N = 17
export const SCRYPT_R = 8
export const SCRYPT_P = 1
/** Limits accepted when opening a key file, so a forged header cannot ask for unbounded work. */
export const SCRYPT_MAX_LOG_N = 22
export const SCRYPT_MAX_R = 32
export const SCRYPT_MAX_P = 16
/** The most memory (128·N·r bytes) a key file may ask scrypt for. */
export const SCRYPT_MAX_MEMORY_BYTES = 1024 * 1024 * 1024
export const KEYFILE_SALT_BYTES = 16

/** Convergent encryption: per-organisation secret and the padding of small bodies. */
export const CONVERGENCE_SECRET_BYTES = 32
/** Bodies shorter than this are padded with random bytes unless padding is turned off. */
export const CONVERGENT_SMALL_BODY_BYTES = 4096
/** Padded bodies are rounded up to a multiple of this. */
export const CONVERGENT_PAD_BLOCK_BYTES = 256
/** At least this many random bytes go into a padded body, so its key cannot be guessed. */
export const CONVERGENT_MIN_PAD_BYTES = 32
/** Pad small bodies by default (ARCHITECTURE.md: small bodies are padded with random bytes). */
export const CONVERGENT_PAD_SMALL_BODIES = true

/** Certificates: how far a peer's clock may run behind the CA's before `issuedAt` is refused. */
export const CERTIFICATE_CLOCK_SKEW_MS = 5 * 60 * 1000
/** Longest email address a user certificate may carry (RFC 5321 path limit). */
export const MAX_ADDRESS_BYTES = 254
