import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleFromJSON } from '@sigstore/bundle';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { describe, expect, it } from 'vitest';
import { loadChartArchive } from '../../src/chart/load.js';
import { pushChart } from '../../src/chart/oci.js';
import { attestChart, cosignCustomPredicate } from '../../src/sign/attest.js';
import {
  COSIGN_CUSTOM_PREDICATE_TYPE,
  PREDICATE_TYPE_SHORTHANDS,
  resolvePredicateType,
} from '../../src/cosign/predicates.js';
import { keyObjectSigner } from '../../src/keys/keys.js';
import { findBundles } from '../../src/sign/referrer.js';
import { makeChartArchive } from '../helpers/chart-repo.js';
import { expectChartproofError } from '../helpers/expect-error.js';
import { memoryFixture, TEST_HOST } from '../helpers/registry.js';
import { SIGSTORE_VECTORS, sigstoreVectorsAvailable } from '../helpers/vectors.js';

const EMPTY_ROOT = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
} as unknown as Parameters<typeof toTrustMaterial>[0];

// cosign `cmd/cosign/cli/options/predicate.go` PredicateTypeMap, with the in-toto-golang
// constants spelled out (written here from the cosign sources, not taken from src/).
const COSIGN_TYPE_MAP: Record<string, string> = {
  custom: 'https://cosign.sigstore.dev/attestation/v1',
  slsaprovenance: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance02: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance1: 'https://slsa.dev/provenance/v1',
  spdx: 'https://spdx.dev/Document',
  spdxjson: 'https://spdx.dev/Document',
  cyclonedx: 'https://cyclonedx.org/bom',
  link: 'https://in-toto.io/Link/v1',
  vuln: 'https://cosign.sigstore.dev/attestation/vuln/v1',
  openvex: 'https://openvex.dev/ns',
};

const SLSA = {
  buildDefinition: {
    buildType: 'https://example.com/helm-package/v1',
    externalParameters: { chart: 'app', ref: 'refs/tags/v1.0.0' },
  },
  runDetails: { builder: { id: 'https://example.com/builder' }, metadata: { invocationId: 'run-42' } },
};

/** The fixture with chart app 1.0.0 pushed to `charts/app`, and a P-256 signing key. */
async function pushedChart() {
  const { registry, client, repo } = memoryFixture({ retries: 'fast' });
  const archive = await makeChartArchive('app', '1.0.0', { 'values.yaml': 'replicas: 1\n' });
  const chart = await loadChartArchive(archive);
  const pushed = await pushChart(client, archive, chart.metadata, `oci://${TEST_HOST}/charts`);
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { registry, client, repo: repo(), pushed, keys, signer: keyObjectSigner(keys.privateKey) };
}

/** @sigstore/verify alone, offline, with the public key; returns the DSSE payload as JSON. */
function independentVerify(json: unknown, publicKey: KeyObject): Record<string, unknown> {
  const trust = toTrustMaterial(EMPTY_ROOT, () => ({ publicKey, validFor: () => true }));
  new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(
    toSignedEntity(bundleFromJSON(json)),
  );
  const env = (json as { dsseEnvelope: { payload: string; payloadType: string } }).dsseEnvelope;
  expect(env.payloadType).toBe('application/vnd.in-toto+json');
  return JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8'));
}

describe('resolvePredicateType', () => {
  it.each(Object.entries(COSIGN_TYPE_MAP))('maps cosign shorthand %s to %s', (short, uri) => {
    expect(resolvePredicateType(short)).toBe(uri);
  });

  it('knows exactly cosign’s shorthands', () => {
    expect(Object.keys(PREDICATE_TYPE_SHORTHANDS).sort()).toEqual(Object.keys(COSIGN_TYPE_MAP).sort());
  });

  it('takes URIs as they are and refuses other words', () => {
    expect(resolvePredicateType('https://example.com/predicate/v1')).toBe('https://example.com/predicate/v1');
    expect(resolvePredicateType('urn:example:x')).toBe('urn:example:x');
    expect(resolvePredicateType('/abs/path')).toBe('/abs/path');
    for (const bad of ['sbom', 'SPDX', '', 'has space:x', 'toString', '__proto__'])
      expect(() => resolvePredicateType(bad)).toThrow(/predicate type/);
  });
});

