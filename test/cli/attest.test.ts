import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { loadChartArchive } from '../../src/chart/load.js';
import { pushChart } from '../../src/chart/oci.js';
import { generateKeyPair } from '../../src/keys/keys.js';
import { makeChartArchive } from '../helpers/chart-repo.js';
import { captureIo } from '../helpers/cli-io.js';
import { type ListeningFixture, listeningFixture } from '../helpers/registry.js';

const PASSWORD = 'attest-pw';

describe('chartproof attest / verify-attestation', () => {
  let registry: ListeningFixture;
  let server: ListeningFixture['server'];
  let dir: string;
  let digest: string;
  let ref: string;
  const file = (name: string) => join(dir, name);

  beforeAll(async () => {
    registry = await listeningFixture({ retries: 'default' });
    server = registry.server;
    dir = await mkdtemp(join(tmpdir(), 'chartproof-attest-'));
    const archive = await makeChartArchive('app', '1.0.0');
    const pushed = await pushChart(
      registry.client,
      archive,
      (await loadChartArchive(archive)).metadata,
      `oci://${server.host}/charts`,
    );
    digest = pushed.digest;
    ref = `oci://${server.host}/charts/app:1.0.0`;
    for (const [prefix, pw] of [
      ['signer', PASSWORD],
      ['other', 'x'],
    ] as const) {
      const pair = await generateKeyPair({ password: pw, scryptN: 32768 });
      await writeFile(file(`${prefix}.key`), pair.privateKeyPem);
      await writeFile(file(`${prefix}.pub`), pair.publicKeyPem);
    }
    await writeFile(
      file('slsa.json'),
      JSON.stringify({
        buildDefinition: { buildType: 'https://example.com/helm/v1', externalParameters: {} },
        runDetails: { builder: { id: 'https://ci.example.com' }, metadata: { invocationID: 'run-7' } },
      }),
    );
    await writeFile(file('notes.txt'), 'reviewed by alice\nnot JSON at all\n');
  });
  afterAll(async () => {
    await registry?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function cli(args: string[], env: Record<string, string> = {}) {
    const c = captureIo('', { HOME: join(dir, 'home'), ...env });
    const code = await run(['--plain-http', ...args], c.io);
    return { code, out: c.out(), err: c.err() };
  }
  const attest = (args: string[]) =>
    cli(['attest', '--key', file('signer.key'), ...args], { COSIGN_PASSWORD: PASSWORD });
  const verify = (args: string[]) =>
    cli(['verify-attestation', '--key', file('signer.pub'), '--insecure-ignore-tlog', ...args]);

  it('attests SLSA v1 provenance and verifies it by type, printing the pinned digest and predicate', async () => {
    const a = await attest(['--type', 'slsaprovenance1', '--predicate', file('slsa.json'), '--json', ref]);
    expect(a.err).toBe('');
    expect(a.code).toBe(0);
    const written = JSON.parse(a.out);
    expect(written).toMatchObject({
      pinned: `${server.host}/charts/app@${digest}`,
      digest,
      predicateType: 'https://slsa.dev/provenance/v1',
    });
    expect(written.referrer).toMatch(/^sha256:[0-9a-f]{64}$/);

    const v = await verify(['--type', 'slsaprovenance1', ref]);
    expect(v.code).toBe(0);
    expect(v.err).toContain('WARNING: Skipping tlog verification');
    expect(v.err).toContain(`Verification for ${ref} --`);
    expect(v.err).toContain('  - The signatures were verified against the specified public key');
    const result = JSON.parse(v.out);
    expect(result.pinned).toBe(`${server.host}/charts/app@${digest}`);
    expect(result.attestations).toHaveLength(1);
    expect(result.attestations[0].manifestDigest).toBe(written.referrer);
    // cosign's SLSA v1 normalisation: invocationID → invocationId.
    expect(result.attestations[0].predicate).toEqual({
      buildDefinition: { buildType: 'https://example.com/helm/v1', externalParameters: {} },
      runDetails: { builder: { id: 'https://ci.example.com' }, metadata: { invocationId: 'run-7' } },
    });
  });

  it('wraps the predicate file like cosign for the default custom type, which verify-attestation checks by default', async () => {
    const a = await attest(['--predicate', file('notes.txt'), '-a', 'team=platform', ref]);
    expect(a.code).toBe(0);
    expect(a.out).toContain(`Attested ${server.host}/charts/app@${digest}`);
    expect(a.out).toContain('type: https://cosign.sigstore.dev/attestation/v1');
    const v = await verify([ref, '-a', 'team=platform']);
    expect(v.code).toBe(0);
    const [att] = JSON.parse(v.out).attestations;
    expect(att.predicateType).toBe('https://cosign.sigstore.dev/attestation/v1');
    expect(att.predicate.Data).toBe('reviewed by alice\nnot JSON at all\n');
    expect(att.predicate.Timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect((await verify([ref, '-a', 'team=other'])).code).toBe(1);
  });

  it('exits 1 with the reason when no attestation of the type exists or the key is wrong', async () => {
    const none = await verify(['--type', 'spdx', ref]);
    expect(none.code).toBe(1);
    expect(none.out).toBe('');
    expect(none.err).toMatch(/Error: no attestations of type https:\/\/spdx\.dev\/Document found/);

    const wrong = await cli([
      'verify-attestation',
      '--key',
      file('other.pub'),
      '--insecure-ignore-tlog',
      '--type',
      'slsaprovenance1',
      '--json',
      ref,
    ]);
    expect(wrong.code).toBe(1);
    const body = JSON.parse(wrong.out);
    expect(body.error.code).toBe('SIGNATURE_INVALID');
    expect(body.rejected).toHaveLength(1);
    // A failure names the digest but never a pinned reference to install.
    expect(body.digest).toBe(digest);
    expect(body.pinned).toBeUndefined();
    expect(wrong.err).toContain('"error"');
  });

  it('exits 2 for bad input', async () => {
    expect((await verify(['--type', 'sbom', ref])).code).toBe(2);
    expect((await cli(['verify-attestation', '--insecure-ignore-tlog', ref])).code).toBe(2);
    expect((await cli(['verify-attestation', '--key', file('signer.pub'), ref])).code).toBe(2);
    expect(
      (await cli(['verify-attestation', '--certificate-identity', 'a@b', '--insecure-ignore-tlog', ref]))
        .code,
    ).toBe(2);
    expect((await attest(['--type', 'spdx', '--predicate', file('notes.txt'), ref])).code).toBe(2);
    expect((await attest(['--type', 'spdx', '--predicate', file('missing.json'), ref])).code).toBe(2);
    const noPassword = await cli([
      'attest',
      '--key',
      file('signer.key'),
      '--predicate',
      file('slsa.json'),
      ref,
    ]);
    expect(noPassword.code).toBe(2);
    expect(noPassword.err).toContain('COSIGN_PASSWORD');
    // None of the refused calls attached anything.
    const v = await verify(['--type', 'spdx', ref]);
    expect(v.code).toBe(1);
  });
});
