import { createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { type Descriptor, type Digest, digestOf, MediaType } from '../../src/oci/index.js';
import { buildSignatureManifest } from '../../src/sign/legacy.js';
import { cosignSignatureTag, simpleSigningPayload } from '../../src/cosign/simplesigning.js';
import type { MemoryRegistry } from '../../src/testing/index.js';
import {
  LegacyVerificationError,
  readContainersImageSignature,
  verifyLegacySignatures,
  verifySimpleSigningSignature,
} from '../../src/verify/index.js';
import { expectChartproofError } from '../helpers/expect-error.js';
import { memoryFixture, TEST_HOST } from '../helpers/registry.js';
import { SIGSTORE_VECTORS, sigstoreVectorsAvailable, describeVectors } from '../helpers/vectors.js';

const SIG = 'dev.cosignproject.cosign/signature';
const BUNDLE = 'dev.sigstore.cosign/bundle';
const CERT = 'dev.sigstore.cosign/certificate';

const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;

type Store = ReturnType<MemoryRegistry['repository']>;

/** Seeds a signature manifest over (payload, annotations) layers under the tag of `subject`. */
async function seedSignatures(
  store: Store,
  subject: string,
  layers: Array<{
    payload: Uint8Array;
    annotations?: Record<string, string>;
    mediaType?: string;
    skipBlob?: boolean;
  }>,
) {
  const descs: Descriptor[] = [];
  for (const l of layers) {
    const desc: Descriptor = {
      mediaType: l.mediaType ?? MediaType.CosignSimpleSigning,
      digest: digestOf(l.payload),
      size: l.payload.byteLength,
    };
    if (l.annotations) desc.annotations = l.annotations;
    if (!l.skipBlob) await store.push(desc, l.payload);
    descs.push(desc);
  }
  const built = buildSignatureManifest(descs);
  await store.push(built.configDescriptor, built.config);
  await store.push(built.descriptor, built.bytes);
  await store.tag(built.descriptor, cosignSignatureTag(subject));
  return built;
}

describeVectors(sigstoreVectorsAvailable('legacy verification vector'))('cosign v3.0.4 legacy vector', () => {
  const dir = join(SIGSTORE_VECTORS, 'cosign-oci', 'cosign-v3.0.4-legacy-sig');
  const payload = new Uint8Array(readFileSync(join(dir, 'payload.json')));
  const manifestBytes = new Uint8Array(readFileSync(join(dir, 'sig-manifest.json')));
  const configBytes = new Uint8Array(readFileSync(join(dir, 'config.reconstructed.json')));
  const subject = readFileSync(join(dir, 'subject-digest.txt'), 'utf8').trim() as Digest;
  const cosignPub = createPublicKey(readFileSync(join(dir, 'cosign.pub')));
  const manifest = JSON.parse(Buffer.from(manifestBytes).toString('utf8')) as { layers: Descriptor[] };
  const signatureB64 = manifest.layers[0]!.annotations![SIG]!;

  describe('verifySimpleSigningSignature', () => {
    const base = { payload, signatureB64, publicKey: cosignPub, subjectDigest: subject };

    it('verifies the vector signature with cosign.pub', () => {
      const r = verifySimpleSigningSignature(base);
      expect(r).toMatchObject({ verified: true, keyIndex: 0 });
      expect(r.payload?.dockerReference).toBe('localhost:15381/tobby/fixture');
      expect(verifySimpleSigningSignature({ ...base, strict: true }).verified).toBe(true);
    });

    it('fails a flipped payload byte', () => {
      for (const at of [0, 60, payload.byteLength - 1]) {
        const bad = payload.slice();
        bad[at]! ^= 0x01;
        expect(verifySimpleSigningSignature({ ...base, payload: bad })).toMatchObject({
          verified: false,
          reason: expect.stringMatching(/does not verify/),
        });
      }
    });

    it('fails with another key, passes when cosign.pub is among several', () => {
      expect(verifySimpleSigningSignature({ ...base, publicKey: otherKey }).verified).toBe(false);
      expect(verifySimpleSigningSignature({ ...base, publicKey: [otherKey, cosignPub] })).toMatchObject({
        verified: true,
        keyIndex: 1,
      });
    });

    it('fails when the subject digest differs from the claimed one', () => {
      const r = verifySimpleSigningSignature({ ...base, subjectDigest: digestOf('other') });
      expect(r.verified).toBe(false);
      expect(r.reason).toMatch(/invalid or missing digest in claim/);
      expect(r.payload?.manifestDigest).toBe(subject);
    });

    it('fails garbage or missing base64 and a bit-flipped signature', () => {
      for (const s of ['not base64!', signatureB64.slice(0, -1), `${signatureB64} `, '']) {
        expect(verifySimpleSigningSignature({ ...base, signatureB64: s }).verified).toBe(false);
      }
      expect(verifySimpleSigningSignature({ ...base, signatureB64: 'x y' }).reason).toMatch(/base64/);
      expect(verifySimpleSigningSignature({ ...base, signatureB64: undefined }).reason).toMatch(/missing/);
      const sig = Buffer.from(signatureB64, 'base64');
      sig[sig.length - 3]! ^= 0x10;
      expect(verifySimpleSigningSignature({ ...base, signatureB64: sig.toString('base64') }).verified).toBe(
        false,
      );
    });

    it('fails a required annotation the payload does not carry', () => {
      const r = verifySimpleSigningSignature({ ...base, annotations: { env: 'prod' } });
      expect(r).toMatchObject({ verified: false, reason: expect.stringMatching(/annotation "env"/) });
    });
  });

  describe('verifyLegacySignatures end to end', () => {
    /** The registry state cosign left: the exact manifest, config and payload. */
    async function cosignState() {
      const s = memoryFixture({ repository: 'tobby/fixture' });
      const store = s.store();
      await store.push(
        { mediaType: MediaType.OciConfig, digest: digestOf(configBytes), size: configBytes.byteLength },
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
      await store.tag(desc, cosignSignatureTag(subject));
      return { registry: s.registry, repo: s.app, store, desc };
    }

    it('verifies the signature cosign pushed', async () => {
      const { repo, desc } = await cosignState();
      // Only the subject's digest is known (its manifest is not part of the vector);
      // like `cosign verify repo@digest`, no subject request is needed.
      const r = await verifyLegacySignatures(repo, subject, { publicKey: cosignPub });
      expect(r).toMatchObject({
        subjectDigest: subject,
        pinned: `${TEST_HOST}/tobby/fixture@${subject}`,
        signatureTag: `sha256-${subject.slice(7)}.sig`,
        signatureManifest: desc,
        verified: 1,
      });
      expect(r.layers).toHaveLength(1);
      expect(r.layers[0]).toMatchObject({
        index: 0,
        verified: true,
        payloadDigest: digestOf(payload),
        tlog: 'not-checked',
        bundle: false,
        certificate: false,
        keyIndex: 0,
      });
      expect(Buffer.from(r.layers[0]!.payloadBytes!).equals(Buffer.from(payload))).toBe(true);
    });

    it('also accepts the subject as a descriptor', async () => {
      const { repo } = await cosignState();
      const r = await verifyLegacySignatures(
        repo,
        { mediaType: MediaType.OciIndex, digest: subject, size: 1 },
        { publicKey: cosignPub },
      );
      expect(r.verified).toBe(1);
    });

    it('fails with another key, listing the layer’s reason', async () => {
      const { repo } = await cosignState();
      const err = await expectChartproofError(
        verifyLegacySignatures(repo, subject, { publicKey: otherKey }),
        'SIGNATURE_INVALID',
        /no matching signatures.*layer 0 \(sha256:3a29d26a.*\): signature does not verify/,
      );
      expect(err).toBeInstanceOf(LegacyVerificationError);
      expect((err as LegacyVerificationError).result.layers[0]!.verified).toBe(false);
    });

    it('fails a wrong required annotation', async () => {
      const { repo } = await cosignState();
      await expectChartproofError(
        verifyLegacySignatures(repo, subject, { publicKey: cosignPub, annotations: { a: 'b' } }),
        'SIGNATURE_INVALID',
        /missing or incorrect annotation "a"/,
      );
    });

    it('fails when the signature manifest sits at another subject’s tag (claim mismatch)', async () => {
      const { repo, store, desc } = await cosignState();
      const other = digestOf('another manifest');
      await store.tag(desc, cosignSignatureTag(other));
      await expectChartproofError(
        verifyLegacySignatures(repo, other, { publicKey: cosignPub }),
        'SIGNATURE_INVALID',
        /invalid or missing digest in claim/,
      );
    });

    it('answers SIGNATURE_NOT_FOUND without a .sig tag', async () => {
      const { app: repo } = memoryFixture({ repository: 'tobby/fixture' });
      await expectChartproofError(
        verifyLegacySignatures(repo, subject, { publicKey: cosignPub }),
        'SIGNATURE_NOT_FOUND',
        /no signatures found/,
      );
    });

    it('fails a missing payload blob', async () => {
      const { app: repo, store: storeOf } = memoryFixture({ repository: 'tobby/fixture' });
      const store = storeOf();
      await seedSignatures(store, subject, [
        { payload, annotations: { [SIG]: signatureB64 }, skipBlob: true },
      ]);
      await expectChartproofError(
        verifyLegacySignatures(repo, subject, { publicKey: cosignPub }),
        'SIGNATURE_INVALID',
        /payload blob not found/,
      );
    });

    it('fails a payload blob whose bytes were altered in the registry', async () => {
      const { repo, store } = await cosignState();
      const bad = payload.slice();
      bad[10]! ^= 0x01;
      // Bypass the store's own digest check to simulate a corrupted registry.
      store.putVerified(
        { mediaType: MediaType.CosignSimpleSigning, digest: digestOf(payload), size: payload.byteLength },
        bad,
      );
      await expectChartproofError(
        verifyLegacySignatures(repo, subject, { publicKey: cosignPub }),
        'SIGNATURE_INVALID',
        /payload blob rejected: .*digest/,
      );
    });

    it('fails a payload larger than the cap without reading it', async () => {
      const { repo, registry } = await cosignState();
      const mark = registry.requests.length;
      await expectChartproofError(
        verifyLegacySignatures(repo, subject, { publicKey: cosignPub, maxPayloadBytes: 100 }),
        'SIGNATURE_INVALID',
        /exceeds the limit of 100/,
      );
      expect(registry.requests.slice(mark).some((q) => q.url.includes('/blobs/'))).toBe(false);
    });

    it('fails garbage base64 in the annotation', async () => {
      const { app: repo, store: storeOf } = memoryFixture({ repository: 'tobby/fixture' });
      const store = storeOf();
      await seedSignatures(store, subject, [{ payload, annotations: { [SIG]: '%%%garbage%%%' } }]);
      await expectChartproofError(
        verifyLegacySignatures(repo, subject, { publicKey: cosignPub }),
        'SIGNATURE_INVALID',
        /not valid base64/,
      );
    });

    it('passes when one of several layers verifies; reports the others', async () => {
      const { app: repo, store: storeOf } = memoryFixture({ repository: 'tobby/fixture' });
      const store = storeOf();
      await seedSignatures(store, subject, [
        { payload: new TextEncoder().encode('hello'), mediaType: 'text/plain', annotations: { [SIG]: '' } },
        { payload, annotations: { [SIG]: 'AAAA' } },
        { payload, annotations: { [SIG]: signatureB64, [BUNDLE]: '{}', [CERT]: 'x' } },
      ]);
      const r = await verifyLegacySignatures(repo, subject, { publicKey: cosignPub });
      expect(r.verified).toBe(1);
      expect(r.layers.map((l) => l.verified)).toEqual([false, false, true]);
      expect(r.layers[0]!.reason).toMatch(/skipped/);
      expect(r.layers[1]!.reason).toMatch(/does not verify/);
      expect(r.layers[2]).toMatchObject({ bundle: true, certificate: true, tlog: 'not-checked' });
    });

    it('refuses more than 1000 layers', async () => {
      const { app: repo, store: storeOf } = memoryFixture({ repository: 'tobby/fixture' });
      const store = storeOf();
      const layer = {
        mediaType: MediaType.CosignSimpleSigning,
        digest: digestOf(payload),
        size: payload.byteLength,
      };
      const m = new TextEncoder().encode(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.OciManifest,
          config: layer,
          layers: Array.from({ length: 1001 }, () => layer),
        }),
      );
      const desc = { mediaType: MediaType.OciManifest, digest: digestOf(m), size: m.byteLength };
      await store.push(desc, m);
      await store.tag(desc, cosignSignatureTag(subject));
      await expectChartproofError(
        verifyLegacySignatures(repo, subject, { publicKey: cosignPub }),
        'INVALID_MANIFEST',
        /1001 layers/,
      );
    });

    it('refuses layers that declare more than 512 MiB together, before reading any', async () => {
      const { app: repo, store: storeOf } = memoryFixture({ repository: 'tobby/fixture' });
      const store = storeOf();
      // Five layers of 120 MiB each: every one under the per-layer cap, 600 MiB in all.
      const big = (i: number) => ({
        mediaType: MediaType.CosignSimpleSigning,
        digest: `sha256:${i.toString(16).padStart(64, '0')}`,
        size: 120 * 1024 * 1024,
        annotations: { [SIG]: signatureB64 },
      });
      const m = new TextEncoder().encode(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.OciManifest,
          config: { mediaType: MediaType.OciConfig, digest: digestOf(payload), size: payload.byteLength },
          layers: [1, 2, 3, 4, 5].map(big),
        }),
      );
      const desc = { mediaType: MediaType.OciManifest, digest: digestOf(m), size: m.byteLength };
      await store.push(desc, m);
      await store.tag(desc, cosignSignatureTag(subject));
      const fetch = vi.spyOn(repo, 'fetch');
      await expectChartproofError(
        verifyLegacySignatures(repo, subject, { publicKey: cosignPub }),
        'INVALID_MANIFEST',
        /declare 629145600 bytes in all, over the limit of 536870912/,
      );
      expect(fetch).not.toHaveBeenCalled();
    });

    it('needs at least one key', async () => {
      const { repo } = await cosignState();
      await expectChartproofError(
        verifyLegacySignatures(repo, subject, { publicKey: [] }),
        'INVALID_ARGUMENT',
      );
    });
  });
});

