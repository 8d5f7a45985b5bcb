import { spawnSync } from 'node:child_process';
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  scryptSync,
  sign as nodeSign,
  verify as nodeVerify,
  X509Certificate,
} from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decryptPrivateKey,
  encryptPrivateKey,
  generateKeyPair,
  importKeyPair,
  type KeyAlgorithm,
  type KeyPairPem,
  keyFileSigner,
  keyHint,
  keyObjectSigner,
  loadPublicKey,
  passwordFromEnv,
  publicKeyPem,
  verifySignature,
  writeKeyPair,
} from '../../src/keys/keys.js';
import { secretboxSeal } from '../../src/keys/secretbox.js';
import { expectChartproofError } from '../helpers/expect-error.js';
import { SIGSTORE_VECTORS, sigstoreVectorsAvailable } from '../helpers/vectors.js';

const SLOW = 120_000;
const SIGSTORE_LABEL = 'ENCRYPTED SIGSTORE PRIVATE KEY';
const COSIGN_LABEL = 'ENCRYPTED COSIGN PRIVATE KEY';

/** Expected key shape and hash per algorithm, written out from cosign's rules (not from our code). */
const ALGORITHMS: Record<
  KeyAlgorithm,
  { type: 'ec' | 'rsa'; curve?: string; bits?: number; hash: string; openssl: string }
> = {
  'ecdsa-p256': { type: 'ec', curve: 'prime256v1', hash: 'sha256', openssl: '-sha256' },
  'ecdsa-p384': { type: 'ec', curve: 'secp384r1', hash: 'sha384', openssl: '-sha384' },
  'ecdsa-p521': { type: 'ec', curve: 'secp521r1', hash: 'sha512', openssl: '-sha512' },
  'rsa-2048': { type: 'rsa', bits: 2048, hash: 'sha256', openssl: '-sha256' },
  'rsa-3072': { type: 'rsa', bits: 3072, hash: 'sha256', openssl: '-sha256' },
  'rsa-4096': { type: 'rsa', bits: 4096, hash: 'sha256', openssl: '-sha256' },
};

/** The label and decoded bytes of a PEM text, parsed here independently of src/. */
function pemParts(pem: string): { label: string; body: Buffer; lines: string[] } {
  const m = /-----BEGIN (.+)-----\n([\s\S]+?)\n-----END \1-----\n?$/.exec(pem);
  if (!m) throw new Error(`not a PEM: ${pem.slice(0, 40)}`);
  const lines = m[2]!.split('\n');
  return { label: m[1]!, body: Buffer.from(lines.join(''), 'base64'), lines };
}

interface EnvelopeJson {
  kdf: { name: string; params: { N: number; r: number; p: number }; salt: string };
  cipher: { name: string; nonce: string };
  ciphertext: string;
}

function envelopeOf(pem: string): EnvelopeJson {
  return JSON.parse(pemParts(pem).body.toString('utf8')) as EnvelopeJson;
}

function toPem(label: string, body: Buffer | string): string {
  const b64 = Buffer.from(body).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
}

/** Re-encodes an encrypted key with its JSON envelope changed by `edit`, or replaced by a string. */
function withEnvelope(pem: string, edit: ((e: EnvelopeJson) => void) | string): string {
  const env = envelopeOf(pem);
  if (typeof edit !== 'string') edit(env);
  return toPem(pemParts(pem).label, typeof edit === 'string' ? edit : JSON.stringify(env));
}

function flipBase64Byte(b64: string, index: number): string {
  const bytes = Buffer.from(b64, 'base64');
  bytes[index]! ^= 0x01;
  return bytes.toString('base64');
}

const spkiDer = (key: KeyObject): Buffer =>
  (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'der', type: 'spki' });

const samePublicKey = (a: KeyObject, b: KeyObject): void =>
  expect(spkiDer(a).toString('hex')).toBe(spkiDer(b).toString('hex'));

// ---------------------------------------------------------------------------------

