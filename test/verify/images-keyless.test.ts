/**
 * verifyImages with a keyless policy (certificate identity + OIDC issuer, trusted root),
 * for both signature formats:
 * - `bundle`: signBundleKeyless against @sigstore/mock's Fulcio and Rekor served with nock
 *   (as test/sign/keyless.test.ts does);
 * - `legacy`: a `sha256-<hex>.sig` layer built by hand, with the mock CA's certificate and
 *   cosign's Rekor bundle annotation from the mock Rekor (as legacy-timestamp.test.ts does).
 * Everything is in memory: no network, no ../shared vectors.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { cosignSignatureTag, simpleSigningPayload } from '../../src/cosign/simplesigning.js';
import { keyObjectSigner } from '../../src/keys/keys.js';
import { type Descriptor, digestOf, MediaType } from '../../src/oci/index.js';
import { signBundleKeyless } from '../../src/sign/keyless.js';
import { buildSignatureManifest } from '../../src/sign/legacy.js';
import { type SignatureFormat, verifyImages } from '../../src/verify/index.js';
import type { TrustedRootJson, VerificationPolicy } from '../../src/verify/policy.js';
import { appRef, type MemoryFixture, memoryFixture, seedImage, TEST_HOST } from '../helpers/registry.js';
import {
  b64,
  type CA,
  jwt,
  mockSigstoreServices,
  rekorAnnotation,
  type TLog,
} from '../helpers/sigstore-mock.js';

const FULCIO = 'https://fulcio.test';
const REKOR = 'https://rekor.test';
const ISSUER = 'https://issuer.test';
const ALICE = 'alice@example.com';
const MALLORY = 'mallory@example.com';
const SIG = 'dev.cosignproject.cosign/signature';
const CERT = 'dev.sigstore.cosign/certificate';
const CHAIN = 'dev.sigstore.cosign/chain';
const BUNDLE = 'dev.sigstore.cosign/bundle';

const p256 = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const sha256hex = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const pemOf = (der: ArrayBufferView) =>
  `-----BEGIN CERTIFICATE-----\n${b64(der).replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;

const ref = appRef;
const tokenFor = (email: string) =>
  jwt({ iss: ISSUER, sub: email, email, email_verified: true, aud: 'sigstore' });

describe('verifyImages with a keyless policy', () => {
  let ca: CA;
  let tlog: TLog;
  let root: TrustedRootJson;
  const policy = (subject = ALICE): VerificationPolicy => ({
    identities: [{ subject, issuer: ISSUER }],
    trustedRoot: root,
  });

  const services = mockSigstoreServices(FULCIO, REKOR);
  beforeAll(() => {
    ({ ca, tlog, root } = services());
  });

  /** cosign's legacy keyless `.sig` layer: Fulcio-style certificate, SCT, Rekor hashedrekord entry. */
  async function signLegacyKeyless(f: MemoryFixture, name: string, subject: Descriptor, email: string) {
    const ephemeral = p256();
    const cert = await ca.issueCertificate({
      publicKey: new Uint8Array(ephemeral.publicKey.export({ type: 'spki', format: 'der' })),
      subjectAltName: email,
      extensions: [{ oid: '1.3.6.1.4.1.57264.1.8', value: ISSUER }],
    });
    const certPem = pemOf(cert);
    const payload = simpleSigningPayload(`${TEST_HOST}/apps/${name}`, subject.digest);
    const signature = b64(await keyObjectSigner(ephemeral.privateKey).sign(payload));
    const bundle = await rekorAnnotation(tlog, {
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: {
        data: { hash: { algorithm: 'sha256', value: sha256hex(payload) } },
        signature: { content: signature, publicKey: { content: Buffer.from(certPem).toString('base64') } },
      },
    });
    const layer: Descriptor = {
      mediaType: MediaType.CosignSimpleSigning,
      digest: digestOf(payload),
      size: payload.byteLength,
      annotations: { [SIG]: signature, [CERT]: certPem, [CHAIN]: '', [BUNDLE]: bundle },
    };
    const store = f.store(`apps/${name}`);
    const built = buildSignatureManifest([layer]);
    await store.push(layer, payload);
    await store.push(built.configDescriptor, built.config);
    await store.push(built.descriptor, built.bytes);
    await store.tag(built.descriptor, cosignSignatureTag(subject.digest));
  }

  /** Signs `apps/<name>:1.0` keylessly as `email`, in `format`. */
  async function signAs(
    f: MemoryFixture,
    name: string,
    subject: Descriptor,
    email: string,
    format: SignatureFormat,
  ) {
    if (format === 'legacy') return signLegacyKeyless(f, name, subject, email);
    const r = await signBundleKeyless(f.repo(`apps/${name}`), subject, {
      identityToken: tokenFor(email),
      fulcioURL: FULCIO,
      rekorURL: REKOR,
    });
    expect(r.identity).toEqual({ subject: email, issuer: ISSUER });
  }

  describe.each(['bundle', 'legacy'] as const)('%s format', (format) => {
    it('verifies an image signed by the expected identity and pins it to the digest', async () => {
      const f = memoryFixture();
      const desc = await seedImage(f, 'app');
      await signAs(f, 'app', desc, ALICE, format);
      const r = await verifyImages(f.client, [ref('app')], { policy: policy() });
      expect(r).toEqual({
        images: [
          {
            image: ref('app'),
            verified: true,
            pinned: ref('app', `@${desc.digest}`),
            digest: desc.digest,
            format,
          },
        ],
        verified: 1,
        failed: 0,
        registryFailures: 0,
      });
    });

    it('fails as a verification failure (not a registry one) for another identity', async () => {
      const f = memoryFixture();
      const desc = await seedImage(f, 'app');
      await signAs(f, 'app', desc, ALICE, format);
      const r = await verifyImages(f.client, [ref('app')], { policy: policy(MALLORY) });
      expect(r).toMatchObject({ verified: 0, failed: 1, registryFailures: 0 });
      expect(r.images).toHaveLength(1);
      const [image] = r.images;
      expect(image).toMatchObject({
        image: ref('app'),
        verified: false,
        failure: 'verification',
        error: { code: 'SIGNATURE_INVALID' },
      });
      expect(image?.error?.message).toMatch(
        /certificate identity not trusted: subject "alice@example\.com" is not "mallory@example\.com"/,
      );
      expect(image?.pinned).toBeUndefined();
      expect(image?.format).toBeUndefined();
    });

    it('sorts and classifies two images signed by the right and by another identity', async () => {
      const f = memoryFixture();
      const good = await seedImage(f, 'zeta-good');
      const bad = await seedImage(f, 'alpha-bad');
      await signAs(f, 'zeta-good', good, ALICE, format);
      await signAs(f, 'alpha-bad', bad, MALLORY, format);
      const r = await verifyImages(f.client, [ref('zeta-good'), ref('alpha-bad')], {
        policy: policy(),
        concurrency: 2,
      });
      expect(r).toMatchObject({ verified: 1, failed: 1, registryFailures: 0 });
      expect(r.images.map((i) => [i.image, i.verified, i.failure, i.error?.code, i.format])).toEqual([
        [ref('alpha-bad'), false, 'verification', 'SIGNATURE_INVALID', undefined],
        [ref('zeta-good'), true, undefined, undefined, format],
      ]);
      expect(r.images[1]?.pinned).toBe(ref('zeta-good', `@${good.digest}`));
      expect(r.images[0]?.error?.message).toContain(bad.digest);
    });
  });
});
