/**
 * cosign-compatible key files: `cosign.key` (an encrypted PKCS#8 private key in a PEM
 * `ENCRYPTED SIGSTORE PRIVATE KEY` or `ENCRYPTED COSIGN PRIVATE KEY` block) and
 * `cosign.pub` (PEM `PUBLIC KEY`), plus signers and a verify helper using cosign's
 * hash rules.
 *
 * The PEM body is the JSON envelope of go-securesystemslib `encrypted.Encrypt`:
 * scrypt (N = 32768, 65536 or 131072, r = 8, p = 1) derives a 32-byte key from the
 * password and a 32-byte salt; NaCl secretbox (XSalsa20-Poly1305) seals the PKCS#8 DER.
 *
 * The envelope and PEM code lives in `key-envelope.ts`, the signers and hash rules in
 * `key-signers.ts`; their public functions are re-exported here.
 *
 * References: sigstore/cosign `pkg/cosign/keys.go`, secure-systems-lab/go-securesystemslib
 * `encrypted/encrypted.go`, sigstore/sigstore `pkg/cryptoutils/goodkey`.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  generateKeyPair as nodeGenerateKeyPair,
  X509Certificate,
} from 'node:crypto';
import { access } from 'node:fs/promises';
import { ChartproofError } from '../errors.js';
import { writeFileAtomic } from '../fs.js';
import { decodePem, type PemBlock, parsePkcs8, sealPrivateKey } from './key-envelope.js';
import { publicKeyPem, publicOf, requireKeyObject, signingKind } from './key-signers.js';

export { decryptPrivateKey } from './key-envelope.js';
export { keyFileSigner, keyObjectSigner, publicKeyPem, verifySignature } from './key-signers.js';

/** Key algorithms chartproof generates and signs with (cosign's `SupportedKeyDetails`). @public */
export type KeyAlgorithm = 'ecdsa-p256' | 'ecdsa-p384' | 'ecdsa-p521' | 'rsa-2048' | 'rsa-3072' | 'rsa-4096';

/**
 * Label of the encrypted private key PEM block: `SIGSTORE` (`ENCRYPTED SIGSTORE PRIVATE
 * KEY`, written by cosign 2.0.1 and later) or `COSIGN` (`ENCRYPTED COSIGN PRIVATE KEY`,
 * the older label, the only one containers/image before v5.25 / skopeo before 1.12 reads).
 * @public
 */
export type KeyPemType = 'SIGSTORE' | 'COSIGN';

/**
 * scrypt cost of a key file: 32768 (legacy; the only value cosign before 2.2 and
 * containers/image before v5.28 / skopeo before 1.14 accept), 65536 (cosign's default)
 * or 131072 (OWASP recommendation). r = 8 and p = 1 always.
 * @public
 */
export type ScryptN = 32768 | 65536 | 131072;

/** A password: a string is used as its UTF-8 bytes, as cosign does. @public */
export type KeyPassword = string | Uint8Array;

