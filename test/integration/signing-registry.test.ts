import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { type Descriptor, digestOf, MediaType, RegistryClient } from '../../src/oci/index.js';
import { verifyChart } from '../../src/verify/chart.js';
import { captureIo } from '../helpers/cli-io.js';
import { type StartedRegistry, startDockerRegistry } from '../helpers/docker-registry.js';
import { requireTool } from '../helpers/services.js';
import { SIGSTORE_VECTORS, sigstoreVectorsAvailable } from '../helpers/vectors.js';

const missing = requireTool('docker-registry');
/** The two cosign-made vectors; the seed workflow below needs none. */
const haveVectors = sigstoreVectorsAvailable('cosign vectors on docker-registry (2 tests)');

/**
 * The real cosign v3.0.4 signatures (legacy `.sig` and bundle referrer), served by the
 * real docker-registry (distribution 2.8, no referrers API: the tag fallback), and the
 * seed's package → push → sign → verify workflow through the CLI.
 */
describe.skipIf(missing !== undefined)('cosign signatures on docker-registry', () => {
  let reg: StartedRegistry;
  let client: RegistryClient;
  let work: string;
  const v = (...p: string[]) => join(SIGSTORE_VECTORS, 'cosign-oci', ...p);
  const bytes = (path: string) => new Uint8Array(readFileSync(path));

  beforeAll(async () => {
    reg = await startDockerRegistry('plain');
    client = new RegistryClient({ plainHttp: true });
    work = mkdtempSync(join(tmpdir(), 'cp-sign-int-'));
  });
  afterAll(async () => {
    await client?.close();
    await reg?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function cli(args: string[], env: Record<string, string> = {}) {
    const c = captureIo('', { HOME: join(work, 'home'), ...env });
    const code = await run(['--plain-http', ...args], c.io);
    return { code, out: c.out(), err: c.err() };
  }

  async function pushBlob(repoName: string, mediaType: string, data: Uint8Array): Promise<Descriptor> {
    const desc = { mediaType, digest: digestOf(data), size: data.byteLength };
    await client.repository(`${reg.host}/${repoName}`).push(desc, data);
    return desc;
  }

  it.skipIf(!haveVectors)(
    'verifies the cosign v3.0.4 legacy signature it serves (by digest, tlog skipped as it was signed)',
    async () => {
      const repoName = 'tobby/fixture';
      const subject = readFileSync(v('cosign-v3.0.4-legacy-sig', 'subject-digest.txt'), 'utf8').trim();
      await pushBlob(
        repoName,
        MediaType.CosignSimpleSigning,
        bytes(v('cosign-v3.0.4-legacy-sig', 'payload.json')),
      );
      await pushBlob(
        repoName,
        'application/vnd.oci.image.config.v1+json',
        bytes(v('cosign-v3.0.4-legacy-sig', 'config.reconstructed.json')),
      );
      const sigManifest = bytes(v('cosign-v3.0.4-legacy-sig', 'sig-manifest.json'));
      await client
        .repository(`${reg.host}/${repoName}`)
        .pushManifest(sigManifest, { tags: [`${subject.replace(':', '-')}.sig`] });
      const ref = `${reg.host}/${repoName}@${subject}`;
      const key = readFileSync(v('cosign-v3.0.4-legacy-sig', 'cosign.pub'), 'utf8');

      const result = await verifyChart(client, ref, { policy: { keys: [key], tlog: 'skip' } });
      expect(result).toMatchObject({ format: 'legacy', digest: subject, pinned: ref, verified: 1 });
      expect(result.signatures[0]!.payload).toEqual(
        JSON.parse(readFileSync(v('cosign-v3.0.4-legacy-sig', 'payload.json'), 'utf8')),
      );

      const keyFile = join(work, 'legacy.pub');
      writeFileSync(keyFile, key);
      const ok = await cli(['verify', '--key', keyFile, '--insecure-ignore-tlog', ref]);
      expect(ok.code).toBe(0);
      expect(ok.err).toContain(`Verification for ${ref} --`);
      expect(ok.err).toContain(
        '  - The cosign claims were validated\n  - The signatures were verified against the specified public key\n',
      );
      expect(JSON.parse(ok.out).pinned).toBe(ref);
      // cosign's default requires transparency-log evidence; this signature has none.
      const strict = await cli([
        'verify',
        '--key',
        keyFile,
        '--trusted-root',
        join(SIGSTORE_VECTORS, 'conformance', 'production_trusted_root.json'),
        ref,
      ]);
      expect(strict.code).toBe(1);
      expect(strict.err).toMatch(/no Rekor bundle annotation/);
    },
  );

  it.skipIf(!haveVectors)(
    'verifies the cosign v3.0.4 bundle referrer through the fallback tag (empty-config artifactType entry)',
    async () => {
      const repoName = 'tobby/bundled';
      const dir = (f: string) => v('cosign-v3.0.4-bundle-referrer', f);
      const subject = readFileSync(dir('subject-digest.txt'), 'utf8').trim();
      await pushBlob(repoName, 'application/vnd.oci.empty.v1+json', new TextEncoder().encode('{}'));
      await pushBlob(
        repoName,
        'application/vnd.dev.sigstore.bundle.v0.3+json',
        bytes(dir('bundle-sigstore.json')),
      );
      const repo = client.repository(`${reg.host}/${repoName}`);
      await repo.pushManifest(bytes(dir('bundle-referring-manifest.json')));
      // Serve cosign's own fallback index, byte for byte.
      await repo.pushManifest(bytes(dir('bundle-referrers-index.json')), {
        tags: [subject.replace(':', '-')],
      });
      const ref = `${reg.host}/${repoName}@${subject}`;
      const keyFile = dir('bundle-cosign.pub');
      const root = join(SIGSTORE_VECTORS, 'conformance', 'production_trusted_root.json');

      const ok = await cli(['verify', '--key', keyFile, '--trusted-root', root, ref]);
      expect(ok.err).toContain('The signatures were verified against the specified public key');
      expect(ok.code).toBe(0);
      const out = JSON.parse(ok.out);
      expect(out).toMatchObject({ format: 'bundle', digest: subject, pinned: ref });
      expect(out.signatures[0].tlog).toBe('verified');
      const otherKey = join(work, 'other.pub');
      const gen = await cli(['keygen', '--output-key-prefix', join(work, 'other')], { COSIGN_PASSWORD: '' });
      expect(gen.code).toBe(0);
      const wrong = await cli(['verify', '--key', otherKey, '--trusted-root', root, ref]);
      expect(wrong.code).toBe(1);
      expect(wrong.err).toMatch(/no matching signatures/);
    },
  );

  it('seed workflow: package, push, keygen, sign (both formats), verify; unsigned and swapped charts are refused', async () => {
    const chartDir = join(work, 'payments-api');
    mkdirSync(join(chartDir, 'templates'), { recursive: true });
    writeFileSync(join(chartDir, 'Chart.yaml'), 'apiVersion: v2\nname: payments-api\nversion: 1.4.2\n');
    writeFileSync(
      join(chartDir, 'templates', 'cm.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n',
    );
    expect((await cli(['package', chartDir, '-d', work, '--source-date-epoch', '0'])).code).toBe(0);
    const tgz = join(work, 'payments-api-1.4.2.tgz');
    const pushed = await cli(['push', tgz, `oci://${reg.host}/charts`]);
    expect(pushed.code).toBe(0);
    const ref = `${reg.host}/charts/payments-api:1.4.2`;
    const prefix = join(work, 'cosign');
    expect((await cli(['keygen', '--output-key-prefix', prefix], { COSIGN_PASSWORD: 'pw' })).code).toBe(0);

    const unsigned = await cli(['verify', '--key', `${prefix}.pub`, '--insecure-ignore-tlog', ref]);
    expect(unsigned.code).toBe(1);
    expect(unsigned.err).toMatch(/no signatures found for/);

    const signed = await cli(['sign', '--key', `${prefix}.key`, ref, '-a', 'team=payments'], {
      COSIGN_PASSWORD: 'pw',
    });
    expect(signed.err).toBe('');
    expect(signed.code).toBe(0);
    const digest = /Signed \S+@(sha256:[0-9a-f]{64})/.exec(signed.out)?.[1];
    expect(digest).toBeDefined();

    for (const format of ['bundle', 'legacy']) {
      const r = await cli([
        'verify',
        '--key',
        `${prefix}.pub`,
        '--insecure-ignore-tlog',
        '--format',
        format,
        '-a',
        'team=payments',
        ref,
      ]);
      expect(r.code).toBe(0);
      const out = JSON.parse(r.out);
      expect(out.format).toBe(format);
      expect(out.pinned).toBe(`${reg.host}/charts/payments-api@${digest}`);
      expect(r.err).toContain('  - The specified annotations were verified.');
    }
    const wrongAnnotation = await cli([
      'verify',
      '--key',
      `${prefix}.pub`,
      '--insecure-ignore-tlog',
      '-a',
      'team=other',
      ref,
    ]);
    expect(wrongAnnotation.code).toBe(1);

    // A compromised maintainer re-publishes the same version: the tag now names other content.
    writeFileSync(
      join(chartDir, 'templates', 'crb.yaml'),
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n',
    );
    expect(
      (await cli(['package', chartDir, '-d', join(work, 'evil'), '--source-date-epoch', '0'])).code,
    ).toBe(0);
    expect(
      (await cli(['push', join(work, 'evil', 'payments-api-1.4.2.tgz'), `oci://${reg.host}/charts`])).code,
    ).toBe(0);
    const swapped = await cli(['verify', '--key', `${prefix}.pub`, '--insecure-ignore-tlog', ref]);
    expect(swapped.code).toBe(1);
    expect(swapped.err).toMatch(/no signatures found/);
    // The digest that was verified still verifies: install by the pinned reference.
    const pinned = await cli([
      'verify',
      '--key',
      `${prefix}.pub`,
      '--insecure-ignore-tlog',
      `${reg.host}/charts/payments-api@${digest}`,
    ]);
    expect(pinned.code).toBe(0);
  });
});