describe('verifyLegacySignatures on a tag subject', () => {
  it('resolves the tag and verifies a signature made with node:crypto', async () => {
    const { app: repo, store: storeOf } = memoryFixture();
    const store = storeOf();
    const cfg = new TextEncoder().encode('{}');
    const cfgDesc = { mediaType: MediaType.OciEmpty, digest: digestOf(cfg), size: 2 };
    await store.push(cfgDesc, cfg);
    const m = new TextEncoder().encode(
      JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: cfgDesc, layers: [] }),
    );
    const subject = await repo.pushManifest(m, { tags: ['1.0.0'] });
    const keys = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const payload = simpleSigningPayload('registry.test/charts/app', subject.digest, { team: 'a' });
    const sig = sign('sha384', payload, keys.privateKey).toString('base64');
    await seedSignatures(store, subject.digest, [{ payload, annotations: { [SIG]: sig } }]);
    const r = await verifyLegacySignatures(repo, '1.0.0', {
      publicKey: keys.publicKey,
      annotations: { team: 'a' },
    });
    expect(r.subjectDigest).toBe(subject.digest);
    expect(r.layers[0]!.payload?.optional).toEqual({ team: 'a' });
  });
});

// containers/image `dir:` signature files (MANIFEST §3). Checked here: the signature
// over the payload with a key, and the digest claim against sha256(manifest.json).
// Identity matching (signedIdentity policies, docker-reference), Fulcio/PKI
// certificate chains and Rekor SETs are out of scope: for certificate-based vectors
// only the certificate's public key is used to verify the signature.
describeVectors(sigstoreVectorsAvailable('containers/image signature vectors'))(
  'containers/image signature vectors',
  () => {
    const ci = join(SIGSTORE_VECTORS, 'containers-image');
    const cosignPub = createPublicKey(readFileSync(join(ci, 'cosign.pub')));
    const cosign2Pub = createPublicKey(readFileSync(join(ci, 'cosign2.pub')));

    function check(file: string, manifestDir: string | undefined, key: KeyObject | 'certificate') {
      const sig = readContainersImageSignature(new Uint8Array(readFileSync(join(ci, file))));
      // containers/image only considers simple-signing attachments.
      if (sig.mimeType !== MediaType.CosignSimpleSigning)
        return { verified: false, reason: 'ignored: not a signature', sig };
      const manifestPath = manifestDir ? join(ci, manifestDir, 'manifest.json') : undefined;
      if (!manifestPath || !existsSync(manifestPath)) return { verified: false, reason: 'no manifest', sig };
      const publicKey = key === 'certificate' ? createPublicKey(sig.annotations[CERT]!) : key;
      const r = verifySimpleSigningSignature({
        payload: sig.payload,
        signatureB64: sig.annotations[SIG],
        publicKey,
        subjectDigest: digestOf(readFileSync(manifestPath)),
        strict: true,
      });
      return { ...r, sig };
    }

    const cases: Array<[string, string | undefined, 'cosign' | 'cosign2' | 'certificate', boolean, RegExp?]> =
      [
        ['dir-img-cosign-valid/signature-1', 'dir-img-cosign-valid', 'cosign', true],
        ['dir-img-cosign-valid-2/signature-1', 'dir-img-cosign-valid-2', 'cosign', true],
        ['dir-img-cosign-valid-2/signature-2', 'dir-img-cosign-valid-2', 'cosign', true],
        ['dir-img-cosign-mixed/signature-1', 'dir-img-cosign-mixed', 'cosign', false, /does not verify/],
        ['dir-img-cosign-mixed/signature-2', 'dir-img-cosign-mixed', 'cosign', true],
        ['dir-img-cosign-valid-with-tag/signature-1', 'dir-img-cosign-valid-with-tag', 'cosign', true],
        ['dir-img-cosign-key-rekor-valid/signature-1', 'dir-img-cosign-key-rekor-valid', 'cosign2', true],
        [
          'dir-img-cosign-key-rekor-valid/signature-1',
          'dir-img-cosign-key-rekor-valid',
          'cosign',
          false,
          /does not verify/,
        ],
        [
          'dir-img-cosign-fulcio-rekor-valid/signature-1',
          'dir-img-cosign-fulcio-rekor-valid',
          'certificate',
          true,
        ],
        [
          'dir-img-cosign-fulcio-rekor-valid/signature-1',
          'dir-img-cosign-fulcio-rekor-valid',
          'cosign',
          false,
          /does not verify/,
        ],
        ['dir-img-cosign-pki-valid/signature-1', 'dir-img-cosign-pki-valid', 'certificate', true],
        [
          'dir-img-cosign-manifest-digest-error/signature-1',
          'dir-img-cosign-manifest-digest-error',
          'cosign',
          false,
          /digest in claim/,
        ],
        [
          'dir-img-cosign-modified-manifest/signature-1',
          'dir-img-cosign-modified-manifest',
          'cosign',
          false,
          /digest in claim/,
        ],
        [
          'dir-img-cosign-no-manifest/signature-1',
          'dir-img-cosign-no-manifest',
          'cosign',
          false,
          /no manifest/,
        ],
        [
          'dir-img-cosign-other-attachment/signature-1',
          'dir-img-cosign-other-attachment',
          'cosign',
          false,
          /ignored/,
        ],
        ['unknown-cosign-key.signature', 'dir-img-cosign-valid', 'cosign', false, /does not verify/],
        ['unknown-cosign-key.signature', 'dir-img-cosign-valid', 'cosign2', false, /does not verify/],
      ];

    it.each(cases)('%s (manifest of %s, key %s) → %s', (file, dir, keyName, expected, reason) => {
      const key = keyName === 'certificate' ? 'certificate' : keyName === 'cosign' ? cosignPub : cosign2Pub;
      const r = check(file, dir, key);
      expect(r.verified).toBe(expected);
      if (reason) expect(r.reason).toMatch(reason);
    });

    it('mixed image passes overall: one of its two signatures verifies', () => {
      const results = ['signature-1', 'signature-2'].map(
        (s) => check(`dir-img-cosign-mixed/${s}`, 'dir-img-cosign-mixed', cosignPub).verified,
      );
      expect(results).toEqual([false, true]);
    });

    it('reports the Rekor bundle of the key-rekor vector (not verified here)', () => {
      const r = check(
        'dir-img-cosign-key-rekor-valid/signature-1',
        'dir-img-cosign-key-rekor-valid',
        cosign2Pub,
      );
      expect(Object.keys(r.sig.annotations).sort()).toEqual([SIG, BUNDLE]);
    });

    it('verifies internal-testdata/valid.signature against its claimed digest', () => {
      const sig = readContainersImageSignature(
        new Uint8Array(readFileSync(join(ci, 'internal-testdata', 'valid.signature'))),
      );
      const subjectDigest = 'sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00';
      const base = { payload: sig.payload, signatureB64: sig.annotations[SIG], subjectDigest };
      expect(verifySimpleSigningSignature({ ...base, publicKey: cosignPub, strict: true }).verified).toBe(
        true,
      );
      expect(verifySimpleSigningSignature({ ...base, publicKey: cosign2Pub }).verified).toBe(false);
    });

    it('verifies internal-testdata rekor-sig over rekor-payload with rekor-cert’s key', () => {
      const td = join(ci, 'internal-testdata');
      const payload = new Uint8Array(readFileSync(join(td, 'rekor-payload')));
      const r = verifySimpleSigningSignature({
        payload,
        signatureB64: readFileSync(join(td, 'rekor-sig'), 'utf8').trim(),
        publicKey: createPublicKey(readFileSync(join(td, 'rekor-cert'))),
        subjectDigest: 'sha256:fa93b01658e3a5a1686dc3ae55f170d8de487006fb53a28efcd12ab0710a2e5f',
      });
      expect(r.verified).toBe(true);
    });
  },
);

