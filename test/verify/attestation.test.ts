import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadChartArchive } from '../../src/chart/load.js';
import { pushChart } from '../../src/chart/oci.js';
import { digestOf, MediaType, type RegistryClient } from '../../src/oci/index.js';
import { type AttestChartLegacyResult, attestChart } from '../../src/sign/attest.js';
import { buildSignatureManifest } from '../../src/sign/legacy.js';
import { cosignAttestationTag, type SigstoreBundleJson } from '../../src/cosign/dsse.js';
import { createDsseBundle } from '../../src/sign/bundle.js';
import { keyObjectSigner } from '../../src/keys/keys.js';
import { attachBundle, buildBundleReferrer, signBundle } from '../../src/sign/referrer.js';
import { inTotoStatement } from '../../src/cosign/statement.js';
import { AttestationVerificationError, verifyChartAttestations } from '../../src/verify/attestation.js';
import { loadTrustedRoot } from '../../src/verify/trusted-root.js';
import { makeChartArchive } from '../helpers/chart-repo.js';
import { expectChartproofError } from '../helpers/expect-error.js';
import { memoryFixture, TEST_HOST } from '../helpers/registry.js';
import { SIGSTORE_VECTORS, sigstoreVectorsAvailable, describeVectors } from '../helpers/vectors.js';

const SLSA_V1 = 'https://slsa.dev/provenance/v1';
const SPDX = 'https://spdx.dev/Document';
const CUSTOM = 'https://cosign.sigstore.dev/attestation/v1';

const slsa = {
  buildDefinition: { buildType: 'https://example.com/helm/v1', externalParameters: { chart: 'app' } },
  runDetails: { builder: { id: 'https://ci.example.com' } },
};
const spdx = { spdxVersion: 'SPDX-2.3', SPDXID: 'SPDXRef-DOCUMENT', name: 'app-1.0.0', packages: [] };
const custom = { Data: 'reviewed-by: alice\n', Timestamp: '2025-03-04T05:06:07Z' };

function p256() {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}
const pem = (k: ReturnType<typeof p256>) => k.publicKey.export({ type: 'spki', format: 'pem' }).toString();

/** The fixture with chart app 1.0.0 (a Helm archive) pushed to `charts/app`. */
async function pushedChart() {
  const { registry, client, app } = memoryFixture({ retries: 'fast' });
  const pushed = await pushTo(client, '1.0.0', 'replicas: 1\n');
  return { registry, client, repo: app, pushed };
}

async function pushTo(client: RegistryClient, version: string, values: string) {
  const archive = await makeChartArchive('app', version, { 'values.yaml': values });
  return pushChart(client, archive, (await loadChartArchive(archive)).metadata, `oci://${TEST_HOST}/charts`);
}

