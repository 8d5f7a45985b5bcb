/**
 * The encrypted cosign key file format (`cosign.key`): PEM armor, and the JSON
 * envelope of go-securesystemslib `encrypted.Encrypt` inside it. scrypt (N = 32768,
 * 65536 or 131072, r = 8, p = 1) derives a 32-byte key from the password and a 32-byte
 * salt; NaCl secretbox (XSalsa20-Poly1305) seals the PKCS#8 DER.
 *
 * {@link decryptPrivateKey} is defined here (re-exported from `keys.ts`); the sealing
 * half of {@link encryptPrivateKey} is {@link sealPrivateKey}.
 *
 * References: sigstore/cosign `pkg/cosign/keys.go`, secure-systems-lab/go-securesystemslib
 * `encrypted/encrypted.go`.
 */
import { createPrivateKey, type KeyObject, randomBytes, scrypt } from 'node:crypto';
import { ChartproofError } from '../errors.js';
import { isDepthLimitError, parseJsonBounded } from '../internal/bounded-parse.js';
import type { EncryptPrivateKeyOptions, KeyOptions, KeyPassword, KeyPemType, ScryptN } from './keys.js';
import { SECRETBOX_NONCE_BYTES, SECRETBOX_TAG_BYTES, secretboxOpen, secretboxSeal } from './secretbox.js';
import { decodeBase64 as decodeStdBase64 } from '../internal/encoding/base64.js';
import { encodePem, findPemBlock } from '../internal/encoding/pem.js';
import { isRecord } from '../internal/guards.js';

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

// ---------------------------------------------------------------------------------
// PEM and base64

/** A decoded PEM block. @internal */
export interface PemBlock {
  label: string;
  headers: boolean;
  der: Buffer;
}

/** Strict standard base64 (with padding), as Go's `base64.StdEncoding`. */
function decodeBase64(text: string, what: string): Buffer {
  const bytes = decodeStdBase64(text, 'std');
  if (!bytes) throw new ChartproofError('KEY_INVALID', `${what} is not valid base64`);
  return bytes;
}

/** The first PEM block of `text` (like Go's `pem.Decode`, text around it is ignored). @internal */
export function decodePem(text: string | Uint8Array): PemBlock {
  const block = findPemBlock(typeof text === 'string' ? text : Buffer.from(text).toString('utf8'));
  if (!block) throw new ChartproofError('KEY_INVALID', 'no PEM block found');
  const { label, headers, body } = block;
  return { label, headers, der: decodeBase64(body, `PEM block ${label}`) };
}

/** PEM text with 64-character lines and a final newline, as Go's `pem.EncodeToMemory`. @internal */
export { encodePem };

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
    json = parseJsonBounded(der.toString('utf8'), { what: 'encrypted key', source: 'local' });
  } catch (e) {
    if (isDepthLimitError(e)) throw e;
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

/** Parses PKCS#8 DER; SEC1 plaintext is rejected as cosign's `x509.ParsePKCS8PrivateKey` does. @internal */
export function parsePkcs8(der: Uint8Array): KeyObject {
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
 * The envelope half of {@link encryptPrivateKey}: seals the PKCS#8 DER of `keyObject`
 * (already checked by the caller) and returns the PEM text of `cosign.key`.
 * @throws {@link ChartproofError} `INVALID_ARGUMENT` (bad `scryptN` or `pemType`).
 * @internal
 */
export async function sealPrivateKey(
  keyObject: KeyObject,
  password: KeyPassword,
  options: EncryptPrivateKeyOptions = {},
): Promise<string> {
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
