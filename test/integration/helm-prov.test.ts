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
import { startDockerRegistry } from '../helpers/docker-registry.js';
import { helmAvailable, helmHome, runHelm } from '../helpers/helm.js';
import { chartproof, helmOk, startStaticServer, writeTree } from '../helpers/helm-peer.js';
import { requireTool } from '../helpers/services.js';

const HAVE_HELM = helmAvailable('helm provenance interop');
const SKIP = !HAVE_HELM || requireTool('gpg') !== undefined;
const NO_REGISTRY = requireTool('docker-registry');

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

  it('template --verify --keyring checks the .prov before rendering, as helm template --verify (file and --repo)', async () => {
    const dir = join(root, 'tv', 'web');
    writeTree(dir, {
      'Chart.yaml': 'apiVersion: v2\nname: web\nversion: 1.0.0\n',
      'values.yaml': 'image: nginx:1.27\n',
      'templates/pod.yaml':
        'apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  containers:\n    - name: web\n      image: {{ .Values.image }}\n',
    });
    const repoDir = join(root, 'tv', 'repo');
    helmOk(
      ['package', dir, '-d', repoDir, '--sign', '--key', 'CP Test', '--keyring', join(root, 'secring.gpg')],
      { home },
    );
    const tgz = join(repoDir, 'web-1.0.0.tgz');
    const keyring = join(root, 'pubring.gpg');
    // A keyring without the signer: another key's.
    const other = gpg('--quick-gen-key', '--passphrase', '', 'Other <other@example.com>', 'rsa2048');
    expect(other.status, String(other.stderr)).toBe(0);
    const otherRing = join(root, 'other.gpg');
    writeFileSync(otherRing, gpg('--export', 'other@example.com').stdout);

    const h = helmOk(['template', 'rel', tgz, '--verify', '--keyring', keyring], { home });
    const ours = await chartproof(['template', 'rel', tgz, '--verify', '--keyring', keyring]);
    expect(ours.code, ours.err).toBe(0);
    expect(ours.out).toBe(h.stdout);
    expect(ours.out).toContain('image: nginx:1.27');
    const imgs = await chartproof(['images', 'rel', tgz, '--verify', '--keyring', keyring]);
    expect(imgs.out).toBe('docker.io/library/nginx:1.27\n');

    // Signed by a key the keyring does not hold: Helm refuses, chartproof exits 1 and renders nothing.
    expect(runHelm(['template', 'rel', tgz, '--verify', '--keyring', otherRing], { home }).status).not.toBe(
      0,
    );
    const wrongKey = await chartproof(['template', 'rel', tgz, '--verify', '--keyring', otherRing]);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.out).toBe('');
    // No .prov beside the archive; an unpacked chart.
    const bare = join(root, 'tv', 'bare');
    writeTree(bare, { 'web-1.0.0.tgz': readFileSync(tgz) });
    const bareTgz = join(bare, 'web-1.0.0.tgz');
    expect(runHelm(['template', 'rel', bareTgz, '--verify', '--keyring', keyring], { home }).status).not.toBe(
      0,
    );
    expect((await chartproof(['template', 'rel', bareTgz, '--verify', '--keyring', keyring])).code).toBe(1);
    const unpacked = runHelm(['template', 'rel', dir, '--verify', '--keyring', keyring], { home });
    expect(unpacked.status).not.toBe(0);
    const oursUnpacked = await chartproof(['template', 'rel', dir, '--verify', '--keyring', keyring]);
    expect(oursUnpacked.code).toBe(2);
    expect(oursUnpacked.err).toContain('unpacked charts cannot be verified');
    expect(unpacked.stderr).toContain('unpacked charts cannot be verified');

    // A classic repository: the .prov is fetched next to the archive (<url>.prov).
    helmOk(['repo', 'index', repoDir], { home });
    const server = await startStaticServer(repoDir);
    try {
      const fromRepo = (ring: string) => [
        'template',
        'rel',
        'web',
        '--repo',
        server.url,
        '--verify',
        '--keyring',
        ring,
      ];
      const hr = helmOk(fromRepo(keyring), { home });
      const or = await chartproof(fromRepo(keyring));
      expect(or.code, or.err).toBe(0);
      expect(or.out).toBe(hr.stdout);
      expect((await chartproof(fromRepo(otherRing))).code).toBe(1);
      rmSync(`${tgz}.prov`);
      // A Helm home of its own: Helm would otherwise use the .prov it cached above.
      const fresh = helmHome();
      try {
        const h2 = runHelm(fromRepo(keyring), { home: fresh });
        expect(h2.status).not.toBe(0);
        expect(h2.stderr).toMatch(/provenance/);
      } finally {
        rmSync(fresh, { recursive: true, force: true });
      }
      const noProv = await chartproof(fromRepo(keyring));
      expect(noProv.code).toBe(1);
      expect(noProv.out).toBe('');
    } finally {
      await server.stop();
    }
  });

  it.skipIf(NO_REGISTRY !== undefined)(
    'template --verify of an oci:// chart checks its provenance layer, as helm template --verify (docker-registry)',
    async () => {
      const dir = join(root, 'oci', 'api');
      writeTree(dir, {
        'Chart.yaml': 'apiVersion: v2\nname: api\nversion: 2.0.0\n',
        'templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n',
      });
      const out = join(root, 'oci', 'pkg');
      helmOk(
        ['package', dir, '-d', out, '--sign', '--key', 'CP Test', '--keyring', join(root, 'secring.gpg')],
        { home },
      );
      const reg = await startDockerRegistry('plain');
      try {
        // helm push takes the .prov beside the archive as the provenance layer.
        helmOk(['push', join(out, 'api-2.0.0.tgz'), `oci://${reg.host}/signed`, '--plain-http'], { home });
        const unsigned = join(root, 'oci', 'unsigned');
        writeTree(unsigned, { 'api-2.0.0.tgz': readFileSync(join(out, 'api-2.0.0.tgz')) });
        helmOk(['push', join(unsigned, 'api-2.0.0.tgz'), `oci://${reg.host}/unsigned`, '--plain-http'], {
          home,
        });
        const keyring = join(root, 'pubring.gpg');
        const args = (repo: string) => [
          'template',
          'rel',
          `oci://${reg.host}/${repo}/api`,
          '--version',
          '2.0.0',
          '--verify',
          '--keyring',
          keyring,
          '--plain-http',
        ];
        const h = helmOk(args('signed'), { home });
        const ours = await chartproof(args('signed'));
        expect(ours.code, ours.err).toBe(0);
        expect(ours.out).toBe(h.stdout);
        expect(ours.out).toContain('name: rel');
        // A Helm home of its own: Helm's content cache would serve the .prov it pulled above
        // (the same archive, by digest).
        const fresh = helmHome();
        try {
          expect(runHelm(args('unsigned'), { home: fresh }).status).not.toBe(0);
        } finally {
          rmSync(fresh, { recursive: true, force: true });
        }
        const refused = await chartproof(args('unsigned'));
        expect([refused.code, refused.out]).toEqual([1, '']);
      } finally {
        await reg.stop();
      }
    },
  );

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
