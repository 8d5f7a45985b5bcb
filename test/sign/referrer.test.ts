import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleFromJSON } from '@sigstore/bundle';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { describe, expect, it } from 'vitest';
import { type Descriptor, digestOf, MediaType, referrersTag } from '../../src/oci/index.js';
import { createDsseBundle } from '../../src/sign/bundle.js';
import { keyObjectSigner } from '../../src/keys/keys.js';
import { attachBundle, buildBundleReferrer, findBundles, signBundle } from '../../src/sign/referrer.js';
import {
  COSIGN_SIGN_PREDICATE_TYPE,
  cosignSignStatement,
  parseInTotoStatement,
  statementHasSubject,
} from '../../src/cosign/statement.js';
import type { MemoryRegistry } from '../../src/testing/index.js';
import { blob, pushAll, referrerOf } from '../helpers/content.js';
import { memoryFixture, pushTestChart } from '../helpers/registry.js';
import { expectChartproofError } from '../helpers/expect-error.js';
import { SIGSTORE_VECTORS, sigstoreVectorsAvailable, describeVectors } from '../helpers/vectors.js';

const BUNDLE_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const EMPTY_ROOT = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
} as unknown as Parameters<typeof toTrustMaterial>[0];

/** Independent check: @sigstore/verify with the key, then the in-toto subject claim. */
function verifyFor(json: unknown, publicKey: KeyObject, subject: string): void {
  const trust = toTrustMaterial(EMPTY_ROOT, () => ({ publicKey, validFor: () => true }));
  new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(
    toSignedEntity(bundleFromJSON(json)),
  );
  const env = (json as { dsseEnvelope: { payload: string } }).dsseEnvelope;
  const statement = parseInTotoStatement(Buffer.from(env.payload, 'base64'));
  if (!statementHasSubject(statement, subject)) throw new Error(`statement does not name ${subject}`);
}

