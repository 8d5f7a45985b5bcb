import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { decryptPrivateKey, keyObjectSigner, loadPublicKey, verifySignature } from '../../src/keys/keys.js';
import { captureIo } from '../helpers/cli-io.js';
import { requireTool } from '../helpers/services.js';

describe('chartproof keygen', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cp-keygen-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function keygen(args: string[], env: Record<string, string | undefined>) {
    const c = captureIo('', env);
    const code = await run(['keygen', ...args], c.io);
    return { code, out: c.out(), err: c.err() };
  }

  it('writes cosign.key (0600, encrypted) and cosign.pub (0644) that sign and verify', async () => {
    const prefix = join(dir, 'cosign');
    const r = await keygen(['--output-key-prefix', prefix], { COSIGN_PASSWORD: 'pw' });
    expect(r.code).toBe(0);
    expect(r.out).toBe(`Private key written to ${prefix}.key\nPublic key written to ${prefix}.pub\n`);
    expect(statSync(`${prefix}.key`).mode & 0o777).toBe(0o600);
    expect(statSync(`${prefix}.pub`).mode & 0o777).toBe(0o644);
    const keyPem = readFileSync(`${prefix}.key`, 'utf8');
    expect(keyPem).toMatch(/^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n/);
    const envelope = JSON.parse(
      Buffer.from(keyPem.split('\n').slice(1, -2).join(''), 'base64').toString('utf8'),
    );
    expect(envelope.kdf).toMatchObject({ name: 'scrypt', params: { N: 65536, r: 8, p: 1 } });
    const priv = await decryptPrivateKey(keyPem, 'pw');
    const pub = loadPublicKey(readFileSync(`${prefix}.pub`, 'utf8'));
    expect(pub.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const payload = new TextEncoder().encode('payload');
    const sig = await keyObjectSigner(priv).sign(payload);
    expect(verifySignature(pub, payload, sig)).toBe(true);
    await expect(decryptPrivateKey(keyPem, 'wrong')).rejects.toMatchObject({ code: 'KEY_PASSWORD_INVALID' });
  });

  it('--compat writes the label and scrypt N old skopeo reads; refuses to overwrite without --force', async () => {
    const prefix = join(dir, 'old');
    expect(
      (
        await keygen(['--output-key-prefix', prefix, '--compat', '--algorithm', 'ecdsa-p384'], {
          COSIGN_PASSWORD: '',
        })
      ).code,
    ).toBe(0);
    const pem = readFileSync(`${prefix}.key`, 'utf8');
    expect(pem).toMatch(/^-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n/);
    const envelope = JSON.parse(
      Buffer.from(pem.split('\n').slice(1, -2).join(''), 'base64').toString('utf8'),
    );
    expect(envelope.kdf.params.N).toBe(32768);
    expect((await decryptPrivateKey(pem, '')).asymmetricKeyDetails?.namedCurve).toBe('secp384r1');
    const again = await keygen(['--output-key-prefix', prefix], { COSIGN_PASSWORD: '' });
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/already exists/);
    expect(readFileSync(`${prefix}.key`, 'utf8')).toBe(pem);
    expect((await keygen(['--output-key-prefix', prefix, '--force'], { COSIGN_PASSWORD: '' })).code).toBe(0);
    expect(readFileSync(`${prefix}.key`, 'utf8')).not.toBe(pem);
  });

  it('needs COSIGN_PASSWORD and a known algorithm', async () => {
    const none = await keygen(['--output-key-prefix', join(dir, 'x')], {});
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/COSIGN_PASSWORD/);
    const bad = await keygen(['--algorithm', 'ed25519'], { COSIGN_PASSWORD: 'x' });
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--algorithm must be one of/);
  });

  it.skipIf(requireTool('openssl') !== undefined)(
    'openssl reads the public key and verifies a signature made with the key',
    async () => {
      const prefix = join(dir, 'ossl');
      expect((await keygen(['--output-key-prefix', prefix], { COSIGN_PASSWORD: 'pw' })).code).toBe(0);
      const priv = await decryptPrivateKey(readFileSync(`${prefix}.key`, 'utf8'), 'pw');
      const payload = Buffer.from('{"critical":{}}');
      writeFileSync(join(dir, 'payload'), payload);
      writeFileSync(join(dir, 'sig'), await keyObjectSigner(priv).sign(payload));
      const out = execFileSync(
        'openssl',
        ['dgst', '-sha256', '-verify', `${prefix}.pub`, '-signature', join(dir, 'sig'), join(dir, 'payload')],
        { encoding: 'utf8' },
      );
      expect(out.trim()).toBe('Verified OK');
    },
  );
});