/** Options of {@link encryptPrivateKey}. @public */
export interface EncryptPrivateKeyOptions {
  /** PEM label. If unset, `SIGSTORE` (cosign's default) is used. */
  pemType?: KeyPemType;
  /** scrypt cost. If unset, 65536 (cosign's default) is used. */
  scryptN?: ScryptN;
  /** Aborts the key derivation; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/**
 * Options of {@link generateKeyPair}. The defaults are cosign's (`ecdsa-p256`,
 * `SIGSTORE`, N = 65536). For old skopeo / containers/image readers choose
 * `pemType: 'COSIGN', scryptN: 32768`: every cosign and containers/image version reads that.
 * @public
 */
export interface GenerateKeyPairOptions extends EncryptPrivateKeyOptions {
  /** Key algorithm. If unset, `ecdsa-p256` is used. */
  algorithm?: KeyAlgorithm;
  /** Password that encrypts the private key; may be empty, as in cosign. */
  password: KeyPassword;
}

/** A cosign key pair as PEM text: `cosign.key` and `cosign.pub` contents. @public */
export interface KeyPairPem {
  /** Encrypted private key (PEM `ENCRYPTED SIGSTORE PRIVATE KEY` or `ENCRYPTED COSIGN PRIVATE KEY`). */
  privateKeyPem: string;
  /** Public key (PEM `PUBLIC KEY`, PKIX SubjectPublicKeyInfo). */
  publicKeyPem: string;
}

/** Options of calls that only need cancellation. @public */
export interface KeyOptions {
  /** Aborts the key derivation; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** Options of {@link writeKeyPair}. @public */
export interface WriteKeyPairOptions {
  /** Replace existing `<prefix>.key` / `<prefix>.pub`. If unset, existing files are an `IO` error. */
  force?: boolean;
  /** Checked before each file is renamed into place. */
  signal?: AbortSignal;
}

/** Paths written by {@link writeKeyPair}. @public */
export interface KeyPairPaths {
  privateKeyPath: string;
  publicKeyPath: string;
}

// ---------------------------------------------------------------------------------
// Encrypt

/**
 * Encrypts a private key into cosign's key file format (PEM text of `cosign.key`).
 * The key must be one chartproof can sign with (see {@link KeyAlgorithm}).
 * @param key - a private `KeyObject`, or PKCS#8 DER bytes.
 * @param password - may be empty; cosign accepts empty passwords.
 * @throws {@link ChartproofError} `KEY_INVALID` (DER is not PKCS#8), `KEY_UNSUPPORTED`
 * (algorithm), `INVALID_ARGUMENT` (not a private key, bad option).
 * @public
 */
export async function encryptPrivateKey(
  key: KeyObject | Uint8Array,
  password: KeyPassword,
  options: EncryptPrivateKeyOptions = {},
): Promise<string> {
  const keyObject = key instanceof Uint8Array ? parsePkcs8(key) : requireKeyObject(key, 'private');
  signingKind(keyObject);
  return sealPrivateKey(keyObject, password, options);
}

// ---------------------------------------------------------------------------------
// Key pairs

const GENERATE: Record<KeyAlgorithm, () => Promise<KeyObject>> = {
  'ecdsa-p256': () => generateEc('P-256'),
  'ecdsa-p384': () => generateEc('P-384'),
  'ecdsa-p521': () => generateEc('P-521'),
  'rsa-2048': () => generateRsa(2048),
  'rsa-3072': () => generateRsa(3072),
  'rsa-4096': () => generateRsa(4096),
};

function generateEc(namedCurve: string): Promise<KeyObject> {
  return new Promise((resolve, reject) =>
    nodeGenerateKeyPair('ec', { namedCurve }, (err, _pub, priv) => (err ? reject(err) : resolve(priv))),
  );
}

function generateRsa(modulusLength: number): Promise<KeyObject> {
  return new Promise((resolve, reject) =>
    nodeGenerateKeyPair('rsa', { modulusLength }, (err, _pub, priv) => (err ? reject(err) : resolve(priv))),
  );
}

/**
 * Generates a key pair like `cosign generate-key-pair`. Defaults are cosign's: ECDSA
 * P-256, `ENCRYPTED SIGSTORE PRIVATE KEY`, scrypt N = 65536. For the widest reader
 * support (containers/image / skopeo before 1.14, cosign before 2.2) pass
 * `pemType: 'COSIGN', scryptN: 32768`.
 * @throws {@link ChartproofError} `INVALID_ARGUMENT` for an unknown algorithm or option.
 * @public
 */
export async function generateKeyPair(options: GenerateKeyPairOptions): Promise<KeyPairPem> {
  if (options?.password === undefined) {
    throw new ChartproofError('INVALID_ARGUMENT', 'generateKeyPair needs a password (it may be empty)');
  }
  const algorithm = options.algorithm ?? 'ecdsa-p256';
  const generate = Object.hasOwn(GENERATE, algorithm) ? GENERATE[algorithm] : undefined;
  if (!generate) throw new ChartproofError('INVALID_ARGUMENT', `unknown key algorithm "${algorithm}"`);
  options.signal?.throwIfAborted();
  const key = await generate();
  return {
    privateKeyPem: await encryptPrivateKey(key, options.password, options),
    publicKeyPem: publicKeyPem(key),
  };
}

/** Parses an unencrypted private key in one of the forms `cosign import-key-pair` reads. */
function parseImportable(block: PemBlock): KeyObject {
  const formats: Record<string, 'pkcs1' | 'sec1' | 'pkcs8'> = {
    'RSA PRIVATE KEY': 'pkcs1',
    'EC PRIVATE KEY': 'sec1',
    'PRIVATE KEY': 'pkcs8',
  };
  const type = formats[block.label];
  if (!type) {
    throw new ChartproofError(
      'KEY_INVALID',
      `unsupported PEM type "${block.label}": expected RSA PRIVATE KEY, EC PRIVATE KEY or PRIVATE KEY`,
    );
  }
  if (block.headers) {
    throw new ChartproofError('KEY_UNSUPPORTED', 'PEM-encrypted (Proc-Type) private keys are not supported');
  }
  try {
    return createPrivateKey({ key: block.der, format: 'der', type });
  } catch (e) {
    throw new ChartproofError('KEY_INVALID', `cannot parse the ${block.label}`, { cause: e });
  }
}

/**
 * Imports an unencrypted private key like `cosign import-key-pair`: PEM `RSA PRIVATE
 * KEY` (PKCS#1), `EC PRIVATE KEY` (SEC1) or `PRIVATE KEY` (PKCS#8) holding an ECDSA
 * P-256/P-384/P-521 or RSA 2048–4096-bit key, re-encrypted as a cosign key file.
 * Unlike cosign, Ed25519 keys are refused, since cosign signs them as Ed25519ph.
 * @throws {@link ChartproofError} `KEY_INVALID` (unparsable, wrong PEM type),
 * `KEY_UNSUPPORTED` (P-224 and other curves, RSA below 2048 or above 4096 bits, Ed25519).
 * @public
 */
export async function importKeyPair(
  pem: string | Uint8Array,
  password: KeyPassword,
  options: EncryptPrivateKeyOptions = {},
): Promise<KeyPairPem> {
  const key = parseImportable(decodePem(pem));
  signingKind(key);
  return {
    privateKeyPem: await encryptPrivateKey(key, password, options),
    publicKeyPem: publicKeyPem(key),
  };
}

/**
 * Parses a PEM `PUBLIC KEY` (PKIX) block, or a PEM `CERTIFICATE` whose public key is
 * taken (as cosign's `--key` and `--certificate` accept).
 * @throws {@link ChartproofError} `KEY_INVALID` for other PEM types or unparsable keys.
 * @public
 */
export function loadPublicKey(pem: string | Uint8Array): KeyObject {
  const block = decodePem(pem);
  try {
    if (block.label === 'PUBLIC KEY') return createPublicKey({ key: block.der, format: 'der', type: 'spki' });
    if (block.label === 'CERTIFICATE') return new X509Certificate(block.der).publicKey;
  } catch (e) {
    throw new ChartproofError('KEY_INVALID', `cannot parse the ${block.label}`, { cause: e });
  }
  throw new ChartproofError(
    'KEY_INVALID',
    `unsupported PEM type "${block.label}": expected PUBLIC KEY or CERTIFICATE`,
  );
}

/**
 * The key hint cosign and sigstore put in a bundle's `verificationMaterial.publicKey.hint`:
 * standard base64 of the SHA-256 of the PKIX (SPKI) DER public key.
 * @public
 */
export function keyHint(publicKey: KeyObject): string {
  const der = publicOf(publicKey).export({ format: 'der', type: 'spki' });
  return createHash('sha256').update(der).digest('base64');
}

/**
 * The key file password from `COSIGN_PASSWORD` in `env` (pass `process.env` at the CLI
 * layer). A variable that is set but empty is the empty password, as in cosign;
 * `undefined` means "not set, ask the user".
 * @public
 */
export function passwordFromEnv(env: Readonly<Record<string, string | undefined>>): string | undefined {
  return env.COSIGN_PASSWORD;
}

/**
 * Writes `<prefix>.key` (mode 0600) and `<prefix>.pub` (mode 0644) atomically, like
 * `cosign generate-key-pair --output-key-prefix`. Existing files are kept unless
 * `force` is set (cosign would ask; a library cannot).
 * @throws {@link ChartproofError} `IO` when a file exists (without `force`) or a write fails.
 * @public
 */
export async function writeKeyPair(
  prefix: string,
  pair: KeyPairPem,
  options: WriteKeyPairOptions = {},
): Promise<KeyPairPaths> {
  const paths = { privateKeyPath: `${prefix}.key`, publicKeyPath: `${prefix}.pub` };
  if (!options.force) {
    for (const path of [paths.privateKeyPath, paths.publicKeyPath]) {
      if (await exists(path)) {
        throw new ChartproofError('IO', `${path} already exists; refusing to overwrite it (use force)`);
      }
    }
  }
  await writeFileAtomic(paths.privateKeyPath, pair.privateKeyPem, 0o600, { signal: options.signal });
  await writeFileAtomic(paths.publicKeyPath, pair.publicKeyPem, 0o644, { signal: options.signal });
  return paths;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
