/**
 * Legacy provenance (`.prov`) both ways with the real Helm v4.1.4 and a GnuPG-made RSA
 * key: `helm package --sign` → `chartproof prov verify`; `chartproof prov sign` →
 * `helm verify`; and the signed message blocks are the same text (Chart.yaml in Helm's
 * YAML, emoji escaped as Helm escapes them).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helmAvailable, helmHome } from '../helpers/helm.js';
import { chartproof, helmOk, writeTree } from '../helpers/helm-peer.js';
import { requireTool } from '../helpers/services.js';

const HAVE_HELM = helmAvailable('helm provenance interop');
const SKIP = !HAVE_HELM || requireTool('gpg') !== undefined;

/** The clearsigned text of a `.prov` (between the armor header and the signature). */
function signedText(prov: string): string {
  const start = prov.indexOf('\n\n', prov.indexOf('-----BEGIN PGP SIGNED MESSAGE-----')) + 2;
  return prov.slice(start, prov.indexOf('-----BEGIN PGP SIGNATURE-----'));
}

describe.skipIf(SKIP)('helm .prov both ways (GnuPG RSA key)', () => {
  let root: string;
  let gnupg: string;
  let home: string;
  let chartDir: string;
  const gpg = (...args: string[]) => spawnSync('gpg', ['--batch', '--homedir', gnupg, ...args]);

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'cp-helm-prov-'));
    gnupg = mkdtempSync(join(tmpdir(), 'cp-helm-gpg-'));
    home = helmHome();
    const params = join(root, 'key.params');
    writeFileSync(
      params,
      'Key-Type: RSA\nKey-Length: 2048\nName-Real: CP Test\nName-Email: cp@example.com\n%no-protection\n%commit\n',
    );
    const gen = gpg('--gen-key', params);
    if (gen.status !== 0) throw new Error(`gpg --gen-key failed: ${gen.stderr}`);
    writeFileSync(join(root, 'secring.gpg'), gpg('--export-secret-keys', 'cp@example.com').stdout);
    writeFileSync(join(root, 'pubring.gpg'), gpg('--export', 'cp@example.com').stdout);
    writeFileSync(join(root, 'secret.asc'), gpg('--armor', '--export-secret-keys', 'cp@example.com').stdout);
    chartDir = join(root, 'src', 'signed');
    writeTree(chartDir, {
      'Chart.yaml':
        'apiVersion: v2\nname: signed\nversion: 0.1.0\nappVersion: 1.10\ndescription: "emoji \\U0001F600 here"\n',
      'values.yaml': 'a: 1\n',
    });
  });
  afterAll(() => {
    spawnSync('gpgconf', ['--homedir', gnupg, '--kill', 'all'], { stdio: 'ignore' });
    for (const d of [root, gnupg, home]) rmSync(d, { recursive: true, force: true });
  });

  it('verifies what helm package --sign wrote, and writes the same signed message block', async () => {
    const out = join(root, 'helm');
    helmOk(
      ['package', chartDir, '-d', out, '--sign', '--key', 'CP Test', '--keyring', join(root, 'secring.gpg')],
      { home },
    );
    const tgz = join(out, 'signed-0.1.0.tgz');
    const verified = await chartproof(['prov', 'verify', tgz, '--keyring', join(root, 'pubring.gpg')]);
    expect(verified.code, verified.out + verified.err).toBe(0);
    expect(verified.out).toContain('CP Test');

    const helmProv = readFileSync(`${tgz}.prov`, 'utf8');
    expect(signedText(helmProv)).toContain('description: "emoji \\U0001F600 here"');
    // chartproof signs the Helm-made archive: the clearsigned text must be Helm's.
    const copy = join(root, 'copy');
    writeTree(copy, { 'signed-0.1.0.tgz': readFileSync(tgz) });
    const signed = await chartproof([
      'prov',
      'sign',
      join(copy, 'signed-0.1.0.tgz'),
      '--key',
      join(root, 'secret.asc'),
    ]);
    expect(signed.code, signed.err).toBe(0);
    expect(signedText(readFileSync(join(copy, 'signed-0.1.0.tgz.prov'), 'utf8'))).toBe(signedText(helmProv));
  });

  it('helm verify accepts a .prov chartproof signed', async () => {
    const out = join(root, 'ours');
    const pkg = await chartproof(['package', chartDir, '-d', out]);
    expect(pkg.code, pkg.err).toBe(0);
    const tgz = join(out, 'signed-0.1.0.tgz');
    const signed = await chartproof(['prov', 'sign', tgz, '--key', join(root, 'secret.asc')]);
    expect(signed.code, signed.err).toBe(0);
    const v = helmOk(['verify', tgz, '--keyring', join(root, 'pubring.gpg')], { home });
    expect(v.stdout + v.stderr).toMatch(/Signed by: CP Test/);
  });
});
