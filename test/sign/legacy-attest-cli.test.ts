import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { generateKeyPair } from '../../src/keys/keys.js';
import { encodeDsseEnvelope } from '../../src/sign/legacy-attest.js';
import { findLegacyAttestations } from '../../src/verify/legacy-attestation.js';
import { captureIo } from '../helpers/cli-io.js';
import { type ListeningFixture, listeningFixture, pushTestChart } from '../helpers/registry.js';

const SLSA_V1 = 'https://slsa.dev/provenance/v1';
const SIG = 'dev.cosignproject.cosign/signature';
const DSSE = 'application/vnd.dsse.envelope.v1+json';
const slsa = {
  buildDefinition: { buildType: 'https://example.com/helm/v1' },
  runDetails: { builder: { id: 'ci' } },
};

describe('chartproof attest --format legacy / verify-attestation', () => {
  let registry: ListeningFixture;
  let dir: string;
  let ref: string;
  let digest: string;
  const file = (name: string) => join(dir, name);

  beforeAll(async () => {
    registry = await listeningFixture({ retries: 'default' });
    dir = await mkdtemp(join(tmpdir(), 'chartproof-att-'));
    digest = (await pushTestChart(registry.repo())).digest;
    ref = `oci://${registry.server.host}/charts/app:1.0.0`;
    const pair = await generateKeyPair({ password: 'pw', scryptN: 32768 });
    await writeFile(file('k.key'), pair.privateKeyPem);
    await writeFile(file('k.pub'), pair.publicKeyPem);
    await writeFile(file('slsa.json'), JSON.stringify(slsa));
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

  it('writes the .att layer and verifies it, reporting the legacy format', async () => {
    const a = await cli(
      [
        'attest',
        '--key',
        file('k.key'),
        '--type',
        'slsaprovenance1',
        '--predicate',
        file('slsa.json'),
        '--format',
        'legacy',
        '--json',
        ref,
      ],
      {
        COSIGN_PASSWORD: 'pw',
      },
    );
    expect(a.err).toBe('');
    expect(a.code).toBe(0);
    const written = JSON.parse(a.out);
    const tag = `sha256-${digest.slice(7)}.att`;
    expect(written).toMatchObject({
      format: 'legacy',
      digest,
      predicateType: SLSA_V1,
      legacy: { tag, appended: true },
    });
    expect(written.referrer).toBeUndefined();

    const v = await cli([
      'verify-attestation',
      '--key',
      file('k.pub'),
      '--insecure-ignore-tlog',
      '--type',
      'slsaprovenance1',
      ref,
    ]);
    expect(v.code).toBe(0);
    expect(v.err).toContain('The signatures were verified against the specified public key');
    const result = JSON.parse(v.out);
    expect(result).toMatchObject({
      format: 'legacy',
      digest,
      attestations: [{ format: 'legacy', predicate: slsa, source: `${tag} layer 0` }],
    });

    const bundleOnly = await cli([
      'verify-attestation',
      '--key',
      file('k.pub'),
      '--insecure-ignore-tlog',
      '--type',
      'slsaprovenance1',
      '--format',
      'bundle',
      ref,
    ]);
    expect(bundleOnly.code).toBe(1);
    expect(bundleOnly.err).toMatch(/no attestations of type https:\/\/slsa\.dev\/provenance\/v1 found/);

    const text = await cli(
      [
        'attest',
        '--key',
        file('k.key'),
        '--type',
        'slsaprovenance1',
        '--predicate',
        file('slsa.json'),
        '--format',
        'both',
        ref,
      ],
      {
        COSIGN_PASSWORD: 'pw',
      },
    );
    expect(text.code).toBe(0);
    expect(text.out).toMatch(new RegExp(`legacy: .*:${tag} \\(layer sha256:`));
    expect(text.out).toMatch(/bundle: .*@sha256:[0-9a-f]{64} \(referrer\)/);
  });

  it('refuses unknown formats with exit 2', async () => {
    const a = await cli(
      ['attest', '--key', file('k.key'), '--predicate', file('slsa.json'), '--format', 'zip', ref],
      { COSIGN_PASSWORD: 'pw' },
    );
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/--format must be one of bundle, legacy, both/);
    const v = await cli([
      'verify-attestation',
      '--key',
      file('k.pub'),
      '--insecure-ignore-tlog',
      '--format',
      'both',
      ref,
    ]);
    expect(v.code).toBe(2);
  });

  it('lists DSSE layers with an empty signature annotation, each digest that of the envelope', async () => {
    const found = await findLegacyAttestations(registry.repo(), digest as `sha256:${string}`);
    expect(found.layers.length).toBeGreaterThan(0);
    for (const l of found.layers) {
      expect(l.mediaType).toBe(DSSE);
      expect(l.annotations[SIG]).toBe('');
      const bytes = encodeDsseEnvelope(l.envelope!);
      expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(l.layerDigest);
    }
  });
});
