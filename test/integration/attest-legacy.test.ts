import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { type Descriptor, digestOf, RegistryClient } from '../../src/oci/index.js';
import { verifyChartAttestations } from '../../src/verify/attestation.js';
import { captureIo } from '../helpers/cli-io.js';
import { type StartedRegistry, startDockerRegistry } from '../helpers/docker-registry.js';
import { requireTool } from '../helpers/services.js';

const missing = requireTool('docker-registry');

/**
 * cosign's legacy attestation layout (`sha256-<hex>.att`) on the real docker-registry
 * (distribution 2.8): package → push → keygen → attest --format legacy (twice, appended)
 * → verify-attestation by type, then --format both with the bundle found first through
 * the referrers fallback tag.
 */
describe.skipIf(missing !== undefined)('legacy attestations on docker-registry', () => {
  let reg: StartedRegistry;
  let client: RegistryClient;
  let work: string;

  beforeAll(async () => {
    reg = await startDockerRegistry('plain');
    client = new RegistryClient({ plainHttp: true });
    work = mkdtempSync(join(tmpdir(), 'cp-att-int-'));
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

  it('attests twice in the legacy format, keeps both layers, and verifies each type', async () => {
    const chartDir = join(work, 'ledger');
    mkdirSync(join(chartDir, 'templates'), { recursive: true });
    writeFileSync(join(chartDir, 'Chart.yaml'), 'apiVersion: v2\nname: ledger\nversion: 0.3.1\n');
    writeFileSync(
      join(chartDir, 'templates', 'cm.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n',
    );
    expect((await cli(['package', chartDir, '-d', work, '--source-date-epoch', '0'])).code).toBe(0);
    expect((await cli(['push', join(work, 'ledger-0.3.1.tgz'), `oci://${reg.host}/charts`])).code).toBe(0);
    const ref = `${reg.host}/charts/ledger:0.3.1`;
    const prefix = join(work, 'cosign');
    expect((await cli(['keygen', '--output-key-prefix', prefix], { COSIGN_PASSWORD: 'pw' })).code).toBe(0);
    const slsa = {
      buildDefinition: { buildType: 'https://example.com/helm/v1' },
      runDetails: { builder: { id: 'ci' } },
    };
    writeFileSync(join(work, 'slsa.json'), JSON.stringify(slsa));
    writeFileSync(join(work, 'notes.txt'), 'reviewed by alice\n');

    const attest = (args: string[]) =>
      cli(['attest', '--key', `${prefix}.key`, '--format', 'legacy', '--json', ...args, ref], {
        COSIGN_PASSWORD: 'pw',
      });
    const first = await attest(['--type', 'slsaprovenance1', '--predicate', join(work, 'slsa.json')]);
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    const second = await attest(['--predicate', join(work, 'notes.txt'), '-a', 'env=prod']);
    expect(second.code).toBe(0);
    const { digest, legacy } = JSON.parse(second.out);
    expect(legacy.tag).toBe(`${digest.replace(':', '-')}.att`);

    // The .att manifest as the registry serves it: cosign's shape, both layers.
    const repo = client.repository(`${reg.host}/charts/ledger`);
    const { bytes, manifest } = await repo.fetchManifest(legacy.tag);
    expect(digestOf(bytes)).toBe(legacy.manifestDigest);
    expect(manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect((manifest.config as Descriptor).mediaType).toBe('application/vnd.oci.image.config.v1+json');
    const layers = manifest.layers as Descriptor[];
    expect(layers.map((l) => l.mediaType)).toEqual([
      'application/vnd.dsse.envelope.v1+json',
      'application/vnd.dsse.envelope.v1+json',
    ]);
    expect(layers.map((l) => l.annotations)).toEqual([
      { 'dev.cosignproject.cosign/signature': '', predicateType: 'https://slsa.dev/provenance/v1' },
      {
        'dev.cosignproject.cosign/signature': '',
        predicateType: 'https://cosign.sigstore.dev/attestation/v1',
      },
    ]);
    expect(layers[0]!.digest).toBe(JSON.parse(first.out).legacy.layer);

    const verify = (args: string[]) =>
      cli(['verify-attestation', '--key', `${prefix}.pub`, '--insecure-ignore-tlog', ...args, ref]);
    const prov = await verify(['--type', 'slsaprovenance1']);
    expect(prov.code).toBe(0);
    expect(JSON.parse(prov.out)).toMatchObject({
      format: 'legacy',
      digest,
      attestations: [{ predicate: slsa, source: `${legacy.tag} layer 0` }],
    });
    const custom = await verify(['-a', 'env=prod']);
    expect(custom.code).toBe(0);
    expect(custom.err).toContain('  - The specified annotations were verified.');
    expect(JSON.parse(custom.out).attestations[0].predicate.Data).toBe('reviewed by alice\n');
    const wrongAnnotation = await verify(['-a', 'env=dev']);
    expect(wrongAnnotation.code).toBe(1);
    expect(wrongAnnotation.err).toMatch(/lacks the required annotation\(s\) env=dev/);
    const other = join(work, 'other');
    expect((await cli(['keygen', '--output-key-prefix', other], { COSIGN_PASSWORD: '' })).code).toBe(0);
    const wrongKey = await cli([
      'verify-attestation',
      '--key',
      `${other}.pub`,
      '--insecure-ignore-tlog',
      ref,
    ]);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.err).toMatch(
      /no attestations of type https:\/\/cosign\.sigstore\.dev\/attestation\/v1 verified/,
    );

    // Both formats: the bundle (found through the sha256-<hex> fallback tag) comes first.
    const both = await cli(
      [
        'attest',
        '--key',
        `${prefix}.key`,
        '--format',
        'both',
        '--type',
        'spdx',
        '--predicate',
        join(work, 'slsa.json'),
        '--json',
        ref,
      ],
      { COSIGN_PASSWORD: 'pw' },
    );
    expect(both.code).toBe(0);
    expect(JSON.parse(both.out)).toMatchObject({
      format: 'both',
      referrersApi: false,
      legacy: { appended: true },
    });
    const policy = { keys: [readFileSync(`${prefix}.pub`, 'utf8')], tlog: 'skip' as const };
    const viaBundle = await verifyChartAttestations(client, ref, { policy, predicateType: 'spdx' });
    expect(viaBundle.format).toBe('bundle');
    const viaLegacy = await verifyChartAttestations(client, ref, {
      policy,
      predicateType: 'spdx',
      formats: ['legacy'],
    });
    expect(viaLegacy.attestations[0]!.source).toBe(`${legacy.tag} layer 2`);
  });
});
