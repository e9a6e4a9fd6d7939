/**
 * @epost/crypto: the one module that owns all cryptography (and the only importer of @noble/* and
 * node:crypto). Hot paths run on node:crypto; @noble backs the cross-checks. See docs/crypto.md.
 */
export * from './constants.js'
export { randomBytes } from './random.js'
export type { RandomBytes } from './random.js'
export { equalBytes, toHex, fromHex, concatBytes } from './bytes.js'
export { generateSigningKeyPair, signingKeyPairFromSeed, signingPublicKey, sign, verify, assertSignature } from './sign.js'
export type { SigningKeyPair } from './sign.js'
export { generateBoxKeyPair, boxKeyPairFromSeed, boxPublicKey, x25519SharedSecret, sealBox, openBox } from './box.js'
export type { BoxKeyPair, SealBoxOptions } from './box.js'
export { generateAeadKey, aeadEncrypt, aeadDecrypt, aeadSeal, aeadOpen } from './aead.js'
export type { AeadSealOptions } from './aead.js'
export { sha256, sha256Concat, hashToId, hmacSha256 } from './hash.js'
export { hkdfSha256, scryptKey, passphraseBytes } from './kdf.js'
export type { HkdfOptions, ScryptOptions, ScryptCost } from './kdf.js'
export {
  NODE_CERTIFICATE_BYTES,
  issueNodeCertificate,
  encodeNodeCertificate,
  decodeNodeCertificate,
  verifyNodeCertificate,
} from './node-certificate.js'
export type { NodeCertificate, NodeCertificateSubject, CertificateCheckOptions } from './node-certificate.js'
export { createNodeCredentials, createCertificateVerifier } from './credentials.js'
export {
  issueUserCertificate,
  encodeUserCertificate,
  decodeUserCertificate,
  verifyUserCertificate,
  userCertificateHandle,
} from './user-certificate.js'
export type { UserCertificate, UserCertificateSubject } from './user-certificate.js'
export { encryptKeyFile, decryptKeyFile, keyFileCost } from './keyfile.js'
export type { KeyFileOptions } from './keyfile.js'
export { generateConvergenceSecret, convergentEncrypt, convergentDecrypt, convergentHandle, convergentKey } from './convergent.js'
export type { ConvergentBlock, ConvergentOptions } from './convergent.js'
export { implementations } from './backends/index.js'
export type { Primitives, ScryptParams } from './backends/index.js'
