import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Descriptor, digestOf, MediaType } from '../../src/oci/index.js';
import { buildSignatureManifest } from '../../src/sign/legacy.js';
import { cosignSignatureTag } from '../../src/cosign/simplesigning.js';
import { ChartVerificationError, verifyChart } from '../../src/verify/chart.js';
import { readContainersImageSignature } from '../../src/verify/legacy.js';
import {
  type LegacyKeylessTrust,
  verifyLegacyKeylessLayer,
  verifyLegacyKeylessSignatures,
} from '../../src/verify/legacy-keyless.js';
import { CHECKS, type TrustedRootJson } from '../../src/verify/policy.js';
import { memoryFixture, TEST_HOST } from '../helpers/registry.js';
import { SIGSTORE_VECTORS, sigstoreVectorsAvailable, describeVectors } from '../helpers/vectors.js';

const CERT = 'dev.sigstore.cosign/certificate';
const CHAIN = 'dev.sigstore.cosign/chain';
const BUNDLE = 'dev.sigstore.cosign/bundle';
const SIG = 'dev.cosignproject.cosign/signature';

const MITR = { subject: 'mitr@redhat.com', issuer: 'https://github.com/login/oauth' };

describeVectors(sigstoreVectorsAvailable('legacy keyless vectors'))('legacy certificate signatures', () => {
  const ci = join(SIGSTORE_VECTORS, 'containers-image');
  const read = (...p: string[]) => readFileSync(join(ci, ...p), 'utf8');
  const vector = (dir: string) => {
    const sig = readContainersImageSignature(new Uint8Array(readFileSync(join(ci, dir, 'signature-1'))));
    const manifest = new Uint8Array(readFileSync(join(ci, dir, 'manifest.json')));
    return { ...sig, manifest, digest: `sha256:${createHash('sha256').update(manifest).digest('hex')}` };
  };
  const fulcio = vector('dir-img-cosign-fulcio-rekor-valid');
  const pki = vector('dir-img-cosign-pki-valid');

  const der = (pem: string) => new X509Certificate(pem).raw.toString('base64');
  const fulcioRoot = new X509Certificate(read('fulcio_v1.crt.pem'));
  const rekorSpki = createPublicKey(read('rekor.pub')).export({ type: 'spki', format: 'der' });
  // CT log keys (for the SCT embedded in the Fulcio certificate) from the public-good trusted root.
  const production = JSON.parse(
    readFileSync(join(SIGSTORE_VECTORS, 'conformance', 'production_trusted_root.json'), 'utf8'),
  );

  /** A minimal trusted_root.json: the Fulcio root, the Rekor key, the public-good CT logs. */
  function trustedRoot(over: Partial<Record<string, unknown>> = {}): TrustedRootJson {
    return {
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [
        {
          baseUrl: 'https://rekor.sigstore.dev',
          hashAlgorithm: 'SHA2_256',
          publicKey: {
            rawBytes: rekorSpki.toString('base64'),
            keyDetails: 'PKIX_ECDSA_P256_SHA_256',
            validFor: { start: '2021-01-12T11:53:27Z' },
          },
          logId: { keyId: createHash('sha256').update(rekorSpki).digest('base64') },
        },
      ],
      certificateAuthorities: [
        {
          subject: { organization: 'sigstore.dev', commonName: 'sigstore' },
          uri: 'https://fulcio.sigstore.dev',
          certChain: { certificates: [{ rawBytes: der(read('fulcio_v1.crt.pem')) }] },
          validFor: { start: new Date(fulcioRoot.validFrom).toISOString() },
        },
      ],
      ctlogs: production.ctlogs,
      timestampAuthorities: [],
      ...over,
    };
  }

  const layer = (
    v: typeof fulcio,
    annotations: Record<string, string> = v.annotations,
    payload = v.payload,
  ) => ({
    payload,
    annotations,
    subjectDigest: v.digest,
  });
  const trust = (over: Partial<LegacyKeylessTrust> = {}): LegacyKeylessTrust => ({
    identities: [MITR],
    trustedRoot: trustedRoot(),
    ...over,
  });

  describe('verifyLegacyKeylessLayer (fulcio-rekor vector)', () => {
    it('passes with the right identity, issuer, Fulcio CA, Rekor and CT log keys; time from the SET', () => {
      const r = verifyLegacyKeylessLayer(layer(fulcio), trust());
      expect(r.reason).toBeUndefined();
      expect(r.verified).toBe(true);
      expect(r.signer).toMatchObject({ kind: 'certificate', ...MITR });
      expect(r.tlog).toBe('verified');
      expect(r.sct).toBe('verified');
      const set = JSON.parse(fulcio.annotations[BUNDLE]!).Payload;
      expect(r.tlogEntry?.logIndex).toBe(set.logIndex);
      expect(r.time).toEqual({
        source: 'transparency-log',
        time: new Date(set.integratedTime * 1000).toISOString(),
      });
      // The certificate is long expired: only the SET's time makes it valid.
      const leaf = new X509Certificate(fulcio.annotations[CERT]!);
      expect(new Date(leaf.validTo).getTime()).toBeLessThan(Date.now());
      expect(r.payload?.manifestDigest).toBe(fulcio.digest);
    });

    it('fails with a wrong identity or issuer', () => {
      expect(
        verifyLegacyKeylessLayer(
          layer(fulcio),
          trust({ identities: [{ ...MITR, subject: 'other@redhat.com' }] }),
        ).reason,
      ).toMatch(/certificate identity not trusted: subject "mitr@redhat.com" is not "other@redhat.com"/);
      expect(
        verifyLegacyKeylessLayer(
          layer(fulcio),
          trust({ identities: [{ ...MITR, issuer: 'https://accounts.google.com' }] }),
        ).reason,
      ).toMatch(/issuer "https:\/\/github.com\/login\/oauth" is not/);
    });

    it('anchors regular expressions: a partial match fails, a whole match passes', () => {
      for (const id of [
        { subjectRegExp: 'mitr@redhat', issuer: MITR.issuer },
        { subjectRegExp: 'redhat\\.com', issuer: MITR.issuer },
        { subject: MITR.subject, issuerRegExp: 'github\\.com' },
      ]) {
        const r = verifyLegacyKeylessLayer(layer(fulcio), trust({ identities: [id] }));
        expect(r.verified).toBe(false);
        expect(r.reason).toMatch(/does not match/);
      }
      const ok = verifyLegacyKeylessLayer(
        layer(fulcio),
        trust({
          identities: [{ subjectRegExp: '.*@redhat\\.com', issuerRegExp: 'https://github\\.com/.*' }],
        }),
      );
      expect(ok.verified).toBe(true);
    });

    it('fails without the Fulcio CA, or when the CA was not valid at issuance', () => {
      const otherCa = trustedRoot({
        certificateAuthorities: [
          {
            certChain: { certificates: [{ rawBytes: der(read('pki_root_crts.pem')) }] },
            validFor: { start: '2020-01-01T00:00:00Z' },
          },
        ],
      });
      // The chain annotation carries the real Fulcio root, but roots in a signature are never trusted.
      expect(verifyLegacyKeylessLayer(layer(fulcio), trust({ trustedRoot: otherCa })).reason).toMatch(
        /does not chain to a trusted certificate authority/,
      );
      expect(() =>
        verifyLegacyKeylessLayer(
          layer(fulcio),
          trust({ trustedRoot: trustedRoot({ certificateAuthorities: [] }) }),
        ),
      ).toThrow(/no trusted certificate authority/);
      const expiredCa = trustedRoot();
      (expiredCa.certificateAuthorities as { validFor: unknown }[])[0]!.validFor = {
        start: '2021-10-07T00:00:00Z',
        end: '2022-12-31T23:59:59Z',
      };
      expect(verifyLegacyKeylessLayer(layer(fulcio), trust({ trustedRoot: expiredCa })).reason).toMatch(
        /no trusted certificate authority is valid at 2023-01-20/,
      );
    });

    it('without the SET there is no verified time: the expired certificate fails', () => {
      const stripped = { ...fulcio.annotations };
      delete stripped[BUNDLE];
      expect(verifyLegacyKeylessLayer(layer(fulcio, stripped), trust()).reason).toMatch(
        /no Rekor bundle annotation.*cannot be established without a verified time/,
      );
      for (const tlog of ['if-present', 'skip'] as const) {
        const r = verifyLegacyKeylessLayer(layer(fulcio, stripped), trust({ tlog }));
        expect(r.verified).toBe(false);
        expect(r.reason).toMatch(
          /cannot be established without a verified time.*not valid at the current time/,
        );
      }
      // Skipping the log also ignores a present SET: the current time is used, and fails.
      expect(verifyLegacyKeylessLayer(layer(fulcio), trust({ tlog: 'skip' })).reason).toMatch(
        /without a verified time/,
      );
      // It is the time that fails: at a "now" inside the 10-minute validity it passes, unlogged.
      const r = verifyLegacyKeylessLayer(
        layer(fulcio, stripped),
        trust({ tlog: 'skip', now: new Date('2023-01-20T20:55:00Z') }),
      );
      expect(r).toMatchObject({ verified: true, tlog: 'not-checked', time: { source: 'current-time' } });
    });

    it('fails with a tampered payload, signature, or SET', () => {
      const payload = Buffer.from(fulcio.payload);
      payload[payload.indexOf('sha256:') + 10] ^= 1;
      expect(verifyLegacyKeylessLayer(layer(fulcio, fulcio.annotations, payload), trust()).reason).toMatch(
        /signature does not verify with the certificate's key/,
      );
      const sig = Buffer.from(fulcio.annotations[SIG]!, 'base64');
      sig[sig.length - 3] ^= 1;
      expect(
        verifyLegacyKeylessLayer(
          layer(fulcio, { ...fulcio.annotations, [SIG]: sig.toString('base64') }),
          trust(),
        ).verified,
      ).toBe(false);
      const set = JSON.parse(fulcio.annotations[BUNDLE]!);
      set.Payload.integratedTime -= 3600; // would place signing before the certificate's validity
      expect(
        verifyLegacyKeylessLayer(
          layer(fulcio, { ...fulcio.annotations, [BUNDLE]: JSON.stringify(set) }),
          trust(),
        ).reason,
      ).toMatch(/SignedEntryTimestamp does not verify/);
      // Another subject digest: the claim check fails.
      expect(
        verifyLegacyKeylessLayer({ ...layer(fulcio), subjectDigest: pki.digest }, trust()).reason,
      ).toMatch(/invalid or missing digest in claim/);
    });

    it('requires the SCT to verify against a trusted CT log unless told to skip it', () => {
      const noCt = trustedRoot({ ctlogs: [] });
      expect(verifyLegacyKeylessLayer(layer(fulcio), trust({ trustedRoot: noCt })).reason).toMatch(
        /no trusted CT log key with log ID dd3d306a/,
      );
      const wrongKey = trustedRoot({
        ctlogs: (production.ctlogs as { publicKey: object }[]).map((l) => ({
          ...l,
          publicKey: { ...l.publicKey, rawBytes: rekorSpki.toString('base64') },
        })),
      });
      expect(verifyLegacyKeylessLayer(layer(fulcio), trust({ trustedRoot: wrongKey })).reason).toMatch(
        /SCT of CT log .* does not verify/,
      );
      const skipped = verifyLegacyKeylessLayer(layer(fulcio), trust({ trustedRoot: noCt, ctlog: 'skip' }));
      expect(skipped).toMatchObject({ verified: true, sct: 'not-checked' });
    });

    it('rejects a key-signed layer and unusable options', () => {
      const keyed = vector('dir-img-cosign-key-rekor-valid');
      expect(verifyLegacyKeylessLayer(layer(keyed), trust()).reason).toMatch(/signature was made with a key/);
      expect(() => verifyLegacyKeylessLayer(layer(fulcio), trust({ identities: [] }))).toThrow(/identity/);
      expect(() =>
        verifyLegacyKeylessLayer(layer(fulcio), trust({ identities: [{ subject: MITR.subject }] })),
      ).toThrow(/needs an issuer/);
      expect(() => verifyLegacyKeylessLayer(layer(fulcio), { identities: [MITR] })).toThrow(
        /no trusted certificate authority/,
      );
    });
  });

  describe('verifyLegacyKeylessLayer (pki vector, custom roots)', () => {
    const roots = read('pki_root_crts.pem');
    const intermediates = read('pki_intermediate_crts.pem');
    const noChain = { ...pki.annotations, [CHAIN]: '' };
    const qiwan = { subject: 'qiwan@redhat.com', issuerRegExp: '.*' };

    it('passes with the custom roots and intermediates (no issuer extension, no log)', () => {
      const r = verifyLegacyKeylessLayer(layer(pki, noChain), {
        identities: [qiwan],
        roots,
        intermediates,
        tlog: 'skip',
      });
      expect(r.reason).toBeUndefined();
      expect(r).toMatchObject({ verified: true, sct: 'not-checked', tlog: 'not-checked' });
      expect(r.signer?.subjectAlternativeNames).toEqual(['qiwan@redhat.com', 'myhost.example.com']);
      expect(r.signer?.issuer).toBeUndefined();
      // Any SAN may match (cosign): the DNS name too.
      expect(
        verifyLegacyKeylessLayer(layer(pki, noChain), {
          identities: [{ subject: 'myhost.example.com', issuerRegExp: '.*' }],
          roots,
          intermediates,
          tlog: 'skip',
        }).verified,
      ).toBe(true);
    });

    it('fails without the intermediate, with other roots, a wrong identity, or a required log', () => {
      const base = { identities: [qiwan], roots, tlog: 'skip' as const };
      expect(verifyLegacyKeylessLayer(layer(pki, noChain), base).reason).toMatch(
        /does not chain to a trusted certificate authority/,
      );
      // The chain annotation's intermediate completes the path (containers/image, cosign).
      expect(verifyLegacyKeylessLayer(layer(pki), base).verified).toBe(true);
      expect(
        verifyLegacyKeylessLayer(layer(pki), { ...base, roots: read('fulcio_v1.crt.pem') }).reason,
      ).toMatch(/does not chain/);
      expect(
        verifyLegacyKeylessLayer(layer(pki), {
          ...base,
          identities: [{ subject: 'x@redhat.com', issuerRegExp: '.*' }],
        }).reason,
      ).toMatch(/identity not trusted/);
      expect(verifyLegacyKeylessLayer(layer(pki), { ...base, tlog: 'require' }).reason).toMatch(
        /no Rekor bundle annotation/,
      );
    });
  });

  describe('through the registry', () => {
    async function serve(v: typeof fulcio, annotations = v.annotations) {
      const { client, repo: repoOf, store: storeOf } = memoryFixture();
      const store = storeOf('signed');
      const desc: Descriptor = {
        mediaType: MediaType.CosignSimpleSigning,
        digest: digestOf(v.payload),
        size: v.payload.byteLength,
        annotations,
      };
      await store.push(desc, v.payload);
      const built = buildSignatureManifest([desc]);
      await store.push(built.configDescriptor, built.config);
      await store.push(built.descriptor, built.bytes);
      await store.tag(built.descriptor, cosignSignatureTag(v.digest));
      return {
        client,
        repo: repoOf('signed'),
        ref: `${TEST_HOST}/signed@${v.digest}`,
      };
    }

    it('verifyLegacyKeylessSignatures reads the .sig manifest', async () => {
      const { repo } = await serve(fulcio);
      const r = await verifyLegacyKeylessSignatures(repo, fulcio.digest, trust());
      expect(r.verified).toBe(1);
      expect(r.layers[0]).toMatchObject({ verified: true, certificate: true, bundle: true, sct: 'verified' });
      expect(Buffer.from(r.layers[0]!.payloadBytes!).equals(Buffer.from(fulcio.payload))).toBe(true);
      await expect(
        verifyLegacyKeylessSignatures(
          repo,
          fulcio.digest,
          trust({ identities: [{ ...MITR, subject: 'x@y.z' }] }),
        ),
      ).rejects.toThrow(/no matching signatures.*identity not trusted/);
      await expect(verifyLegacyKeylessSignatures(repo, pki.digest, trust())).rejects.toThrow(
        /no signatures found/,
      );
    });

    it('verifyChart verifies a keyless legacy signature for an identity policy', async () => {
      const { client, ref } = await serve(fulcio);
      const result = await verifyChart(client, ref, {
        policy: { identities: [MITR], trustedRoot: trustedRoot() },
      });
      expect(result).toMatchObject({ format: 'legacy', verified: 1, digest: fulcio.digest });
      expect(result.signatures[0]).toMatchObject({
        verified: true,
        tlog: 'verified',
        signer: { kind: 'certificate', ...MITR },
      });
      expect(result.checks).toEqual([CHECKS.claims, CHECKS.tlogOffline, CHECKS.certificate]);
      expect(result.signatures[0]!.payload).toEqual(JSON.parse(Buffer.from(fulcio.payload).toString('utf8')));
    });

    it('verifyChart fails with a wrong identity, a stripped SET, or a policy naming neither keys nor identities', async () => {
      const { client, ref } = await serve(fulcio);
      const wrong = verifyChart(client, ref, {
        policy: {
          identities: [{ ...MITR, issuer: 'https://accounts.google.com' }],
          trustedRoot: trustedRoot(),
        },
      });
      await expect(wrong).rejects.toBeInstanceOf(ChartVerificationError);
      await expect(wrong).rejects.toThrow(/identity not trusted/);
      const stripped = { ...fulcio.annotations };
      delete stripped[BUNDLE];
      const s = await serve(fulcio, stripped);
      await expect(
        verifyChart(s.client, s.ref, {
          policy: { identities: [MITR], trustedRoot: trustedRoot(), tlog: 'if-present' },
        }),
      ).rejects.toThrow(/without a verified time/);
      await expect(verifyChart(client, ref, { policy: { trustedRoot: trustedRoot() } })).rejects.toThrow(
        /verified with keys only; the policy names no key/,
      );
      await expect(verifyChart(client, ref, { policy: { identities: [MITR] } })).rejects.toThrow(
        /trusted root is required/,
      );
    });
  });
});