describe.skipIf(!sigstoreVectorsAvailable('cosign key vectors'))('cosign key vectors', () => {
  const vec = (name: string): string => readFileSync(join(SIGSTORE_VECTORS, 'cosign', 'keys', name), 'utf8');

  describe.each(['pemsigstorekey.pem', 'pemcosignkey.pem'])('%s (password "hello")', (name) => {
    it('decrypts to a PKCS#8 EC P-256 key that signs', async () => {
      const key = await decryptPrivateKey(vec(name), 'hello');
      expect(key.type).toBe('private');
      expect(key.asymmetricKeyType).toBe('ec');
      expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
      const payload = Buffer.from('payload');
      const sig = await keyObjectSigner(key).sign(payload);
      expect(nodeVerify('sha256', payload, createPublicKey(key), sig)).toBe(true);
    });

    it.each(['hell0', '', 'Hello'])('fails with KEY_PASSWORD_INVALID for password %j', async (pw) => {
      await expectChartproofError(decryptPrivateKey(vec(name), pw), 'KEY_PASSWORD_INVALID', /password/);
    });

    it('has the expected PEM label and scrypt cost', () => {
      const expected = name === 'pemsigstorekey.pem' ? SIGSTORE_LABEL : COSIGN_LABEL;
      expect(pemParts(vec(name)).label).toBe(expected);
      expect(envelopeOf(vec(name)).kdf.params).toEqual({ N: 32768, r: 8, p: 1 });
    });
  });

  describe('pemcosigneckey.pem (SEC1 plaintext)', () => {
    it('decrypts with "hello" but is rejected as SEC1 with KEY_INVALID', async () => {
      expect(envelopeOf(vec('pemcosigneckey.pem')).kdf.params.N).toBe(65536);
      await expectChartproofError(
        decryptPrivateKey(vec('pemcosigneckey.pem'), 'hello'),
        'KEY_INVALID',
        /SEC1/,
      );
    });

    it('fails with KEY_PASSWORD_INVALID for a wrong password', async () => {
      await expectChartproofError(
        decryptPrivateKey(vec('pemcosigneckey.pem'), 'nope'),
        'KEY_PASSWORD_INVALID',
      );
    });
  });

  describe('cosign-test.key / cosign-test.pub (password unknown)', () => {
    it('parses structurally as a legacy cosign key', () => {
      const pem = vec('cosign-test.key');
      expect(pemParts(pem).label).toBe(COSIGN_LABEL);
      const env = envelopeOf(pem);
      expect(env.kdf).toMatchObject({ name: 'scrypt', params: { N: 32768, r: 8, p: 1 } });
      expect(env.cipher.name).toBe('nacl/secretbox');
      expect(Buffer.from(env.cipher.nonce, 'base64')).toHaveLength(24);
      expect(Buffer.from(env.kdf.salt, 'base64')).toHaveLength(32);
    });

    it.each(['hello', ''])('fails with KEY_PASSWORD_INVALID for %j', async (pw) => {
      await expectChartproofError(decryptPrivateKey(vec('cosign-test.key'), pw), 'KEY_PASSWORD_INVALID');
    });

    it('loads the public key and computes its hint from the SPKI DER', () => {
      const pem = vec('cosign-test.pub');
      const key = loadPublicKey(pem);
      expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
      const der = pemParts(pem).body; // the PEM body is the SPKI DER itself
      expect(keyHint(key)).toBe(createHash('sha256').update(der).digest('base64'));
      expect(publicKeyPem(key)).toBe(pem);
    });
  });

  describe('import-key-pair inputs', () => {
    it.each([
      ['validecp256.pem', 'prime256v1'],
      ['validecp384.pem', 'secp384r1'],
      ['validecpkcs8.pem', 'prime256v1'],
    ])('accepts %s', async (name, curve) => {
      const pair = await importKeyPair(vec(name), 'pw', { scryptN: 32768 });
      expect(pemParts(pair.privateKeyPem).label).toBe(SIGSTORE_LABEL);
      const key = await decryptPrivateKey(pair.privateKeyPem, 'pw');
      expect(key.asymmetricKeyDetails?.namedCurve).toBe(curve);
      samePublicKey(key, createPrivateKey(vec(name)));
      samePublicKey(loadPublicKey(pair.publicKeyPem), createPrivateKey(vec(name)));
    });

    it('accepts validrsapkcs8.pem (RSA 2048)', async () => {
      const pair = await importKeyPair(vec('validrsapkcs8.pem'), 'pw', { scryptN: 32768 });
      const key = await decryptPrivateKey(pair.privateKeyPem, 'pw');
      expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
      samePublicKey(key, createPrivateKey(vec('validrsapkcs8.pem')));
    });

    it('rejects ed25519key.pem with KEY_UNSUPPORTED and explains Ed25519ph', async () => {
      await expectChartproofError(importKeyPair(vec('ed25519key.pem'), 'pw'), 'KEY_UNSUPPORTED', /Ed25519ph/);
    });

    it('rejects an encrypted cosign key as input (wrong PEM type)', async () => {
      await expectChartproofError(importKeyPair(vec('pemsigstorekey.pem'), 'pw'), 'KEY_INVALID', /PEM type/);
    });
  });
});

