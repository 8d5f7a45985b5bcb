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
 * References: sigstore/cosign `pkg/cosign/keys.go`, secure-systems-lab/go-securesystemslib
 * `encrypted/encrypted.go`, sigstore/sigstore `pkg/cryptoutils/goodkey`.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair as nodeGenerateKeyPair,
  KeyObject,
  randomBytes,
  scrypt,
  sign as nodeSign,
  verify as nodeVerify,
  X509Certificate,
} from 'node:crypto';
import { access } from 'node:fs/promises';
import { ChartproofError } from '../errors.js';
import { writeFileAtomic } from '../fs.js';
import { SECRETBOX_NONCE_BYTES, SECRETBOX_TAG_BYTES, secretboxOpen, secretboxSeal } from './secretbox.js';
import type { Signer, SignOptions } from './signer.js';

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

const PEM_LABELS: Record<KeyPemType, string> = {
  SIGSTORE: 'ENCRYPTED SIGSTORE PRIVATE KEY',
  COSIGN: 'ENCRYPTED COSIGN PRIVATE KEY',
};
const ENCRYPTED_LABELS = new Set(Object.values(PEM_LABELS));
const SCRYPT_N = new Set<number>([32768, 65536, 131072]);
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const SALT_BYTES = 32;
const DEFAULT_SCRYPT_N: ScryptN = 65536;
const ED25519_WHY =
  'Ed25519 keys are not supported: cosign signs with Ed25519 keys as Ed25519ph (pre-hashed), which node:crypto cannot produce; use ECDSA P-256';

// ---------------------------------------------------------------------------------
// PEM and base64

interface PemBlock {
  label: string;
  headers: boolean;
  der: Buffer;
}

const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict standard base64 (with padding), as Go's `base64.StdEncoding`. */
function decodeBase64(text: string, what: string): Buffer {
  if (!STD_BASE64.test(text)) throw new ChartproofError('KEY_INVALID', `${what} is not valid base64`);
  return Buffer.from(text, 'base64');
}