describe('verifyChartAttestations', () => {
  it('returns only the attestations of the requested type, with their predicates exactly', async () => {
    const { client, repo, pushed } = await pushedChart();
    const key = p256();
    const signer = keyObjectSigner(key.privateKey);
    const a = await attestChart(repo, '1.0.0', signer, { predicateType: 'slsaprovenance1', predicate: slsa });
    const b = await attestChart(repo, '1.0.0', signer, { predicateType: 'spdxjson', predicate: spdx });
    const c = await attestChart(repo, '1.0.0', signer, { predicateType: 'custom', predicate: custom });
    await signBundle(repo, '1.0.0', signer);
    const policy = { keys: [pem(key)], tlog: 'skip' as const };
    const ref = `oci://${TEST_HOST}/charts/app:1.0.0`;

    const got = await verifyChartAttestations(client, ref, { policy, predicateType: 'slsaprovenance1' });
    expect(got.digest).toBe(pushed.digest);
    expect(got.pinned).toBe(`${TEST_HOST}/charts/app@${pushed.digest}`);
    expect(got.predicateType).toBe(SLSA_V1);
    expect(got.attestations).toHaveLength(1);
    expect(got.attestations[0]).toMatchObject({ predicateType: SLSA_V1, manifestDigest: a.manifest.digest });
    expect(got.attestations[0]!.predicate).toEqual(slsa);
    expect(got.attestations[0]!.signer.kind).toBe('key');
    expect(got.rejected).toEqual([]);
    expect(got.checks).toContain('The signatures were verified against the specified public key');

    const sbom = await verifyChartAttestations(client, ref, { policy, predicateType: SPDX });
    expect(sbom.attestations.map((x) => [x.manifestDigest, x.predicate])).toEqual([
      [b.manifest.digest, spdx],
    ]);
    const own = await verifyChartAttestations(client, ref, { policy, predicateType: 'custom' });
    expect(own.attestations.map((x) => [x.manifestDigest, x.predicate])).toEqual([
      [c.manifest.digest, custom],
    ]);

    // No type: every attestation, but not the cosign signature statement.
    const all = await verifyChartAttestations(client, ref, { policy });
    expect(all.attestations.map((x) => x.predicateType).sort()).toEqual([CUSTOM, SLSA_V1, SPDX].sort());
    expect(all.predicateType).toBeUndefined();
  });

  it('fails with SIGNATURE_INVALID and the reasons for the wrong key', async () => {
    const { client, repo } = await pushedChart();
    const signer = keyObjectSigner(p256().privateKey);
    const a = await attestChart(repo, '1.0.0', signer, { predicateType: 'slsaprovenance1', predicate: slsa });
    const err = (await expectChartproofError(
      verifyChartAttestations(client, `${TEST_HOST}/charts/app:1.0.0`, {
        policy: { keys: [pem(p256())], tlog: 'skip' },
        predicateType: 'slsaprovenance1',
      }),
      'SIGNATURE_INVALID',
      /no attestations of type https:\/\/slsa\.dev\/provenance\/v1 verified/,
    )) as AttestationVerificationError;
    expect(err).toBeInstanceOf(AttestationVerificationError);
    expect(err.rejected).toHaveLength(1);
    expect(err.rejected[0]).toMatchObject({ manifestDigest: a.manifest.digest, predicateType: SLSA_V1 });
    expect(err.message).toContain(a.manifest.digest);
  });

  it('does not trust the manifest annotation: annotated SLSA, signed SPDX is an SPDX attestation', async () => {
    const { client, repo, pushed } = await pushedChart();
    const key = p256();
    const statement = inTotoStatement(
      [{ digest: { sha256: pushed.digest.slice('sha256:'.length) } }],
      SPDX,
      spdx,
    );
    const bundle = await createDsseBundle(statement, keyObjectSigner(key.privateKey));
    const attached = await attachBundle(repo, '1.0.0', bundle, { predicateType: SLSA_V1 });
    const policy = { keys: [pem(key)], tlog: 'skip' as const };
    const ref = `${TEST_HOST}/charts/app:1.0.0`;
    const err = (await expectChartproofError(
      verifyChartAttestations(client, ref, { policy, predicateType: 'slsaprovenance1' }),
      'SIGNATURE_NOT_FOUND',
    )) as AttestationVerificationError;
    expect(err.found).toEqual([SPDX]);
    const asSpdx = await verifyChartAttestations(client, ref, { policy, predicateType: 'spdx' });
    expect(asSpdx.attestations.map((x) => [x.manifestDigest, x.predicate])).toEqual([
      [attached.manifest.digest, spdx],
    ]);
  });

  it('does not count a cosign signature bundle as SLSA provenance', async () => {
    const { client, repo } = await pushedChart();
    const key = p256();
    await signBundle(repo, '1.0.0', keyObjectSigner(key.privateKey));
    const err = (await expectChartproofError(
      verifyChartAttestations(client, `${TEST_HOST}/charts/app:1.0.0`, {
        policy: { keys: [pem(key)], tlog: 'skip' },
        predicateType: 'slsaprovenance',
      }),
      'SIGNATURE_NOT_FOUND',
      /no attestations of type https:\/\/slsa\.dev\/provenance\/v0\.2 found/,
    )) as AttestationVerificationError;
    expect(err.found).toEqual(['https://sigstore.dev/cosign/sign/v1']);
  });

  it('does not accept an attestation of another digest (chart re-pushed under the same tag)', async () => {
    const { client, repo, pushed: first } = await pushedChart();
    const key = p256();
    const signer = keyObjectSigner(key.privateKey);
    const old = await attestChart(repo, '1.0.0', signer, {
      predicateType: 'slsaprovenance1',
      predicate: slsa,
    });
    const second = await pushTo(client, '1.0.0', 'replicas: 2\n');
    expect(second.digest).not.toBe(first.digest);
    const policy = { keys: [pem(key)], tlog: 'skip' as const };
    const ref = `${TEST_HOST}/charts/app:1.0.0`;

    const err = (await expectChartproofError(
      verifyChartAttestations(client, ref, { policy, predicateType: 'slsaprovenance1' }),
      'SIGNATURE_NOT_FOUND',
    )) as AttestationVerificationError;
    expect(err.digest).toBe(second.digest);
    expect(err.pinned).toBe(`${TEST_HOST}/charts/app@${second.digest}`);

    // The old bundle (statement about the first digest) attached to the new manifest.
    await attachBundle(repo, second.digest, old.bundle, { predicateType: SLSA_V1 });
    const moved = await expectChartproofError(
      verifyChartAttestations(client, ref, { policy, predicateType: 'slsaprovenance1' }),
      'SIGNATURE_INVALID',
      /subject has the artifact's digest/,
    );
    expect(moved.message).toContain(second.digest);

    // The first digest still verifies when asked for by digest.
    const pinnedOld = await verifyChartAttestations(client, `${TEST_HOST}/charts/app@${first.digest}`, {
      policy,
      predicateType: 'slsaprovenance1',
    });
    expect(pinnedOld.attestations.map((x) => x.manifestDigest)).toEqual([old.manifest.digest]);
  });

  it('applies the threshold and the annotations to attestations of the requested type', async () => {
    const { client, repo } = await pushedChart();
    const k1 = p256();
    const k2 = p256();
    await attestChart(repo, '1.0.0', keyObjectSigner(k1.privateKey), {
      predicateType: 'slsaprovenance1',
      predicate: slsa,
      annotations: { env: 'prod' },
    });
    // An SPDX attestation by the second key must not count towards the SLSA threshold.
    await attestChart(repo, '1.0.0', keyObjectSigner(k2.privateKey), {
      predicateType: 'spdx',
      predicate: spdx,
    });
    const ref = `${TEST_HOST}/charts/app:1.0.0`;
    const keys = [pem(k1), pem(k2)];
    await expectChartproofError(
      verifyChartAttestations(client, ref, {
        policy: { keys, tlog: 'skip', threshold: 2 },
        predicateType: 'slsaprovenance1',
      }),
      'SIGNATURE_INVALID',
      /1 of the attestations of type .* verified, the policy requires 2/,
    );
    await attestChart(repo, '1.0.0', keyObjectSigner(k2.privateKey), {
      predicateType: 'slsaprovenance1',
      predicate: slsa,
    });
    const two = await verifyChartAttestations(client, ref, {
      policy: { keys, tlog: 'skip', threshold: 2 },
      predicateType: 'slsaprovenance1',
    });
    expect(two.attestations).toHaveLength(2);

    const annotated = await verifyChartAttestations(client, ref, {
      policy: { keys, tlog: 'skip', annotations: { env: 'prod' } },
      predicateType: 'slsaprovenance1',
    });
    expect(annotated.attestations).toHaveLength(1);
    expect(annotated.rejected).toHaveLength(1);
    expect(annotated.rejected[0]!.reason).toMatch(/env=prod/);
    await expectChartproofError(
      verifyChartAttestations(client, ref, {
        policy: { keys, tlog: 'skip', annotations: { env: 'dev' } },
        predicateType: 'slsaprovenance1',
      }),
      'SIGNATURE_INVALID',
    );
  });

  it('threshold: a copy of an attestation is not another attestation', async () => {
    const { client, repo, pushed } = await pushedChart();
    const key = p256();
    const signer = keyObjectSigner(key.privateKey);
    const ref = `${TEST_HOST}/charts/app:1.0.0`;
    const policy = { keys: [pem(key)], tlog: 'skip' as const, threshold: 2 };
    // Push access, no key: the one attestation bundle attached again as another referrer.
    const a = await attestChart(repo, '1.0.0', signer, { predicateType: 'slsaprovenance1', predicate: slsa });
    await attachBundle(repo, '1.0.0', (a as { bundle: SigstoreBundleJson }).bundle, {
      predicateType: SLSA_V1,
      created: '2020-01-01T00:00:00Z',
    });
    const err = (await expectChartproofError(
      verifyChartAttestations(client, ref, { policy, predicateType: 'slsaprovenance1', formats: ['bundle'] }),
      'SIGNATURE_INVALID',
      /1 of the attestations of type .* verified, the policy requires 2/,
    )) as AttestationVerificationError;
    expect(err.rejected.map((r) => r.reason)).toEqual([
      expect.stringMatching(/^a copy of the attestation in sha256:/),
    ]);

    // Legacy: the one `.att` layer listed twice.
    const legacy = await attestChart(repo, '1.0.0', signer, {
      predicateType: 'slsaprovenance1',
      predicate: slsa,
      format: 'legacy',
    });
    const layer = (legacy as AttestChartLegacyResult).legacy.layer;
    const built = buildSignatureManifest([layer, layer]);
    await repo.push(built.configDescriptor, built.config);
    await repo.push(built.descriptor, built.bytes);
    await repo.tag(built.descriptor, cosignAttestationTag(pushed.digest));
    const legacyErr = (await expectChartproofError(
      verifyChartAttestations(client, ref, { policy, predicateType: 'slsaprovenance1', formats: ['legacy'] }),
      'SIGNATURE_INVALID',
    )) as AttestationVerificationError;
    expect(legacyErr.rejected.map((r) => r.reason)).toEqual([
      expect.stringMatching(/^a copy of the attestation in sha256-[0-9a-f]{64}\.att layer 0$/),
    ]);
  });

  it('refuses an unusable policy or type before reading the registry', async () => {
    const { client, registry } = await pushedChart();
    const before = registry.requests.length;
    const ref = `${TEST_HOST}/charts/app:1.0.0`;
    await expectChartproofError(verifyChartAttestations(client, ref, { policy: {} }), 'INVALID_ARGUMENT');
    await expectChartproofError(
      verifyChartAttestations(client, ref, {
        policy: { keys: [pem(p256())], tlog: 'skip' },
        predicateType: 'sbom',
      }),
      'INVALID_ARGUMENT',
    );
    expect(registry.requests.length).toBe(before);
  });

  const vectorsOk = sigstoreVectorsAvailable('cosign keyless attestation via referrers');
  describeVectors(vectorsOk)('the cosign keyless test attestation served as a referrer', () => {
    const dir = join(SIGSTORE_VECTORS, 'cosign', 'bundles');
    const bundleBytes = new Uint8Array(readFileSync(join(dir, 'oci-attestation.sigstore.json')));
    const statement = JSON.parse(
      Buffer.from(
        JSON.parse(Buffer.from(bundleBytes).toString('utf8')).dsseEnvelope.payload,
        'base64',
      ).toString('utf8'),
    );
    const subject = `sha256:${statement.subject[0].digest.sha256}` as const;
    const identity = { subject: 'cody@soyland.com', issuer: 'https://github.com/login/oauth' };

    async function serve() {
      const { client, repo: repoOf } = memoryFixture({ retries: 'default' });
      const repo = repoOf('repo');
      const built = buildBundleReferrer(
        { mediaType: MediaType.OciManifest, size: 1000, digest: subject },
        bundleBytes,
        {
          predicateType: statement.predicateType,
        },
      );
      await repo.push(built.configDescriptor, new Uint8Array([0x7b, 0x7d]));
      await repo.push(built.bundleDescriptor, bundleBytes);
      await repo.pushManifest(built.bytes, { mediaType: MediaType.OciManifest });
      return { client, referrer: digestOf(built.bytes) };
    }

    it('verifies with the identity policy and the trusted root, and returns its predicate', async () => {
      expect(subject).toMatch(/^sha256:732112270d7e/);
      const { client, referrer } = await serve();
      const policy = {
        identities: [identity],
        trustedRoot: await loadTrustedRoot(join(dir, 'trusted_root_pgi.json')),
      };
      const got = await verifyChartAttestations(client, `${TEST_HOST}/repo@${subject}`, {
        policy,
        predicateType: 'custom',
      });
      expect(got.pinned).toBe(`${TEST_HOST}/repo@${subject}`);
      expect(got.attestations).toHaveLength(1);
      expect(got.attestations[0]).toMatchObject({
        manifestDigest: referrer,
        predicateType: CUSTOM,
        signer: { kind: 'certificate', subject: identity.subject, issuer: identity.issuer },
        tlog: 'verified',
      });
      expect(got.attestations[0]!.predicate).toEqual(statement.predicate);
      expect(got.attestations[0]!.predicate).toEqual({
        Data: '{"foo": "bar"}\n',
        Timestamp: '2025-02-28T19:18:11Z',
      });
      expect(got.checks).toContain('Existence of the claims in the transparency log was verified offline');
    });

    it('rejects it for another identity, and finds no SLSA provenance', async () => {
      const { client } = await serve();
      const trustedRoot = await loadTrustedRoot(join(dir, 'trusted_root_pgi.json'));
      const ref = `${TEST_HOST}/repo@${subject}`;
      await expectChartproofError(
        verifyChartAttestations(client, ref, {
          policy: { identities: [{ ...identity, subject: 'mallory@example.com' }], trustedRoot },
          predicateType: 'custom',
        }),
        'SIGNATURE_INVALID',
        /certificate identity not trusted/,
      );
      await expectChartproofError(
        verifyChartAttestations(client, ref, {
          policy: { identities: [identity], trustedRoot },
          predicateType: 'slsaprovenance1',
        }),
        'SIGNATURE_NOT_FOUND',
      );
    });
  });
});
