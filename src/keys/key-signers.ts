/**
 * Signing and verification with cosign's key checks and hash rules: ECDSA
 * P-256/SHA-256, P-384/SHA-384, P-521/SHA-512, RSA 2048–4096 bits with SHA-256
 * (sigstore/sigstore `pkg/cryptoutils/goodkey`). {@link keyObjectSigner},
 * {@link keyFileSigner}, {@link verifySignature} and {@link publicKeyPem} are defined
 * here and re-exported from `keys.ts`.
 */
import { createPublicKey, KeyObject, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { ChartproofError } from '../errors.js';
import { decryptPrivateKey, encodePem } from './key-envelope.js';
import type { KeyOptions, KeyPassword } from './keys.js';
import type { Signer, SignOptions } from './signer.js';

const ED25519_WHY =
  'Ed25519 keys are not supported: cosign signs with Ed25519 keys as Ed25519ph (pre-hashed), which node:crypto cannot produce; use ECDSA P-256';

// ---------------------------------------------------------------------------------
// Key checks and hash rules

/** A key chartproof signs with, and its hash. @internal */
export type KeyKind = { kind: 'ec'; hash: 'sha256' | 'sha384' | 'sha512' } | { kind: 'rsa'; hash: 'sha256' };

const CURVE_HASH: Record<string, 'sha256' | 'sha384' | 'sha512'> = {
  prime256v1: 'sha256',
  secp384r1: 'sha384',
  secp521r1: 'sha512',
};

/** What cosign's `goodkey` accepts for signing, and the hash that goes with it. @internal */
export function signingKind(key: KeyObject): KeyKind {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const hash = CURVE_HASH[details.namedCurve ?? ''];
      if (!hash) {
        throw new ChartproofError(
          'KEY_UNSUPPORTED',
          `unsupported EC curve ${details.namedCurve ?? '(unknown)'}: use P-256, P-384 or P-521`,
        );
      }
      return { kind: 'ec', hash };
    }
    case 'rsa': {
      const bits = details.modulusLength ?? 0;
      if (bits < 2048 || bits > 4096) {
        throw new ChartproofError(
          'KEY_UNSUPPORTED',
          `unsupported RSA key size ${bits}: use 2048 to 4096 bits`,
        );
      }
      return { kind: 'rsa', hash: 'sha256' };
    }
    case 'ed25519':
      throw new ChartproofError('KEY_UNSUPPORTED', ED25519_WHY);
    default:
      throw new ChartproofError(
        'KEY_UNSUPPORTED',
        `unsupported key type ${key.asymmetricKeyType ?? '(none)'}`,
      );
  }
}

/** `key` as an asymmetric `KeyObject` (a private one when `type` is `private`). @internal */
export function requireKeyObject(key: unknown, type: 'private' | 'any'): KeyObject {
  if (!(key instanceof KeyObject))
    throw new ChartproofError('INVALID_ARGUMENT', 'expected a node:crypto KeyObject');
  const k = key;
  if (type === 'private' && k.type !== 'private') {
    throw new ChartproofError('INVALID_ARGUMENT', `expected a private key, got a ${k.type} key`);
  }
  if (k.type === 'secret') throw new ChartproofError('INVALID_ARGUMENT', 'expected an asymmetric key');
  return k;
}

/** The public half of a public or private key. @internal */
export function publicOf(key: KeyObject): KeyObject {
  const k = requireKeyObject(key, 'any');
  return k.type === 'private' ? createPublicKey(k) : k;
}

/**
 * The PEM `PUBLIC KEY` (PKIX SubjectPublicKeyInfo) of a public or private key: the
 * content of `cosign.pub`.
 * @public
 */
export function publicKeyPem(key: KeyObject): string {
  return encodePem('PUBLIC KEY', publicOf(key).export({ format: 'der', type: 'spki' }));
}

// ---------------------------------------------------------------------------------
// Signing and verification

/**
 * A {@link Signer} over an in-memory private key, with cosign's hash rules: ECDSA
 * P-256/SHA-256, P-384/SHA-384, P-521/SHA-512 (ASN.1 DER signatures), RSA PKCS#1 v1.5
 * with SHA-256.
 * @throws {@link ChartproofError} `KEY_UNSUPPORTED` for other keys (Ed25519, P-224,
 * RSA outside 2048–4096 bits), `INVALID_ARGUMENT` if `key` is not a private key.
 * @public
 */
export function keyObjectSigner(key: KeyObject): Signer {
  const privateKey = requireKeyObject(key, 'private');
  const { hash } = signingKind(privateKey);
  const pub = publicKeyPem(privateKey);
  return {
    async sign(payload: Uint8Array, options: SignOptions = {}): Promise<Uint8Array> {
      options.signal?.throwIfAborted();
      return new Promise((resolve, reject) =>
        nodeSign(hash, payload, privateKey, (err, sig) => (err ? reject(err) : resolve(new Uint8Array(sig)))),
      );
    },
    async publicKeyPem(options: SignOptions = {}): Promise<string> {
      options.signal?.throwIfAborted();
      return pub;
    },
  };
}

/**
 * A {@link Signer} from a cosign key file: decrypts `privateKeyPem` now (so a wrong
 * password fails here, not at the first signature) and signs like {@link keyObjectSigner}.
 * @throws {@link ChartproofError} as {@link decryptPrivateKey} and {@link keyObjectSigner}.
 * @public
 */
export async function keyFileSigner(
  privateKeyPem: string | Uint8Array,
  password: KeyPassword,
  options: KeyOptions = {},
): Promise<Signer> {
  return keyObjectSigner(await decryptPrivateKey(privateKeyPem, password, options));
}

/**
 * Verifies `signature` over `payload` with cosign's hash rules (see
 * {@link keyObjectSigner}). Returns false for any signature that does not verify,
 * including malformed bytes; never throws for those.
 * @throws {@link ChartproofError} `KEY_UNSUPPORTED` when the key is not an ECDSA
 * P-256/P-384/P-521 or RSA 2048–4096-bit key.
 * @public
 */
export function verifySignature(publicKey: KeyObject, payload: Uint8Array, signature: Uint8Array): boolean {
  const key = publicOf(publicKey);
  const { hash } = signingKind(key);
  try {
    return nodeVerify(hash, payload, key, signature);
  } catch {
    return false;
  }
}