describe('readContainersImageSignature', () => {
  const enc = new TextEncoder();
  const file = (s: string) => new Uint8Array([0, ...enc.encode(s)]);

  it('parses the sigstore-json format', () => {
    const sig = readContainersImageSignature(
      file('sigstore-json\n{"mimeType":"m","payload":"aGk=","annotations":{"a":"b"}}'),
    );
    expect(sig).toEqual({ mimeType: 'm', payload: enc.encode('hi'), annotations: { a: 'b' } });
  });

  it.each([
    ['an empty file', new Uint8Array()],
    ['a GPG signature', new Uint8Array([0xa3, 1, 2])],
    ['no newline', file('sigstore-json')],
    ['another format', file('simple-signing\n{}')],
    ['a control character in the format', file('sig\u0001\n{}')],
    ['bad JSON', file('sigstore-json\n{')],
    ['a non-object', file('sigstore-json\n[]')],
    ['bad base64', file('sigstore-json\n{"mimeType":"m","payload":"a b"}')],
    ['a numeric annotation', file('sigstore-json\n{"mimeType":"m","payload":"","annotations":{"a":1}}')],
    ['a numeric mimeType', file('sigstore-json\n{"mimeType":1}')],
  ])('rejects %s', async (_, bytes) => {
    await expectChartproofError(
      Promise.resolve().then(() => readContainersImageSignature(bytes)),
      'SIGNATURE_INVALID',
    );
  });
});
