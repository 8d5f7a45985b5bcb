import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decryptPrivateKey, encryptPrivateKey, loadPublicKey } from '../../src/keys/keys.js';

// Hostile key files: these are refused quickly and without echoing secrets.

const PASSWORD = 'SECRET-hunter2-pw';
const LABEL = 'ENCRYPTED SIGSTORE PRIVATE KEY';

function toPem(label: string, body: string): string {
  const b64 = Buffer.from(body).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
}

function envelope(params: Record<string, unknown>): string {
  return JSON.stringify({
    kdf: { name: 'scrypt', params, salt: Buffer.alloc(32).toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: Buffer.alloc(24).toString('base64') },
    ciphertext: Buffer.alloc(64).toString('base64'),
  });
}

async function rejection(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

describe('hostile cosign key files', () => {
  it.each([
    { N: 2 ** 30, r: 8, p: 1 },
    { N: 65536, r: 2 ** 20, p: 1 },
    { N: 65536, r: 8, p: 2 ** 20 },
    { N: '65536', r: 8, p: 1 },
    { N: 65536.5, r: 8, p: 1 },
    { N: 16, r: 8, p: 1 },
  ])('refuses scrypt parameters %o before deriving anything', async (params) => {
    const started = Date.now();
    const err = await rejection(decryptPrivateKey(toPem(LABEL, envelope(params)), PASSWORD));
    expect(err.code).toBe('KEY_UNSUPPORTED');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('refuses deeply nested JSON without a stack overflow', async () => {
    const err = await rejection(
      decryptPrivateKey(toPem(LABEL, `${'['.repeat(100_000)}${']'.repeat(100_000)}`), PASSWORD),
    );
    expect(err.code).toMatch(/DEPTH_LIMIT_EXCEEDED|KEY_INVALID/);
  });

  it('never echoes the password in errors (wrong password, garbage)', async () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const pem = await encryptPrivateKey(key, 'right', { scryptN: 32768 });
    for (const attempt of [
      () => decryptPrivateKey(pem, PASSWORD),
      () => decryptPrivateKey('garbage', PASSWORD),
    ]) {
      const err = await rejection(attempt());
      expect(`${err.message} ${String((err as { cause?: unknown }).cause)}`).not.toContain(PASSWORD);
    }
  }, 60_000);

  it('reads only the first PEM block of a public key file', () => {
    const a = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    const b = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    const pem = (k: typeof a) => k.export({ format: 'pem', type: 'spki' }).toString();
    const loaded = loadPublicKey(`${pem(a)}${pem(b)}`.replace(/\n/g, '\r\n'));
    expect(loaded.equals(a)).toBe(true);
  });
});