function p256() {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

const vectorsOk = sigstoreVectorsAvailable('referrer (cosign v3.0.4 vector)');
const VDIR = join(SIGSTORE_VECTORS, 'cosign-oci', 'cosign-v3.0.4-bundle-referrer');
const read = (f: string) => new Uint8Array(readFileSync(join(VDIR, f)));

describeVectors(vectorsOk)('the cosign v3.0.4 bundle referrer', () => {
  const manifest = read('bundle-referring-manifest.json');
  const bundle = read('bundle-sigstore.json');
  const index = read('bundle-referrers-index.json');
  const subjectDigest = new TextDecoder().decode(read('subject-digest.txt')).trim() as `sha256:${string}`;
  // subject = the signed OCI index, size 928 (MANIFEST.md).
  const subject: Descriptor = { mediaType: MediaType.OciIndex, size: 928, digest: subjectDigest };
  const created = '2026-08-12T20:53:28Z';

  it('is reproduced byte for byte from bundle, subject and time', () => {
    const built = buildBundleReferrer(subject, bundle, {
      predicateType: COSIGN_SIGN_PREDICATE_TYPE,
      created: new Date(created),
    });
    expect(Buffer.from(built.bytes).toString('utf8')).toBe(Buffer.from(manifest).toString('utf8'));
    expect(built.descriptor).toEqual({
      mediaType: MediaType.OciManifest,
      size: 875,
      digest: 'sha256:aa34dbe1db5336a0a85e4cc7eced2f5dc91f0062322972fe29c4002372a7adff',
    });
    expect(digestOf(manifest)).toBe(built.descriptor.digest);
  });

  it('is pushed as the same bytes by attachBundle, with a fallback entry carrying artifactType', async () => {
    const { registry, app: repo } = memoryFixture({ referrersApi: false, retries: 'fast' });
    const res = await attachBundle(repo, subject, bundle, {
      predicateType: COSIGN_SIGN_PREDICATE_TYPE,
      created,
    });
    expect(res.manifest.digest).toBe(digestOf(manifest));
    expect(res.referrersApi).toBe(false);
    const store = registry.repository('charts/app');
    expect(Buffer.from(store.get(res.manifest.digest)!).equals(Buffer.from(manifest))).toBe(true);
    expect(Buffer.from(store.get(digestOf(bundle))!).equals(Buffer.from(bundle))).toBe(true);
    expect(Buffer.from(store.get(digestOf('{}'))!).toString()).toBe('{}');
    // Untagged: the only tag is the referrers tag.
    expect(await store.tags()).toEqual([referrersTag(subjectDigest)]);
    const tagged = await store.resolve(referrersTag(subjectDigest));
    const fallback = JSON.parse(Buffer.from(store.get(tagged.digest)!).toString('utf8'));
    expect(fallback.manifests).toHaveLength(1);
    expect(fallback.manifests[0]).toMatchObject({
      mediaType: MediaType.OciManifest,
      digest: digestOf(manifest),
      size: 875,
      artifactType: BUNDLE_TYPE,
    });
  });

  async function seed(registry: MemoryRegistry): Promise<void> {
    const store = registry.repository('charts/app');
    await store.push(blob('{}', MediaType.OciEmpty).desc, new TextEncoder().encode('{}'));
    await store.push(blob(bundle, BUNDLE_TYPE).desc, bundle);
    await store.push(blob(manifest, MediaType.OciManifest).desc, manifest);
  }

  it('is found through the vector fallback index (empty-config artifactType: no filter)', async () => {
    const { registry, app: repo } = memoryFixture({ referrersApi: false, retries: 'fast' });
    await seed(registry);
    const store = registry.repository('charts/app');
    const indexDesc = blob(index, MediaType.OciIndex).desc;
    await store.push(indexDesc, index);
    await store.tag(indexDesc, referrersTag(subjectDigest));
    // A reader filtering on the bundle artifactType would miss it:
    expect(await repo.referrers(subject, { artifactType: BUNDLE_TYPE })).toEqual([]);
    const { bundles, skipped } = await findBundles(repo, subjectDigest);
    expect(skipped).toEqual([]);
    expect(bundles).toHaveLength(1);
    expect(bundles[0]!.manifestDigest).toBe(digestOf(manifest));
    expect(bundles[0]!.artifactType).toBe(BUNDLE_TYPE);
    expect(bundles[0]!.predicateType).toBe(COSIGN_SIGN_PREDICATE_TYPE);
    expect(bundles[0]!.version).toBe('0.3');
    expect(Buffer.from(bundles[0]!.bundleBytes).equals(Buffer.from(bundle))).toBe(true);
    expect(registry.requests.some((r) => r.url.includes('/referrers/'))).toBe(true);
  });

  it('is found through the referrers API', async () => {
    const { registry, app: repo } = memoryFixture({ referrersApi: true, retries: 'fast' });
    await seed(registry);
    const { bundles } = await findBundles(repo, subject);
    expect(bundles.map((b) => b.manifestDigest)).toEqual([digestOf(manifest)]);
    expect(registry.requests.some((r) => r.url.includes(`/manifests/${referrersTag(subjectDigest)}`))).toBe(
      false,
    );
  });
});

describe.each([true, false])('signBundle (referrers API %s)', (referrersApi) => {
  it('appends one referrer per signature; all are found and verify independently', async () => {
    const { registry, app: repo } = memoryFixture({ referrersApi, retries: 'fast' });
    const chart = await pushTestChart(repo);
    // Another referrer first: an SBOM-like artifact that must be kept and skipped.
    const sbom = referrerOf(chart, 'application/spdx+json', 'sbom');
    await pushAll(repo, [sbom.empty, sbom.layer]);
    await repo.pushManifest(sbom.manifest.data);

    const k1 = p256();
    const k2 = p256();
    const first = await signBundle(repo, '1.0.0', keyObjectSigner(k1.privateKey), {
      annotations: { team: 'a' },
    });
    const second = await signBundle(repo, chart, keyObjectSigner(k2.privateKey));
    expect(first.subject).toEqual({ mediaType: chart.mediaType, size: chart.size, digest: chart.digest });
    expect(first.manifest.digest).not.toBe(second.manifest.digest);
    expect(first.referrersApi).toBe(referrersApi);

    const { bundles, skipped } = await findBundles(repo, chart.digest);
    expect(bundles.map((b) => b.manifestDigest).sort()).toEqual(
      [first.manifest.digest, second.manifest.digest].sort(),
    );
    expect(skipped).toHaveLength(1);
    expect(skipped[0]!.descriptor.digest).toBe(sbom.manifest.desc.digest);
    expect(skipped[0]!.reason).toMatch(/not a bundle referrer/);

    const byDigest = new Map(bundles.map((b) => [b.manifestDigest, b]));
    const b1 = byDigest.get(first.manifest.digest)!;
    const b2 = byDigest.get(second.manifest.digest)!;
    verifyFor(b1.bundle, k1.publicKey, chart.digest);
    verifyFor(b2.bundle, k2.publicKey, chart.digest);
    expect(() => verifyFor(b1.bundle, k2.publicKey, chart.digest)).toThrow();
    const statement = parseInTotoStatement(Buffer.from(b1.bundle.dsseEnvelope!.payload, 'base64'));
    expect(statement.subject[0]!.annotations).toEqual({ team: 'a' });
    expect(statement.predicate).toEqual({});

    const tag = referrersTag(chart.digest);
    const store = registry.repository('charts/app');
    if (referrersApi) {
      expect(await store.tags()).toEqual(['1.0.0']);
    } else {
      const idx = JSON.parse(Buffer.from(store.get((await store.resolve(tag)).digest)!).toString('utf8'));
      const entries = idx.manifests as Descriptor[];
      expect(entries.map((e) => e.digest).sort()).toEqual(
        [sbom.manifest.desc.digest, first.manifest.digest, second.manifest.digest].sort(),
      );
      for (const e of entries.filter((x) => x.digest !== sbom.manifest.desc.digest))
        expect(e.artifactType).toBe(BUNDLE_TYPE);
    }
  });

  it('leaves no dangling fallback entry when the manifest push fails', async () => {
    const { registry, app: repo } = memoryFixture({ referrersApi, retries: 'fast' });
    const chart = await pushTestChart(repo);
    registry.failNext({ status: 403, method: 'PUT', path: /\/manifests\/sha256:/ });
    await expectChartproofError(signBundle(repo, chart, keyObjectSigner(p256().privateKey)), 'DENIED');
    expect(await registry.repository('charts/app').tags()).toEqual(['1.0.0']);
    expect((await findBundles(repo, chart.digest)).bundles).toEqual([]);
  });
});

describe('findBundles and tampering', () => {
  it('detects a bundle moved to another subject, and a tampered payload', async () => {
    const { app: repo } = memoryFixture({ referrersApi: false, retries: 'fast' });
    const chart = await pushTestChart(repo);
    const other = `sha256:${'ef'.repeat(32)}`;
    const { privateKey, publicKey } = p256();
    // Signed for another digest, attached to this chart.
    const foreign = await createDsseBundle(cosignSignStatement(other), keyObjectSigner(privateKey));
    await attachBundle(repo, chart, foreign, { predicateType: COSIGN_SIGN_PREDICATE_TYPE });
    // Signed for the chart, payload swapped afterwards.
    const tampered = await createDsseBundle(cosignSignStatement(chart.digest), keyObjectSigner(privateKey));
    const swapped = structuredClone(tampered);
    swapped.dsseEnvelope!.payload = Buffer.from(cosignSignStatement(chart.digest, { x: 'y' })).toString(
      'base64',
    );
    await attachBundle(repo, chart, swapped, { predicateType: COSIGN_SIGN_PREDICATE_TYPE });
    const good = await signBundle(repo, chart, keyObjectSigner(privateKey));

    const { bundles } = await findBundles(repo, chart.digest);
    expect(bundles).toHaveLength(3);
    const ok = bundles.filter((b) => {
      try {
        verifyFor(b.bundle, publicKey, chart.digest);
        return true;
      } catch {
        return false;
      }
    });
    expect(ok.map((b) => b.manifestDigest)).toEqual([good.manifest.digest]);
  });

  it('skips referrers that are not exactly one ≥ v0.3 bundle layer, with reasons', async () => {
    const { registry, app: repo } = memoryFixture({ referrersApi: true, retries: 'fast' });
    const chart = await pushTestChart(repo);
    const empty = blob('{}', MediaType.OciEmpty);
    const b = await createDsseBundle(cosignSignStatement(chart.digest), keyObjectSigner(p256().privateKey));
    const v02 = blob(
      JSON.stringify({ ...b, mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.2' }),
      BUNDLE_TYPE,
    );
    const junk = blob('not json', BUNDLE_TYPE);
    const good = blob(JSON.stringify(b), BUNDLE_TYPE);
    await pushAll(repo, [empty, v02, junk, good]);
    const make = (layers: Descriptor[], subject: Descriptor = chart) =>
      new TextEncoder().encode(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.OciManifest,
          artifactType: BUNDLE_TYPE,
          config: empty.desc,
          layers,
          subject,
        }),
      );
    const two = await repo.pushManifest(make([good.desc, good.desc]));
    const old = await repo.pushManifest(make([v02.desc]));
    const broken = await repo.pushManifest(make([junk.desc]));
    const ok = await repo.pushManifest(make([good.desc]));
    // A listed manifest whose bundle blob vanished.
    const gone = blob(JSON.stringify({ ...b, extra: 1 }), BUNDLE_TYPE);
    await pushAll(repo, [gone]);
    const missing = await repo.pushManifest(make([gone.desc]));
    await registry.repository('charts/app').delete(gone.desc);

    const { bundles, skipped } = await findBundles(repo, chart.digest, { maxBundleBytes: 1 << 20 });
    expect(bundles.map((x) => x.manifestDigest)).toEqual([ok.digest]);
    const reasons = new Map(skipped.map((s) => [s.descriptor.digest, s.reason]));
    expect(reasons.get(two.digest)).toMatch(/2 layers/);
    expect(reasons.get(old.digest)).toMatch(/older than v0.3|invalid bundle/);
    expect(reasons.get(broken.digest)).toMatch(/not valid UTF-8 JSON/);
    expect(reasons.get(missing.digest)).toMatch(/not found|unknown/i);

    const capped = await findBundles(repo, chart.digest, { maxBundleBytes: 10 });
    expect(capped.bundles).toEqual([]);
    expect(capped.skipped.find((s) => s.descriptor.digest === ok.digest)?.reason).toMatch(/exceeds 10/);
    const limited = await findBundles(repo, chart.digest, { maxReferrers: 1 });
    expect(limited.skipped.filter((s) => /not examined/.test(s.reason))).toHaveLength(4);
  });

  it('returns nothing for a subject without referrers, on both registry kinds', async () => {
    for (const api of [true, false]) {
      const { app: repo } = memoryFixture({ referrersApi: api, retries: 'fast' });
      const chart = await pushTestChart(repo);
      expect(await findBundles(repo, chart.digest)).toEqual({ bundles: [], skipped: [] });
    }
  });
});

describe('attachBundle input checks', () => {
  it('rejects non-bundles, pre-v0.3 bundles, reserved annotations, bad times and subjects', async () => {
    const { app: repo } = memoryFixture({ referrersApi: true, retries: 'fast' });
    const chart = await pushTestChart(repo);
    const b = await createDsseBundle(cosignSignStatement(chart.digest), keyObjectSigner(p256().privateKey));
    const opts = { predicateType: COSIGN_SIGN_PREDICATE_TYPE };
    await expectChartproofError(
      attachBundle(repo, chart, new TextEncoder().encode('{'), opts),
      'INVALID_ARGUMENT',
    );
    await expectChartproofError(
      attachBundle(
        repo,
        chart,
        { ...b, mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1' },
        opts,
      ),
      'INVALID_ARGUMENT',
    );
    await expectChartproofError(
      attachBundle(repo, chart, b, { ...opts, annotations: { 'dev.sigstore.bundle.content': 'x' } }),
      'INVALID_ARGUMENT',
    );
    await expectChartproofError(
      attachBundle(repo, chart, b, { ...opts, created: 'yesterday' }),
      'INVALID_ARGUMENT',
    );
    await expectChartproofError(
      attachBundle(repo, { ...chart, mediaType: 'application/octet-stream' }, b, opts),
      'INVALID_ARGUMENT',
    );
    await expectChartproofError(attachBundle(repo, 'missing', b, opts), 'MANIFEST_UNKNOWN');
  });

  it('writes extra annotations sorted among cosign ones and now as created time', async () => {
    const { app: repo } = memoryFixture({ referrersApi: true, retries: 'fast' });
    const chart = await pushTestChart(repo);
    const b = await createDsseBundle(cosignSignStatement(chart.digest), keyObjectSigner(p256().privateKey));
    const before = Math.floor(Date.now() / 1000) * 1000;
    const res = await attachBundle(repo, chart.digest, b, {
      predicateType: 'https://slsa.dev/provenance/v1',
      annotations: { 'a.first': '1', 'z.last': '2' },
    });
    const m = (await repo.fetchManifest(res.manifest.digest)).manifest as {
      annotations: Record<string, string>;
    };
    expect(Object.keys(m.annotations)).toEqual([
      'a.first',
      'dev.sigstore.bundle.content',
      'dev.sigstore.bundle.predicateType',
      'org.opencontainers.image.created',
      'z.last',
    ]);
    expect(m.annotations['dev.sigstore.bundle.predicateType']).toBe('https://slsa.dev/provenance/v1');
    const created = Date.parse(m.annotations['org.opencontainers.image.created']!);
    expect(m.annotations['org.opencontainers.image.created']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(created).toBeGreaterThanOrEqual(before);
    expect(createHash('sha256').update('{}').digest('hex')).toBe(
      '44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
    );
  });
});
