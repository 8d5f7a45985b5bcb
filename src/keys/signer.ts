/**
 * The signing role: anything that can sign bytes with a private key it may never
 * reveal (a key file, a KMS, an HSM, a test double).
 */

/** Options of {@link Signer.sign}. @public */
export interface SignOptions {
  signal?: AbortSignal;
}

/**
 * Signs payloads for cosign-compatible signatures. Implementations choose the hash
 * that goes with their key, as cosign does: ECDSA P-256 with SHA-256, P-384 with
 * SHA-384, P-521 with SHA-512, RSA PKCS#1 v1.5 with SHA-256.
 * @public
 */
export interface Signer {
  /**
   * Signs the exact `payload` bytes (the signer hashes them). Returns the raw
   * signature: ASN.1 DER for ECDSA, PKCS#1 v1.5 bytes for RSA.
   */
  sign(payload: Uint8Array, options?: SignOptions): Promise<Uint8Array>;
  /** The signer's public key as a PEM `PUBLIC KEY` (PKIX, SubjectPublicKeyInfo) block. */
  publicKeyPem(options?: SignOptions): Promise<string>;
}