describe('cosignCustomPredicate', () => {
  it('wraps the text as {Data, Timestamp} with an RFC 3339 UTC second time', () => {
    const p = cosignCustomPredicate(
      new TextEncoder().encode('{"a": 1}\n'),
      new Date('2024-05-06T07:08:09.123Z'),
    );
    expect(p).toEqual({ Data: '{"a": 1}\n', Timestamp: '2024-05-06T07:08:09Z' });
  });

  it.skipIf(!sigstoreVectorsAvailable('custom predicate vs cosign bundle'))(
    'is what cosign wrote in its test attestation',
    () => {
      const bundle = JSON.parse(
        readFileSync(join(SIGSTORE_VECTORS, 'cosign', 'bundles', 'oci-attestation.sigstore.json'), 'utf8'),
      );
      const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
      expect(statement.predicateType).toBe(COSIGN_CUSTOM_PREDICATE_TYPE);
      const { Data, Timestamp } = statement.predicate;
      expect(cosignCustomPredicate(Data, new Date(Timestamp))).toEqual(statement.predicate);
    },
  );
});

describe('attestChart', () => {
  it('attaches a DSSE bundle referrer with the statement about the chart digest (cosign v3 attest layout)', async () => {
    const { repo, pushed, keys, signer, client } = await pushedChart();
    const result = await attestChart(repo, '1.0.0', signer, {
      predicateType: 'slsaprovenance1',
      predicate: SLSA,
      created: '2025-01-02T03:04:05Z',
    });
    expect(result.predicateType).toBe('https://slsa.dev/provenance/v1');
    expect(result.subject.digest).toBe(pushed.digest);

    // The referrer manifest, read back raw.
    const m = await repo.fetchManifest(result.manifest.digest);
    const manifest = m.manifest as unknown as {
      subject: unknown;
      artifactType: string;
      config: { mediaType: string };
      annotations: Record<string, string>;
      layers: { mediaType: string; digest: `sha256:${string}`; size: number }[];
    };
    expect(manifest.subject).toEqual({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      size: pushed.manifest.byteLength,
      digest: pushed.digest,
    });
    expect(manifest.artifactType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(manifest.config.mediaType).toBe('application/vnd.oci.empty.v1+json');
    expect(manifest.annotations).toEqual({
      'dev.sigstore.bundle.content': 'dsse-envelope',
      'dev.sigstore.bundle.predicateType': 'https://slsa.dev/provenance/v1',
      'org.opencontainers.image.created': '2025-01-02T03:04:05Z',
    });
    expect(manifest.layers).toHaveLength(1);
    const layer = manifest.layers[0]!;
    expect(layer.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    const chunks: Uint8Array[] = [];
    for await (const c of await repo.fetchBlob(layer)) chunks.push(c);
    const stored = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    expect(stored.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');

    // Independent: @sigstore/verify with the key, then the statement.
    const statement = independentVerify(stored, keys.publicKey);
    expect(statement).toEqual({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [
        { name: `${TEST_HOST}/charts/app`, digest: { sha256: pushed.digest.slice('sha256:'.length) } },
      ],
      predicateType: 'https://slsa.dev/provenance/v1',
      predicate: SLSA,
    });
    expect(Buffer.from(result.statement).toString('utf8')).toBe(
      Buffer.from(stored.dsseEnvelope.payload, 'base64').toString('utf8'),
    );

    // The chart's referrers list it (findBundles, as verifiers discover it).
    const found = await findBundles(repo, pushed.digest);
    expect(found.bundles.map((b) => [b.manifestDigest, b.predicateType])).toEqual([
      [result.manifest.digest, 'https://slsa.dev/provenance/v1'],
    ]);
    await client.close();
  });

  it('signs subject annotations and honours subjectName: false', async () => {
    const { repo, pushed, keys, signer } = await pushedChart();
    const result = await attestChart(repo, pushed.digest, signer, {
      predicateType: 'https://example.com/custom/v1',
      predicate: { ok: true },
      annotations: { env: 'prod' },
      subjectName: false,
    });
    const statement = independentVerify(result.bundle, keys.publicKey);
    expect(statement.subject).toEqual([
      { digest: { sha256: pushed.digest.slice('sha256:'.length) }, annotations: { env: 'prod' } },
    ]);
    expect(statement.predicateType).toBe('https://example.com/custom/v1');
  });

  it('refuses bad predicates and types before touching the registry; a missing tag is a registry error', async () => {
    const { registry, repo, signer } = await pushedChart();
    const before = registry.requests.length;
    await expectChartproofError(
      attestChart(repo, '1.0.0', signer, {
        predicateType: 'spdx',
        predicate: [] as unknown as Record<string, unknown>,
      }),
      'INVALID_ARGUMENT',
      /JSON object/,
    );
    await expectChartproofError(
      attestChart(repo, '1.0.0', signer, { predicateType: 'sbom', predicate: {} }),
      'INVALID_ARGUMENT',
      /invalid predicate type/,
    );
    expect(registry.requests.length).toBe(before);
    await expect(
      attestChart(repo, '9.9.9', signer, { predicateType: 'spdx', predicate: {} }),
    ).rejects.toThrow();
    expect((await findBundles(repo, (await repo.resolve('1.0.0')).digest)).bundles).toHaveLength(0);
  });
});