// ---------------------------------------------------------------------------------

describe('importKeyPair', () => {
  const pkcs = (key: KeyObject, type: 'pkcs1' | 'sec1' | 'pkcs8'): string =>
    key.export({ format: 'pem', type }) as string;

  it('accepts PKCS#1 RSA PRIVATE KEY and SEC1 P-521', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const rsaPair = await importKeyPair(pkcs(rsa, 'pkcs1'), 'pw', { scryptN: 32768 });
    samePublicKey(await decryptPrivateKey(rsaPair.privateKeyPem, 'pw'), rsa);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey;
    const ecPair = await importKeyPair(pkcs(ec, 'sec1'), 'pw', { scryptN: 32768, pemType: 'COSIGN' });
    expect(pemParts(ecPair.privateKeyPem).label).toBe(COSIGN_LABEL);
    samePublicKey(await decryptPrivateKey(ecPair.privateKeyPem, 'pw'), ec);
  });

  it('rejects P-224 with KEY_UNSUPPORTED', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-224' }).privateKey;
    await expectChartproofError(importKeyPair(pkcs(ec, 'sec1'), 'pw'), 'KEY_UNSUPPORTED', /curve/);
    await expectChartproofError(importKeyPair(pkcs(ec, 'pkcs8'), 'pw'), 'KEY_UNSUPPORTED', /curve/);
  });

  it(
    'rejects RSA below 2048 and above 4096 bits with KEY_UNSUPPORTED',
    async () => {
      // 4104 bits stands for cosign's 5120-bit test key: anything above 4096 is refused.
      for (const modulusLength of [1024, 4104]) {
        const rsa = generateKeyPairSync('rsa', { modulusLength }).privateKey;
        await expectChartproofError(
          importKeyPair(pkcs(rsa, 'pkcs1'), 'pw'),
          'KEY_UNSUPPORTED',
          /RSA key size/,
        );
      }
    },
    SLOW,
  );

  it('rejects other PEM types, garbage and PEM-encrypted keys', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = ec.publicKey.export({ format: 'pem', type: 'spki' }) as string;
    await expectChartproofError(importKeyPair(spki, 'pw'), 'KEY_INVALID', /PEM type "PUBLIC KEY"/);
    await expectChartproofError(importKeyPair('no pem here', 'pw'), 'KEY_INVALID', /no PEM block/);
    await expectChartproofError(importKeyPair(toPem('EC PRIVATE KEY', 'junk'), 'pw'), 'KEY_INVALID');
    const legacy = ec.privateKey.export({
      format: 'pem',
      type: 'sec1',
      cipher: 'aes-128-cbc',
      passphrase: 'x',
    }) as string;
    expect(legacy).toContain('Proc-Type');
    await expectChartproofError(importKeyPair(legacy, 'pw'), 'KEY_UNSUPPORTED', /Proc-Type/);
  });
});

// ---------------------------------------------------------------------------------

