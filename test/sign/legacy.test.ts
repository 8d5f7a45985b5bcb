import { createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Descriptor, digestOf, MediaType } from '../../src/oci/index.js';
import { buildSignatureConfig, buildSignatureManifest, signLegacy } from '../../src/sign/legacy.js';
import type { Signer } from '../../src/keys/signer.js';
import { cosignSignatureTag } from '../../src/cosign/simplesigning.js';
import type { MemoryRegistry } from '../../src/testing/index.js';
import { verifyLegacySignatures } from '../../src/verify/legacy.js';
import { blob } from '../helpers/content.js';
import { expectChartproofError } from '../helpers/expect-error.js';
import { memoryFixture, pushTestChart } from '../helpers/registry.js';
import { SIGSTORE_VECTORS, sigstoreVectorsAvailable, describeVectors } from '../helpers/vectors.js';

const SIG = 'dev.cosignproject.cosign/signature';

function ecKey() {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

/** A Signer over a node:crypto key; counts its calls. */
function testSigner(privateKey: KeyObject, publicKey: KeyObject = createPublicKey(privateKey)) {
  const signer = {
    calls: 0,
    async sign(payload: Uint8Array): Promise<Uint8Array> {
      signer.calls++;
      return new Uint8Array(sign('sha256', payload, privateKey));
    },
    async publicKeyPem(): Promise<string> {
      return publicKey.export({ type: 'spki', format: 'pem' }).toString();
    },
  } satisfies Signer & { calls: number };
  return signer;
}

/** The fixture with chart app 1.0.0 (`subject`) pushed to repository `name`. */
async function pushedChart(name = 'charts/app') {
  const { registry, client, repo: repoOf, store } = memoryFixture();
  const repo = repoOf(name);
  const subject = await pushTestChart(repo);
  return { registry, client, repo, subject, store: store(name) };
}

function storedManifest(store: ReturnType<MemoryRegistry['repository']>, digest: string) {
  return JSON.parse(Buffer.from(store.get(digest)!).toString('utf8')) as {
    mediaType: string;
    config: Descriptor;
    layers: Descriptor[];
  };
}

describeVectors(sigstoreVectorsAvailable('legacy signature manifest vector'))(
  'cosign v3.0.4 legacy vector: manifest and config',
  () => {
    const dir = join(SIGSTORE_VECTORS, 'cosign-oci', 'cosign-v3.0.4-legacy-sig');
    const payload = readFileSync(join(dir, 'payload.json'));
    const manifestBytes = readFileSync(join(dir, 'sig-manifest.json'));
    const configBytes = readFileSync(join(dir, 'config.reconstructed.json'));
    const vector = JSON.parse(manifestBytes.toString('utf8')) as { config: Descriptor; layers: Descriptor[] };
    const signature = vector.layers[0]!.annotations![SIG]!;
    const layer: Descriptor = {
      mediaType: MediaType.CosignSimpleSigning,
      size: payload.byteLength,
      digest: digestOf(payload),
      annotations: { [SIG]: signature },
    };

    it('rebuilds config.reconstructed.json byte for byte from the payload', () => {
      const config = buildSignatureConfig([layer]);
      expect(Buffer.from(config).equals(configBytes)).toBe(true);
      expect(digestOf(config)).toBe(vector.config.digest);
      expect(config.byteLength).toBe(vector.config.size);
    });

    it('rebuilds sig-manifest.json byte for byte from the payload and its annotation', () => {
      const built = buildSignatureManifest([layer]);
      expect(Buffer.from(built.bytes).toString('utf8')).toBe(manifestBytes.toString('utf8'));
      expect(built.descriptor).toEqual({
        mediaType: MediaType.OciManifest,
        digest: digestOf(manifestBytes),
        size: manifestBytes.byteLength,
      });
      expect(built.configDescriptor.digest).toBe(vector.config.digest);
    });

    it('appends to a manifest cosign wrote, keeping its layer byte for byte', async () => {
      const { repo, store } = await pushedChart('tobby/fixture');
      const subject = readFileSync(join(dir, 'subject-digest.txt'), 'utf8').trim();
      // The vector's subject manifest itself is not available (only its digest); seed
      // the signature side as cosign left it and sign a pushed chart next to it.
      const tag = cosignSignatureTag(subject);
      await store.push(
        { mediaType: vector.config.mediaType, digest: digestOf(configBytes), size: configBytes.byteLength },
        configBytes,
      );
      await store.push(
        { mediaType: MediaType.CosignSimpleSigning, digest: digestOf(payload), size: payload.byteLength },
        payload,
      );
      const desc = {
        mediaType: MediaType.OciManifest,
        digest: digestOf(manifestBytes),
        size: manifestBytes.byteLength,
      };
      await store.push(desc, manifestBytes);
      await store.tag(desc, tag);

      const mine = ecKey();
      const r = await signLegacy(
        repo,
        { mediaType: MediaType.OciManifest, digest: subject as `sha256:${string}`, size: 1 },
        testSigner(mine.privateKey),
        {
          dockerReference: 'localhost:15381/tobby/fixture',
        },
      );
      expect(r.appended).toBe(true);
      const after = Buffer.from(store.get(r.manifestDigest)!).toString('utf8');
      const original = manifestBytes.toString('utf8');
      // Everything up to the end of the first layer is unchanged except the config descriptor.
      const firstLayer = original.slice(
        original.indexOf('{"mediaType":"application/vnd.dev.cosign.simplesigning'),
        -2,
      );
      expect(after).toContain(`"layers":[${firstLayer},{"mediaType"`);
      const cosignPub = createPublicKey(readFileSync(join(dir, 'cosign.pub')));
      const v1 = await verifyLegacySignatures(repo, subject, { publicKey: cosignPub });
      expect(v1.layers.map((l) => l.verified)).toEqual([true, false]);
      const v2 = await verifyLegacySignatures(repo, subject, { publicKey: mine.publicKey });
      expect(v2.layers.map((l) => l.verified)).toEqual([false, true]);
    });
  },
);

describe('buildSignatureManifest', () => {
  it('writes descriptors in go-containerregistry order, sorted annotations, omitting empties', () => {
    const a = blob('{"x":1}', MediaType.CosignSimpleSigning).desc;
    const layer = {
      artifactType: 'application/x',
      annotations: { z: '1', a: '<' },
      urls: ['https://u'],
      size: a.size,
      digest: a.digest,
      mediaType: a.mediaType,
      platform: { os: 'linux', architecture: 'amd64' },
    } as Descriptor;
    const built = buildSignatureManifest([layer, { ...a, annotations: {} }], {
      annotations: { k: 'v' },
    });
    const text = Buffer.from(built.bytes).toString('utf8');
    expect(text).toBe(
      `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":${built.config.byteLength},"digest":"${digestOf(built.config)}"},"layers":[{"mediaType":"${a.mediaType}","size":${a.size},"digest":"${a.digest}","urls":["https://u"],"annotations":{"a":"\\u003c","z":"1"},"platform":{"architecture":"amd64","os":"linux"},"artifactType":"application/x"},{"mediaType":"${a.mediaType}","size":${a.size},"digest":"${a.digest}"}],"annotations":{"k":"v"}}`,
    );
    const config = JSON.parse(Buffer.from(built.config).toString('utf8'));
    expect(config.history).toHaveLength(2);
    expect(config.rootfs.diff_ids).toEqual([a.digest, a.digest]);
  });

  it('uses the Docker config type with a Docker manifest', () => {
    const a = blob('p', MediaType.CosignSimpleSigning).desc;
    const built = buildSignatureManifest([a], { mediaType: MediaType.DockerManifest });
    expect(built.configDescriptor.mediaType).toBe(MediaType.DockerConfig);
    expect(JSON.parse(Buffer.from(built.bytes).toString('utf8')).mediaType).toBe(MediaType.DockerManifest);
  });

  it('refuses no layers and malformed descriptors', async () => {
    await expectChartproofError(
      Promise.resolve().then(() => buildSignatureManifest([])),
      'INVALID_ARGUMENT',
    );
    await expectChartproofError(
      Promise.resolve().then(() =>
        buildSignatureManifest([{ mediaType: 'x', digest: 'sha256:1', size: 1 } as unknown as Descriptor]),
      ),
      'INVALID_ARGUMENT',
      /digest/,
    );
  });
});

describe('signLegacy', () => {
  it('pushes payload, config and manifest under sha256-<hex>.sig with cosign’s payload', async () => {
    const { repo, subject, store, registry } = await pushedChart();
    const key = ecKey();
    const signer = testSigner(key.privateKey);
    const mark = registry.requests.length;
    const r = await signLegacy(repo, subject.digest, signer, { annotations: { env: 'prod' } });
    expect(r.tag).toBe(`sha256-${subject.digest.slice(7)}.sig`);
    expect(r.appended).toBe(true);
    expect(r.subjectDigest).toBe(subject.digest);
    expect(Buffer.from(r.payload).toString('utf8')).toBe(
      `{"critical":{"identity":{"docker-reference":"registry.test/charts/app"},"image":{"docker-manifest-digest":"${subject.digest}"},"type":"cosign container image signature"},"optional":{"env":"prod"}}`,
    );
    expect(r.payloadDigest).toBe(digestOf(r.payload));
    // independent check of the signature with node:crypto
    expect(verify('sha256', r.payload, key.publicKey, Buffer.from(r.signature, 'base64'))).toBe(true);

    expect((await store.resolve(r.tag)).digest).toBe(r.manifestDigest);
    const m = storedManifest(store, r.manifestDigest);
    expect(m.layers).toEqual([
      {
        mediaType: MediaType.CosignSimpleSigning,
        size: r.payload.byteLength,
        digest: r.payloadDigest,
        annotations: { [SIG]: r.signature },
      },
    ]);
    expect(Buffer.from(store.get(r.payloadDigest)!).equals(Buffer.from(r.payload))).toBe(true);
    expect(Buffer.from(store.get(m.config.digest)!).equals(Buffer.from(buildSignatureConfig(m.layers)))).toBe(
      true,
    );

    // blobs first, the tagged manifest last
    const puts = registry.requests
      .slice(mark)
      .filter((q) => q.method === 'PUT')
      .map((q) => new URL(q.url).pathname);
    expect(puts.at(-1)).toBe(`/v2/charts/app/manifests/${r.tag}`);
    expect(puts.filter((p) => p.includes('/blobs/uploads/'))).toHaveLength(2);

    const v = await verifyLegacySignatures(repo, subject.digest, {
      publicKey: key.publicKey,
      annotations: { env: 'prod' },
    });
    expect(v.verified).toBe(1);
  });

  it('signs a tag (resolved first) and honours dockerReference', async () => {
    const { repo, subject } = await pushedChart();
    const key = ecKey();
    const r = await signLegacy(repo, '1.0.0', testSigner(key.privateKey), {
      dockerReference: 'example.com/custom',
    });
    expect(r.subjectDigest).toBe(subject.digest);
    expect(Buffer.from(r.payload).toString('utf8')).toContain('"docker-reference":"example.com/custom"');
  });

  it('appends a second key’s signature; each layer verifies with its own key', async () => {
    const { repo, subject, store } = await pushedChart();
    const k1 = ecKey();
    const k2 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const r1 = await signLegacy(repo, subject, testSigner(k1.privateKey));
    const before = storedManifest(store, r1.manifestDigest).layers[0];
    const r2 = await signLegacy(repo, subject, testSigner(k2.privateKey));
    expect(r2.appended).toBe(true);
    expect(r2.manifestDigest).not.toBe(r1.manifestDigest);
    const m = storedManifest(store, r2.manifestDigest);
    expect(m.layers).toHaveLength(2);
    expect(m.layers[0]).toEqual(before);
    // same payload, two signatures
    expect(m.layers[0]!.digest).toBe(m.layers[1]!.digest);
    const c = JSON.parse(Buffer.from(store.get(m.config.digest)!).toString('utf8'));
    expect(c.history).toHaveLength(2);
    expect(c.rootfs.diff_ids).toEqual([r1.payloadDigest, r2.payloadDigest]);

    const v1 = await verifyLegacySignatures(repo, subject.digest, { publicKey: k1.publicKey });
    expect(v1.layers.map((l) => l.verified)).toEqual([true, false]);
    const v2 = await verifyLegacySignatures(repo, subject.digest, { publicKey: k2.publicKey });
    expect(v2.layers.map((l) => l.verified)).toEqual([false, true]);
    const both = await verifyLegacySignatures(repo, subject.digest, {
      publicKey: [k1.publicKey, k2.publicKey],
    });
    expect(both.layers.map((l) => l.keyIndex)).toEqual([0, 1]);
  });

  it('does not add a layer when the same key already signed the same payload', async () => {
    const { repo, subject, registry } = await pushedChart();
    const key = ecKey();
    const signer = testSigner(key.privateKey);
    const r1 = await signLegacy(repo, subject, signer);
    expect(signer.calls).toBe(1);
    const putsBefore = registry.requests.filter((q) => q.method === 'PUT').length;
    const r2 = await signLegacy(repo, subject, signer);
    expect(r2.appended).toBe(false);
    expect(r2.manifestDigest).toBe(r1.manifestDigest);
    expect(r2.signature).toBe(r1.signature);
    expect(signer.calls).toBe(1);
    expect(registry.requests.filter((q) => q.method === 'PUT').length).toBe(putsBefore);

    // different annotations → different payload → a new layer
    const r3 = await signLegacy(repo, subject, signer, { annotations: { a: 'b' } });
    expect(r3.appended).toBe(true);
  });

  it('does not treat a layer signed by another key as a duplicate', async () => {
    const { repo, subject, store } = await pushedChart();
    const k1 = ecKey();
    const k2 = ecKey();
    await signLegacy(repo, subject, testSigner(k1.privateKey));
    const r = await signLegacy(repo, subject, testSigner(k2.privateKey));
    expect(r.appended).toBe(true);
    expect(storedManifest(store, r.manifestDigest).layers).toHaveLength(2);
  });

  it('keeps a foreign (attestation-like) layer and its annotations exactly', async () => {
    const { repo, subject, store } = await pushedChart();
    const dsse = blob(
      '{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":""}]}',
      'application/vnd.dsse.envelope.v1+json',
    );
    const foreign: Descriptor = {
      ...dsse.desc,
      annotations: {
        predicateType: 'https://slsa.dev/provenance/v1',
        [SIG]: '',
        'dev.sigstore.cosign/bundle': '{"x":1}',
      },
    };
    const seed = buildSignatureManifest([foreign]);
    await store.push(dsse.desc, dsse.data);
    await store.push(seed.configDescriptor, seed.config);
    await store.push(seed.descriptor, seed.bytes);
    const tag = cosignSignatureTag(subject.digest);
    await store.tag(seed.descriptor, tag);

    const key = ecKey();
    const r = await signLegacy(repo, subject, testSigner(key.privateKey));
    const m = storedManifest(store, r.manifestDigest);
    expect(m.layers).toHaveLength(2);
    expect(m.layers[0]).toEqual(foreign);
    const text = Buffer.from(store.get(r.manifestDigest)!).toString('utf8');
    const seedText = Buffer.from(seed.bytes).toString('utf8');
    expect(text).toContain(seedText.slice(seedText.indexOf('"layers":['), -2));

    const v = await verifyLegacySignatures(repo, subject.digest, { publicKey: key.publicKey });
    expect(v.layers[0]).toMatchObject({ verified: false, bundle: true, tlog: 'not-checked' });
    expect(v.layers[0]!.reason).toMatch(/not a simple-signing payload/);
    expect(v.layers[1]!.verified).toBe(true);
  });

  it('leaves the old tag intact when the manifest push fails', async () => {
    const { repo, subject, store, registry } = await pushedChart();
    const k1 = ecKey();
    const r1 = await signLegacy(repo, subject, testSigner(k1.privateKey));
    registry.failNext({ status: 500, method: 'PUT', path: /\/manifests\/sha256-/ });
    const err = await signLegacy(repo, subject, testSigner(ecKey().privateKey)).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 500 });
    expect((await store.resolve(r1.tag)).digest).toBe(r1.manifestDigest);
    const v = await verifyLegacySignatures(repo, subject.digest, { publicKey: k1.publicKey });
    expect(v.layers).toHaveLength(1);
    expect(v.verified).toBe(1);
  });

  it('pushes nothing when the signature does not verify with the signer’s public key', async () => {
    const { repo, subject, store } = await pushedChart();
    const liar = testSigner(ecKey().privateKey, ecKey().publicKey);
    await expectChartproofError(signLegacy(repo, subject, liar), 'SIGNATURE_INVALID', /own public key/);
    await expectChartproofError(store.resolve(cosignSignatureTag(subject.digest)), 'NOT_FOUND');
  });

  it('fails for a subject digest that is not in the repository', async () => {
    const { repo } = await pushedChart();
    const err = await signLegacy(repo, digestOf('nothing'), testSigner(ecKey().privateKey)).catch((e) => e);
    expect(err).toMatchObject({ status: 404 });
  });

  it('refuses to append to a tag that holds an index', async () => {
    const { repo, subject, store } = await pushedChart();
    const index = blob(
      JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] }),
      MediaType.OciIndex,
    );
    await store.push(index.desc, index.data);
    await store.tag(index.desc, cosignSignatureTag(subject.digest));
    await expectChartproofError(
      signLegacy(repo, subject, testSigner(ecKey().privateKey)),
      'INVALID_MANIFEST',
    );
  });

  it('refuses to write a 1001st layer', async () => {
    const { repo, subject, store } = await pushedChart();
    const p = blob('{}', MediaType.CosignSimpleSigning);
    const seed = buildSignatureManifest(
      Array.from({ length: 1000 }, () => ({ ...p.desc, annotations: { [SIG]: 'AAAA' } })),
    );
    await store.push(seed.configDescriptor, seed.config);
    await store.push(seed.descriptor, seed.bytes);
    await store.tag(seed.descriptor, cosignSignatureTag(subject.digest));
    await expectChartproofError(
      signLegacy(repo, subject, testSigner(ecKey().privateKey)),
      'INVALID_MANIFEST',
      /1000/,
    );
    expect((await store.resolve(cosignSignatureTag(subject.digest))).digest).toBe(seed.descriptor.digest);
  });

  it('stops when aborted', async () => {
    const { repo, subject, store } = await pushedChart();
    const controller = new AbortController();
    controller.abort();
    await expect(
      signLegacy(repo, subject, testSigner(ecKey().privateKey), { signal: controller.signal }),
    ).rejects.toBeDefined();
    await expectChartproofError(store.resolve(cosignSignatureTag(subject.digest)), 'NOT_FOUND');
  });
});