/** The first PEM block of `text` (like Go's `pem.Decode`, text around it is ignored). */
function decodePem(text: string | Uint8Array): PemBlock {
  const s = typeof text === 'string' ? text : Buffer.from(text).toString('utf8');
  const m = /-----BEGIN ([^\r\n-]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(s);
  if (!m) throw new ChartproofError('KEY_INVALID', 'no PEM block found');
  const label = m[1]!;
  const lines = m[2]!.split(/\r?\n/).map((l) => l.trim());
  const headers = lines.some((l) => l.includes(':'));
  const body = lines.filter((l) => l !== '' && !l.includes(':')).join('');
  return { label, headers, der: decodeBase64(body, `PEM block ${label}`) };
}

/** PEM text with 64-character lines and a final newline, as Go's `pem.EncodeToMemory`. */
function encodePem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.map((l) => `${l}\n`).join('')}-----END ${label}-----\n`;
}

function passwordBytes(password: KeyPassword): Buffer {
  if (typeof password === 'string') return Buffer.from(password, 'utf8');
  if (password instanceof Uint8Array) return Buffer.from(password);
  throw new ChartproofError('INVALID_ARGUMENT', 'password must be a string or a Uint8Array');
}

// ---------------------------------------------------------------------------------
// scrypt + secretbox envelope

/** scrypt with room for N up to 131072 (Node's default maxmem of 32 MiB is too small). */
async function deriveKey(password: KeyPassword, salt: Uint8Array, n: number, signal?: AbortSignal) {
  signal?.throwIfAborted();
  const maxmem = 128 * n * SCRYPT_R * 2 + 32 * 1024 * 1024;
  const pw = passwordBytes(password);
  const work = new Promise<Buffer>((resolve, reject) => {
    scrypt(pw, salt, 32, { N: n, r: SCRYPT_R, p: SCRYPT_P, maxmem }, (err, key) => {
      pw.fill(0);
      if (err) reject(new ChartproofError('KEY_INVALID', `scrypt failed: ${err.message}`, { cause: err }));
      else resolve(key);
    });
  });
  if (!signal) return work;
  // scrypt runs on the thread pool and cannot be stopped; abort just stops waiting for it.
  let abandoned = false;
  let onAbort = (): void => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      abandoned = true;
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
    // A key derived after the caller gave up is wiped, not left in memory.
    work.then((k) => abandoned && k.fill(0)).catch(() => {});
  }
}

interface Envelope {
  n: number;
  salt: Buffer;
  nonce: Buffer;
  box: Buffer;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function field(obj: Record<string, unknown>, path: string): unknown {
  let v: unknown = obj;
  for (const part of path.split('.')) v = isRecord(v) ? v[part] : undefined;
  return v;
}

function stringField(obj: Record<string, unknown>, path: string): string {
  const v = field(obj, path);
  if (typeof v !== 'string') throw new ChartproofError('KEY_INVALID', `encrypted key: ${path} is missing`);
  return v;
}

/** Parses and checks the JSON envelope the way go-securesystemslib `encrypted.Decrypt` does. */
function parseEnvelope(der: Buffer): Envelope {
  let json: unknown;
  try {
    json = JSON.parse(der.toString('utf8'));
  } catch (e) {
    throw new ChartproofError('KEY_INVALID', 'encrypted key is not valid JSON', { cause: e });
  }
  if (!isRecord(json)) throw new ChartproofError('KEY_INVALID', 'encrypted key is not a JSON object');
  return checkEnvelope(json);
}

function checkEnvelope(json: Record<string, unknown>): Envelope {
  const kdf = stringField(json, 'kdf.name');
  if (kdf !== 'scrypt') throw new ChartproofError('KEY_UNSUPPORTED', `unsupported key derivation "${kdf}"`);
  const cipher = stringField(json, 'cipher.name');
  if (cipher !== 'nacl/secretbox')
    throw new ChartproofError('KEY_UNSUPPORTED', `unsupported cipher "${cipher}"`);
  const [n, r, p] = ['N', 'r', 'p'].map((k) => field(json, `kdf.params.${k}`));
  if (!SCRYPT_N.has(n as number) || r !== SCRYPT_R || p !== SCRYPT_P) {
    throw new ChartproofError(
      'KEY_UNSUPPORTED',
      `unsupported scrypt parameters N=${String(n)} r=${String(r)} p=${String(p)} (accepted: N 32768, 65536 or 131072 with r=8, p=1)`,
    );
  }
  const salt = decodeBase64(stringField(json, 'kdf.salt'), 'kdf.salt');
  const nonce = decodeBase64(stringField(json, 'cipher.nonce'), 'cipher.nonce');
  if (nonce.length !== SECRETBOX_NONCE_BYTES) {
    throw new ChartproofError('KEY_INVALID', `cipher.nonce must be 24 bytes, got ${nonce.length}`);
  }
  const box = decodeBase64(stringField(json, 'ciphertext'), 'ciphertext');
  if (box.length < SECRETBOX_TAG_BYTES) throw new ChartproofError('KEY_INVALID', 'ciphertext is too short');
  return { n: n as number, salt, nonce, box };
}

/** The envelope JSON with Go's field order (`json.Marshal` of go-securesystemslib's structs). */
function formatEnvelope(e: Envelope): string {
  return JSON.stringify({
    kdf: { name: 'scrypt', params: { N: e.n, r: SCRYPT_R, p: SCRYPT_P }, salt: e.salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: e.nonce.toString('base64') },
    ciphertext: e.box.toString('base64'),
  });
}

// ---------------------------------------------------------------------------------
// Key checks and hash rules

type KeyKind = { kind: 'ec'; hash: 'sha256' | 'sha384' | 'sha512' } | { kind: 'rsa'; hash: 'sha256' };

const CURVE_HASH: Record<string, 'sha256' | 'sha384' | 'sha512'> = {
  prime256v1: 'sha256',
  secp384r1: 'sha384',
  secp521r1: 'sha512',
};

/** What cosign's `goodkey` accepts for signing, and the hash that goes with it. */
function signingKind(key: KeyObject): KeyKind {
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

function requireKeyObject(key: unknown, type: 'private' | 'any'): KeyObject {
  if (!(key instanceof KeyObject))
    throw new ChartproofError('INVALID_ARGUMENT', 'expected a node:crypto KeyObject');
  const k = key;
  if (type === 'private' && k.type !== 'private') {
    throw new ChartproofError('INVALID_ARGUMENT', `expected a private key, got a ${k.type} key`);
  }
  if (k.type === 'secret') throw new ChartproofError('INVALID_ARGUMENT', 'expected an asymmetric key');
  return k;
}

/** Parses PKCS#8 DER; SEC1 plaintext is rejected as cosign's `x509.ParsePKCS8PrivateKey` does. */
function parsePkcs8(der: Uint8Array): KeyObject {
  try {
    return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
  } catch (e) {
    let sec1 = false;
    try {
      createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'sec1' });
      sec1 = true;
    } catch {
      // not SEC1 either
    }
    const why = sec1
      ? 'the private key is a SEC1 "EC PRIVATE KEY", not PKCS#8 (cosign rejects it too; re-import it with importKeyPair)'
      : 'the private key is not PKCS#8 DER';
    throw new ChartproofError('KEY_INVALID', why, { cause: e });
  }
}

// ---------------------------------------------------------------------------------
// Encrypt / decrypt

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
  const n = options.scryptN ?? DEFAULT_SCRYPT_N;
  if (!SCRYPT_N.has(n))
    throw new ChartproofError('INVALID_ARGUMENT', `scryptN must be 32768, 65536 or 131072`);
  const pemType = options.pemType ?? 'SIGSTORE';
  const label = PEM_LABELS[pemType];
  if (!label) throw new ChartproofError('INVALID_ARGUMENT', `pemType must be SIGSTORE or COSIGN`);
  const salt = randomBytes(SALT_BYTES);
  const nonce = randomBytes(SECRETBOX_NONCE_BYTES);
  const secret = await deriveKey(password, salt, n, options.signal);
  const plain = keyObject.export({ format: 'der', type: 'pkcs8' });
  try {
    const box = Buffer.from(secretboxSeal(plain, nonce, secret));
    return encodePem(label, Buffer.from(formatEnvelope({ n, salt, nonce, box }), 'utf8'));
  } finally {
    plain.fill(0);
    secret.fill(0);
  }
}

/**
 * Decrypts a cosign key file (`ENCRYPTED SIGSTORE PRIVATE KEY` or `ENCRYPTED COSIGN
 * PRIVATE KEY`) with the same checks as cosign's `LoadPrivateKey`. Returns the private
 * key; RSA, ECDSA and Ed25519 keys load (signing needs ECDSA or RSA, see
 * {@link keyObjectSigner}).
 * @throws {@link ChartproofError} `KEY_PASSWORD_INVALID` (wrong password, or a corrupted
 * ciphertext: the two cannot be told apart), `KEY_INVALID` (not a cosign key file,
 * malformed envelope, SEC1 or other non-PKCS#8 plaintext), `KEY_UNSUPPORTED` (unknown kdf
 * or cipher, scrypt parameters cosign does not accept, unsupported key type).
 * @public
 */
export async function decryptPrivateKey(
  pem: string | Uint8Array,
  password: KeyPassword,
  options: KeyOptions = {},
): Promise<KeyObject> {
  const block = decodePem(pem);
  if (!ENCRYPTED_LABELS.has(block.label)) {
    throw new ChartproofError(
      'KEY_INVALID',
      `unsupported PEM type "${block.label}": expected ENCRYPTED SIGSTORE PRIVATE KEY or ENCRYPTED COSIGN PRIVATE KEY`,
    );
  }
  const env = parseEnvelope(block.der);
  const secret = await deriveKey(password, env.salt, env.n, options.signal);
  const plain = secretboxOpen(env.box, env.nonce, secret);
  secret.fill(0);
  if (!plain) {
    throw new ChartproofError(
      'KEY_PASSWORD_INVALID',
      'cannot decrypt the private key: incorrect password (or the key file is corrupted)',
    );
  }
  try {
    const key = parsePkcs8(plain);
    if (!['ec', 'rsa', 'ed25519'].includes(key.asymmetricKeyType ?? '')) {
      throw new ChartproofError('KEY_UNSUPPORTED', `unsupported key type ${key.asymmetricKeyType}`);
    }
    return key;
  } finally {
    plain.fill(0);
  }
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

function publicOf(key: KeyObject): KeyObject {
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