describe('generateKeyPair', () => {
  describe.each(Object.keys(ALGORITHMS) as KeyAlgorithm[])('%s', (algorithm) => {
    const expected = ALGORITHMS[algorithm];
    let pair: KeyPairPem;
    beforeAll(async () => {
      pair = await generateKeyPair({ algorithm, password: 'correct horse', scryptN: 32768 });
    }, SLOW);

    it('round-trips through decryptPrivateKey', async () => {
      const key = await decryptPrivateKey(pair.privateKeyPem, 'correct horse');
      expect(key.asymmetricKeyType).toBe(expected.type);
      if (expected.curve) expect(key.asymmetricKeyDetails?.namedCurve).toBe(expected.curve);
      if (expected.bits) expect(key.asymmetricKeyDetails?.modulusLength).toBe(expected.bits);
      expect(pemParts(pair.publicKeyPem).label).toBe('PUBLIC KEY');
      samePublicKey(loadPublicKey(pair.publicKeyPem), key);
    });

    it('signs with the expected hash (checked by node:crypto verify)', async () => {
      const signer = await keyFileSigner(pair.privateKeyPem, 'correct horse');
      expect(await signer.publicKeyPem()).toBe(pair.publicKeyPem);
      const payload = randomBytes(300);
      const sig = await signer.sign(payload);
      const pub = createPublicKey(pair.publicKeyPem);
      expect(nodeVerify(expected.hash, payload, pub, sig)).toBe(true);
      if (expected.type === 'ec') {
        expect(sig[0]).toBe(0x30); // ASN.1 DER SEQUENCE, not IEEE P1363
        expect(nodeVerify(expected.hash, payload, { key: pub, dsaEncoding: 'der' }, sig)).toBe(true);
      }
      const otherHash = expected.hash === 'sha256' ? 'sha512' : 'sha256';
      expect(nodeVerify(otherHash, payload, pub, sig)).toBe(false);
      expect(verifySignature(pub, payload, sig)).toBe(true);
      expect(verifySignature(pub, Buffer.concat([payload, Buffer.from('x')]), sig)).toBe(false);
    });

    it('verifySignature accepts a node:crypto signature with the cosign hash only', () => {
      const { privateKey, publicKey } =
        expected.type === 'ec'
          ? generateKeyPairSync('ec', { namedCurve: expected.curve! })
          : generateKeyPairSync('rsa', { modulusLength: 2048 });
      const payload = Buffer.from('hello, cosign');
      const good = nodeSign(expected.hash, payload, privateKey);
      const wrongHash = nodeSign(expected.hash === 'sha256' ? 'sha384' : 'sha256', payload, privateKey);
      expect(verifySignature(publicKey, payload, good)).toBe(true);
      expect(verifySignature(publicKey, payload, wrongHash)).toBe(false);
    });
  });

  describe.each([
    ['SIGSTORE', SIGSTORE_LABEL],
    ['COSIGN', COSIGN_LABEL],
  ] as const)('pemType %s', (pemType, label) => {
    it.each([32768, 65536, 131072] as const)(
      'writes and reads scrypt N=%i',
      async (scryptN) => {
        const pair = await generateKeyPair({ password: 'pw', pemType, scryptN });
        const parts = pemParts(pair.privateKeyPem);
        expect(parts.label).toBe(label);
        expect(parts.lines.every((l) => l.length <= 64)).toBe(true);
        expect(envelopeOf(pair.privateKeyPem).kdf.params).toEqual({ N: scryptN, r: 8, p: 1 });
        const key = await decryptPrivateKey(pair.privateKeyPem, 'pw');
        samePublicKey(key, loadPublicKey(pair.publicKeyPem));
      },
      SLOW,
    );
  });

  it('uses cosign defaults: ECDSA P-256, SIGSTORE label, N=65536, Go field order', async () => {
    const pair = await generateKeyPair({ password: '' });
    expect(pemParts(pair.privateKeyPem).label).toBe(SIGSTORE_LABEL);
    expect(pair.privateKeyPem.endsWith('-----\n')).toBe(true);
    const json = pemParts(pair.privateKeyPem).body.toString('utf8');
    expect(json).toMatch(
      /^\{"kdf":\{"name":"scrypt","params":\{"N":65536,"r":8,"p":1\},"salt":"[A-Za-z0-9+/]{43}="\},"cipher":\{"name":"nacl\/secretbox","nonce":"[A-Za-z0-9+/]{32}"\},"ciphertext":"[A-Za-z0-9+/]+={0,2}"\}$/,
    );
    const key = await decryptPrivateKey(pair.privateKeyPem, '');
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    await expectChartproofError(decryptPrivateKey(pair.privateKeyPem, ' '), 'KEY_PASSWORD_INVALID');
  });

  it('treats a Uint8Array password as the same bytes as its UTF-8 string', async () => {
    const pair = await generateKeyPair({ password: 'pässwörd', scryptN: 32768 });
    const key = await decryptPrivateKey(pair.privateKeyPem, new TextEncoder().encode('pässwörd'));
    samePublicKey(key, loadPublicKey(pair.publicKeyPem));
  });

  it('rejects unknown algorithms and options with INVALID_ARGUMENT', async () => {
    await expectChartproofError(
      generateKeyPair({ password: 'x', algorithm: 'ed25519' as KeyAlgorithm }),
      'INVALID_ARGUMENT',
      /algorithm/,
    );
    await expectChartproofError(
      generateKeyPair({ password: 'x', scryptN: 16384 as 32768 }),
      'INVALID_ARGUMENT',
      /scryptN/,
    );
    await expectChartproofError(
      generateKeyPair({ password: 'x', pemType: 'PGP' as 'COSIGN', scryptN: 32768 }),
      'INVALID_ARGUMENT',
      /pemType/,
    );
  });

  it('requires a password', async () => {
    await expectChartproofError(
      generateKeyPair(undefined as unknown as { password: string }),
      'INVALID_ARGUMENT',
      /password/,
    );
    await expectChartproofError(
      generateKeyPair({ password: 42 as unknown as string }),
      'INVALID_ARGUMENT',
      /password/,
    );
  });

  it('honours an aborted signal', async () => {
    const err = await generateKeyPair({ password: 'x', signal: AbortSignal.abort() }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).name).toBe('AbortError');
  });
});

// ---------------------------------------------------------------------------------

describe('encryptPrivateKey / decryptPrivateKey', () => {
  let pem: string;
  let original: KeyObject;
  beforeAll(async () => {
    original = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    pem = await encryptPrivateKey(original, 'pw', { scryptN: 32768 });
  });

  it('accepts PKCS#8 DER and rejects SEC1 DER', async () => {
    const der = original.export({ format: 'der', type: 'pkcs8' });
    samePublicKey(
      await decryptPrivateKey(await encryptPrivateKey(der, 'pw', { scryptN: 32768 }), 'pw'),
      original,
    );
    const sec1 = original.export({ format: 'der', type: 'sec1' });
    await expectChartproofError(encryptPrivateKey(sec1, 'pw'), 'KEY_INVALID', /SEC1/);
  });

  it('rejects public keys, secret keys and unsupported algorithms', async () => {
    await expectChartproofError(
      encryptPrivateKey(createPublicKey(original), 'pw'),
      'INVALID_ARGUMENT',
      /private/,
    );
    const ed = generateKeyPairSync('ed25519').privateKey;
    await expectChartproofError(encryptPrivateKey(ed, 'pw'), 'KEY_UNSUPPORTED', /Ed25519ph/);
    await expectChartproofError(encryptPrivateKey({} as KeyObject, 'pw'), 'INVALID_ARGUMENT', /KeyObject/);
  });

  it('loads an Ed25519 key file (for its public key) but will not sign with it', async () => {
    // Built here from node:crypto scrypt and the vector-tested secretbox, since
    // encryptPrivateKey refuses Ed25519.
    const ed = generateKeyPairSync('ed25519').privateKey;
    const salt = randomBytes(32);
    const nonce = randomBytes(24);
    const secret = scryptSync('pw', salt, 32, { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    const box = secretboxSeal(ed.export({ format: 'der', type: 'pkcs8' }), nonce, secret);
    const json = JSON.stringify({
      kdf: { name: 'scrypt', params: { N: 32768, r: 8, p: 1 }, salt: salt.toString('base64') },
      cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
      ciphertext: Buffer.from(box).toString('base64'),
    });
    const key = await decryptPrivateKey(toPem(SIGSTORE_LABEL, json), 'pw');
    samePublicKey(key, ed);
    await expectChartproofError(
      keyFileSigner(toPem(SIGSTORE_LABEL, json), 'pw'),
      'KEY_UNSUPPORTED',
      /Ed25519ph/,
    );
  });

  it('decrypts with a fresh salt and nonce each time', async () => {
    const again = await encryptPrivateKey(original, 'pw', { scryptN: 32768 });
    expect(envelopeOf(again).kdf.salt).not.toBe(envelopeOf(pem).kdf.salt);
    expect(envelopeOf(again).cipher.nonce).not.toBe(envelopeOf(pem).cipher.nonce);
    samePublicKey(await decryptPrivateKey(again, 'pw'), original);
    samePublicKey(await decryptPrivateKey(Buffer.from(pem), 'pw'), original);
  });

  describe('when the key file is tampered with', () => {
    it.each([
      ['ciphertext tag', (e: EnvelopeJson) => (e.ciphertext = flipBase64Byte(e.ciphertext, 0))],
      ['ciphertext body', (e: EnvelopeJson) => (e.ciphertext = flipBase64Byte(e.ciphertext, 40))],
      ['nonce', (e: EnvelopeJson) => (e.cipher.nonce = flipBase64Byte(e.cipher.nonce, 3))],
      ['salt', (e: EnvelopeJson) => (e.kdf.salt = flipBase64Byte(e.kdf.salt, 7))],
      ['scrypt N (65536 instead of 32768)', (e: EnvelopeJson) => (e.kdf.params.N = 65536)],
    ])('fails with KEY_PASSWORD_INVALID for a changed %s', async (_what, edit) => {
      await expectChartproofError(decryptPrivateKey(withEnvelope(pem, edit), 'pw'), 'KEY_PASSWORD_INVALID');
    });

    it.each([
      ['bad JSON', '{"kdf":', /JSON/],
      ['a JSON array', '[]', /JSON object/],
      [
        'a missing ciphertext',
        (e: EnvelopeJson) => delete (e as Partial<EnvelopeJson>).ciphertext,
        /ciphertext/,
      ],
      ['bad base64 salt', (e: EnvelopeJson) => (e.kdf.salt = 'abc'), /kdf.salt is not valid base64/],
      [
        'unpadded base64 nonce',
        (e: EnvelopeJson) => (e.cipher.nonce = e.cipher.nonce.slice(0, 30)),
        /base64/,
      ],
      [
        'URL-safe base64 ciphertext',
        (e: EnvelopeJson) => (e.ciphertext = `-_${e.ciphertext.slice(2)}`),
        /base64/,
      ],
      [
        'a 12-byte nonce',
        (e: EnvelopeJson) => (e.cipher.nonce = randomBytes(12).toString('base64')),
        /24 bytes/,
      ],
      [
        'a short ciphertext',
        (e: EnvelopeJson) => (e.ciphertext = randomBytes(10).toString('base64')),
        /short/,
      ],
    ])('fails with KEY_INVALID for %s', async (_what, edit, message) => {
      await expectChartproofError(decryptPrivateKey(withEnvelope(pem, edit), 'pw'), 'KEY_INVALID', message);
    });

    it.each([
      ['kdf argon2', (e: EnvelopeJson) => (e.kdf.name = 'argon2'), /key derivation "argon2"/],
      ['cipher aes', (e: EnvelopeJson) => (e.cipher.name = 'aes-256-gcm'), /cipher "aes-256-gcm"/],
      ['N=16384', (e: EnvelopeJson) => (e.kdf.params.N = 16384), /scrypt parameters N=16384/],
      ['N=262144', (e: EnvelopeJson) => (e.kdf.params.N = 262144), /scrypt parameters/],
      ['r=16', (e: EnvelopeJson) => (e.kdf.params.r = 16), /r=16/],
      ['p=2', (e: EnvelopeJson) => (e.kdf.params.p = 2), /p=2/],
    ])('fails with KEY_UNSUPPORTED for %s', async (_what, edit, message) => {
      await expectChartproofError(
        decryptPrivateKey(withEnvelope(pem, edit), 'pw'),
        'KEY_UNSUPPORTED',
        message,
      );
    });

    it('fails with KEY_INVALID for a wrong PEM type or a body that is not base64', async () => {
      const body = pemParts(pem).body;
      await expectChartproofError(
        decryptPrivateKey(toPem('PRIVATE KEY', body), 'pw'),
        'KEY_INVALID',
        /PEM type/,
      );
      await expectChartproofError(
        decryptPrivateKey(toPem('ENCRYPTED PRIVATE KEY', body), 'pw'),
        'KEY_INVALID',
        /PEM type/,
      );
      const broken = pem.replace(/\n([A-Za-z0-9+/]{10})/, '\n*$1');
      expect(broken).not.toBe(pem);
      await expectChartproofError(decryptPrivateKey(broken, 'pw'), 'KEY_INVALID', /base64/);
      await expectChartproofError(decryptPrivateKey('', 'pw'), 'KEY_INVALID', /no PEM block/);
    });
  });

  it('rejects with the abort reason when the signal fires', async () => {
    const controller = new AbortController();
    const p = decryptPrivateKey(pem, 'pw', { signal: controller.signal });
    controller.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    await expect(decryptPrivateKey(pem, 'pw', { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });
});

// ---------------------------------------------------------------------------------

describe('signers and verifySignature', () => {
  it('keyObjectSigner rejects public keys, Ed25519 and P-224', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await expectChartproofError((async () => keyObjectSigner(ec.publicKey))(), 'INVALID_ARGUMENT', /private/);
    const ed = generateKeyPairSync('ed25519').privateKey;
    await expectChartproofError((async () => keyObjectSigner(ed))(), 'KEY_UNSUPPORTED', /Ed25519ph/);
    const p224 = generateKeyPairSync('ec', { namedCurve: 'P-224' }).privateKey;
    await expectChartproofError((async () => keyObjectSigner(p224))(), 'KEY_UNSUPPORTED', /curve/);
  });

  it('keyFileSigner fails early on a wrong password', async () => {
    const pair = await generateKeyPair({ password: 'right', scryptN: 32768 });
    await expectChartproofError(keyFileSigner(pair.privateKeyPem, 'wrong'), 'KEY_PASSWORD_INVALID');
  });

  it('sign honours an aborted signal', async () => {
    const signer = keyObjectSigner(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    await expect(signer.sign(Buffer.from('x'), { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });

  it('verifySignature returns false for garbage signatures and never throws', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const payload = Buffer.from('payload');
    const garbage = [
      new Uint8Array(0),
      new Uint8Array([0x30]),
      new Uint8Array([0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00]),
      randomBytes(64),
      randomBytes(256),
      randomBytes(5000),
    ];
    for (const key of [ec.publicKey, rsa.publicKey, ec.privateKey]) {
      for (const sig of garbage) expect(verifySignature(key, payload, sig)).toBe(false);
    }
    // A valid signature by another key of the same type is rejected too.
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(verifySignature(ec.publicKey, payload, nodeSign('sha256', payload, other.privateKey))).toBe(false);
    expect(verifySignature(ec.publicKey, payload, nodeSign('sha256', payload, ec.privateKey))).toBe(true);
  });

  it('verifySignature refuses Ed25519 keys with KEY_UNSUPPORTED', async () => {
    const ed = generateKeyPairSync('ed25519').publicKey;
    await expectChartproofError(
      (async () => verifySignature(ed, Buffer.from('x'), new Uint8Array(64)))(),
      'KEY_UNSUPPORTED',
    );
  });
});

// ---------------------------------------------------------------------------------

describe('public keys', () => {
  it('publicKeyPem is the PKIX PEM of a private or public key', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const expected = ec.publicKey.export({ format: 'pem', type: 'spki' }) as string;
    expect(publicKeyPem(ec.privateKey)).toBe(expected);
    expect(publicKeyPem(ec.publicKey)).toBe(expected);
  });

  it('keyHint is base64(sha256(SPKI DER))', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const der = ec.publicKey.export({ format: 'der', type: 'spki' });
    const expected = createHash('sha256').update(der).digest('base64');
    expect(keyHint(ec.publicKey)).toBe(expected);
    expect(keyHint(ec.privateKey)).toBe(expected);
    expect(expected).toHaveLength(44);
  });

  it('loadPublicKey rejects other PEM types and garbage with KEY_INVALID', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pkcs8 = ec.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    await expectChartproofError(
      (async () => loadPublicKey(pkcs8))(),
      'KEY_INVALID',
      /PEM type "PRIVATE KEY"/,
    );
    await expectChartproofError((async () => loadPublicKey(toPem('PUBLIC KEY', 'junk')))(), 'KEY_INVALID');
    await expectChartproofError((async () => loadPublicKey(toPem('CERTIFICATE', 'junk')))(), 'KEY_INVALID');
  });

  it.skipIf(!sigstoreVectorsAvailable('certificate public key'))(
    'loadPublicKey takes the public key of a PEM certificate',
    () => {
      const bundle = JSON.parse(
        readFileSync(join(SIGSTORE_VECTORS, 'cosign', 'bundles', 'oci-attestation.sigstore.json'), 'utf8'),
      ) as { verificationMaterial: { certificate?: { rawBytes: string } } };
      const raw = bundle.verificationMaterial.certificate?.rawBytes;
      expect(raw).toBeTypeOf('string');
      const der = Buffer.from(raw!, 'base64');
      const key = loadPublicKey(toPem('CERTIFICATE', der));
      samePublicKey(key, new X509Certificate(der).publicKey);
      expect(key.asymmetricKeyType).toBe('ec');
    },
  );

  it('passwordFromEnv reads COSIGN_PASSWORD; set-but-empty is the empty password', () => {
    expect(passwordFromEnv({ COSIGN_PASSWORD: 's3cret' })).toBe('s3cret');
    expect(passwordFromEnv({ COSIGN_PASSWORD: '' })).toBe('');
    expect(passwordFromEnv({ PASSWORD: 'x' })).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------

describe('writeKeyPair', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chartproof-keys-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const pair: KeyPairPem = { privateKeyPem: 'PRIVATE\n', publicKeyPem: 'PUBLIC\n' };

  it('writes <prefix>.key 0600 and <prefix>.pub 0644', async () => {
    const prefix = join(dir, 'sub', 'cosign');
    const paths = await writeKeyPair(prefix, pair);
    expect(paths).toEqual({ privateKeyPath: `${prefix}.key`, publicKeyPath: `${prefix}.pub` });
    expect(readFileSync(`${prefix}.key`, 'utf8')).toBe('PRIVATE\n');
    expect(readFileSync(`${prefix}.pub`, 'utf8')).toBe('PUBLIC\n');
    expect(statSync(`${prefix}.key`).mode & 0o777).toBe(0o600);
    expect(statSync(`${prefix}.pub`).mode & 0o777).toBe(0o644);
  });

  it('refuses to overwrite either file without force, and overwrites with it', async () => {
    const prefix = join(dir, 'existing');
    writeFileSync(`${prefix}.pub`, 'old');
    await expectChartproofError(writeKeyPair(prefix, pair), 'IO', /already exists/);
    expect(existsSync(`${prefix}.key`)).toBe(false);
    expect(readFileSync(`${prefix}.pub`, 'utf8')).toBe('old');
    await writeKeyPair(prefix, pair, { force: true });
    expect(readFileSync(`${prefix}.pub`, 'utf8')).toBe('PUBLIC\n');
    await expectChartproofError(writeKeyPair(prefix, pair), 'IO', /existing\.key already exists/);
  });
});

// ---------------------------------------------------------------------------------

const opensslOk = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;
if (!opensslOk) console.warn('openssl interop suite skipped: the openssl binary is not installed');

describe.skipIf(!opensslOk)('openssl interop', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chartproof-openssl-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const openssl = (...args: string[]) => spawnSync('openssl', args, { encoding: 'utf8', cwd: dir });

  describe.each(['ecdsa-p256', 'ecdsa-p384', 'rsa-2048'] as const)('%s', (algorithm) => {
    it(
      'openssl accepts the decrypted key and verifies our signature',
      async () => {
        const pair = await generateKeyPair({ algorithm, password: 'pw', scryptN: 32768 });
        const key = await decryptPrivateKey(pair.privateKeyPem, 'pw');
        const keyFile = join(dir, `${algorithm}.der`);
        writeFileSync(keyFile, key.export({ format: 'der', type: 'pkcs8' }));
        const check = openssl('pkey', '-inform', 'DER', '-in', keyFile, '-noout');
        expect(check.status, check.stderr).toBe(0);
        const pub = openssl('pkey', '-inform', 'DER', '-in', keyFile, '-pubout');
        expect(pub.stdout).toBe(pair.publicKeyPem);

        const payload = randomBytes(1000);
        const sig = await (await keyFileSigner(pair.privateKeyPem, 'pw')).sign(payload);
        const files = { pub: join(dir, 'pub.pem'), sig: join(dir, 'sig'), payload: join(dir, 'payload') };
        writeFileSync(files.pub, pair.publicKeyPem);
        writeFileSync(files.sig, sig);
        writeFileSync(files.payload, payload);
        const digest = ALGORITHMS[algorithm].openssl;
        const ok = openssl('dgst', digest, '-verify', files.pub, '-signature', files.sig, files.payload);
        expect(ok.stdout + ok.stderr).toContain('Verified OK');
        expect(ok.status).toBe(0);

        payload[0]! ^= 1;
        writeFileSync(files.payload, payload);
        const bad = openssl('dgst', digest, '-verify', files.pub, '-signature', files.sig, files.payload);
        expect(bad.status).not.toBe(0);
      },
      SLOW,
    );
  });

  it('loadPublicKey reads a certificate made by openssl for our key', async () => {
    const pair = await generateKeyPair({ password: 'pw', scryptN: 32768 });
    const keyFile = join(dir, 'cert-key.pem');
    const key = await decryptPrivateKey(pair.privateKeyPem, 'pw');
    writeFileSync(keyFile, key.export({ format: 'pem', type: 'pkcs8' }));
    const certFile = join(dir, 'cert.pem');
    const r = openssl(
      'req',
      '-new',
      '-x509',
      '-key',
      keyFile,
      '-subj',
      '/CN=chartproof-test',
      '-days',
      '1',
      '-out',
      certFile,
    );
    expect(r.status, r.stderr).toBe(0);
    expect(publicKeyPem(loadPublicKey(readFileSync(certFile, 'utf8')))).toBe(pair.publicKeyPem);
  });
});
