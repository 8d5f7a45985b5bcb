/**
 * RFC 3161 timestamps on cosign legacy layers (`dev.sigstore.cosign/rfc3161timestamp` =
 * `{"SignedRFC3161Timestamp": base64 TimeStampResp}`): over the raw signature on `.sig`
 * layers, over the envelope bytes on `.att` layers (what cosign timestamps and checks).
 * Real timestamps come from @sigstore/mock's TSA; the certificates from its CA (valid 10
 * minutes, so a timestamp is what makes them verifiable later).
 */
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { initializeCA, initializeCTLog, initializeTLog, initializeTSA } from '@sigstore/mock';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Descriptor, digestOf, MediaType, type RegistryClient } from '../../src/oci/index.js';
import { keyObjectSigner } from '../../src/keys/keys.js';
import { buildSignatureManifest } from '../../src/sign/legacy.js';
import {
  attachLegacyAttestation,
  createDsseEnvelope,
  parseDsseEnvelope,
} from '../../src/sign/legacy-attest.js';
import { cosignSignatureTag, simpleSigningPayload } from '../../src/cosign/simplesigning.js';
import { inTotoStatement } from '../../src/cosign/statement.js';
import { type AttestationVerificationError, verifyChartAttestations } from '../../src/verify/attestation.js';
import { verifyLegacyAttestationLayer } from '../../src/verify/legacy-attestation.js';
import {
  type LegacyKeylessTrust,
  verifyLegacyKeylessLayer,
  verifyLegacyKeylessSignatures,
} from '../../src/verify/legacy-keyless.js';
import { CHECKS, type TrustedRootJson, type VerificationPolicy } from '../../src/verify/policy.js';
import { expectChartproofError } from '../helpers/expect-error.js';
import { memoryFixture, pushTestChart, TEST_HOST } from '../helpers/registry.js';
import {
  b64,
  type CA,
  type CTLog,
  mockTimestamp,
  mockTrustedRoot,
  rekorAnnotation,
  safeClock,
  type TLog,
  type TSA,
} from '../helpers/sigstore-mock.js';

const REPO = `${TEST_HOST}/charts/app`;
const SPDX = 'https://spdx.dev/Document';
const EMAIL = 'release@example.com';
const ISSUER = 'https://issuer.test';
const SIG = 'dev.cosignproject.cosign/signature';
const CERT = 'dev.sigstore.cosign/certificate';
const CHAIN = 'dev.sigstore.cosign/chain';
const BUNDLE = 'dev.sigstore.cosign/bundle';
const TS = 'dev.sigstore.cosign/rfc3161timestamp';
const IDENTITY = { subject: EMAIL, issuer: ISSUER };
const DAY = 86_400_000;

const p256 = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest();
const pemOf = (der: ArrayBufferView) =>
  `-----BEGIN CERTIFICATE-----\n${b64(der).replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });

/** cosign's `dev.sigstore.cosign/rfc3161timestamp` annotation over `covered` (mock TSA). */
async function timestamp(tsa: TSA, covered: Uint8Array): Promise<string> {
  const resp = await mockTimestamp(tsa, {
    artifactHash: sha256(covered),
    hashAlgorithmOID: '2.16.840.1.101.3.4.2.1',
    nonce: 42,
    policyOID: '1.3.6.1.4.1.57264.2',
    certReq: true,
  });
  return JSON.stringify({ SignedRFC3161Timestamp: b64(resp) });
}

describe('RFC 3161 timestamps on legacy layers', () => {
  let ca: CA;
  let ctlog: CTLog;
  let tlog: TLog;
  let tsa: TSA;
  let rogueTsa: TSA;
  let root: TrustedRootJson;

  beforeAll(async () => {
    ctlog = await initializeCTLog(p256());
    ca = await initializeCA(p256(), ctlog);
    tlog = await initializeTLog('https://rekor.test', p256());
    tsa = await initializeTSA(p256());
    rogueTsa = await initializeTSA(p256());
    root = mockTrustedRoot({ tlog, ca, ctlog, tsa });
  });

  async function signer() {
    const ephemeral = p256();
    const cert = await ca.issueCertificate({
      publicKey: new Uint8Array(spki(ephemeral.publicKey)),
      subjectAltName: EMAIL,
      extensions: [{ oid: '1.3.6.1.4.1.57264.1.8', value: ISSUER }],
    });
    return { ephemeral, certPem: pemOf(cert) };
  }

  describe('keyless .sig layers (timestamp over the raw signature)', () => {
    const digest = `sha256:${sha256('the chart manifest').toString('hex')}`;

    async function layer(opts: { tsa?: TSA | false; covered?: 'signature' | 'payload' } = {}) {
      const { ephemeral, certPem } = await signer();
      const payload = simpleSigningPayload(REPO, digest);
      const sig = keyObjectSigner(ephemeral.privateKey);
      const signature = await sig.sign(payload);
      const annotations: Record<string, string> = { [SIG]: b64(signature), [CERT]: certPem, [CHAIN]: '' };
      if (opts.tsa !== false)
        annotations[TS] = await timestamp(opts.tsa ?? tsa, opts.covered === 'payload' ? payload : signature);
      return { payload, annotations, subjectDigest: digest, signature, certPem };
    }
    const later = new Date(Date.now() + DAY); // the 10-minute certificate has expired by then
    const trust = (over: Partial<LegacyKeylessTrust> = {}): LegacyKeylessTrust => ({
      identities: [IDENTITY],
      trustedRoot: root,
      tlog: 'skip',
      now: later,
      ...over,
    });

    it('a verified timestamp is the time the certificate is checked at (no Rekor entry, tlog skipped)', async () => {
      const input = await layer();
      const r = verifyLegacyKeylessLayer(input, trust());
      expect(r.reason).toBeUndefined();
      expect(r).toMatchObject({ verified: true, tsa: 'verified', tlog: 'not-checked', sct: 'verified' });
      expect(r.time?.source).toBe('timestamp-authority');
      expect(Math.abs(new Date(r.time!.time).getTime() - Date.now())).toBeLessThan(60_000);
      // Without the annotation the same layer has no verified time and fails at `now` (unchanged).
      const { [TS]: _, ...bare } = input.annotations;
      const without = verifyLegacyKeylessLayer({ ...input, annotations: bare }, trust());
      expect(without).toMatchObject({ verified: false, tsa: 'not-checked' });
      expect(without.reason).toMatch(/cannot be established without a verified time/);
      expect(
        verifyLegacyKeylessLayer({ ...input, annotations: bare }, trust({ now: new Date() })).time,
      ).toEqual(expect.objectContaining({ source: 'current-time' }));
    });

    it('fails for a timestamp over other bytes, from an untrusted TSA, without TSAs, or malformed', async () => {
      const overPayload = await layer({ covered: 'payload' });
      expect(verifyLegacyKeylessLayer(overPayload, trust()).reason).toMatch(
        /^RFC 3161 timestamp: TIMESTAMP_ERROR/,
      );
      const rogue = await layer({ tsa: rogueTsa });
      expect(verifyLegacyKeylessLayer(rogue, trust()).reason).toMatch(/^RFC 3161 timestamp: TIMESTAMP_ERROR/);
      // Once present it must verify: with the current time (certificate still valid) too.
      expect(verifyLegacyKeylessLayer(rogue, trust({ now: new Date() })).verified).toBe(false);
      const good = await layer();
      const noTsa = mockTrustedRoot({ tlog, ca, ctlog });
      expect(verifyLegacyKeylessLayer(good, trust({ trustedRoot: noTsa })).reason).toMatch(
        /RFC 3161 timestamp/,
      );
      for (const bad of ['nope', '{}', '{"SignedRFC3161Timestamp":"AAAA"}'])
        expect(
          verifyLegacyKeylessLayer({ ...good, annotations: { ...good.annotations, [TS]: bad } }, trust())
            .reason,
        ).toMatch(/^RFC 3161 timestamp: /);
      // A timestamp for another signature does not transfer.
      const other = await layer();
      expect(
        verifyLegacyKeylessLayer(
          { ...good, annotations: { ...good.annotations, [TS]: other.annotations[TS]! } },
          trust(),
        ).reason,
      ).toMatch(/TIMESTAMP_ERROR/);
    });

    it('a certificate not valid at the timestamp fails', async () => {
      const late = await initializeTSA(p256(), safeClock(3_600_000));
      const input = await layer({ tsa: late });
      const r = verifyLegacyKeylessLayer(
        input,
        trust({ trustedRoot: mockTrustedRoot({ tlog, ca, ctlog, tsa: late }) }),
      );
      expect(r.reason).toMatch(/certificate: not valid at the RFC 3161 timestamp/);
    });

    it('with a Rekor entry too, the certificate is checked at both verified times', async () => {
      const input = await layer();
      const body = {
        apiVersion: '0.0.1',
        kind: 'hashedrekord',
        spec: {
          data: { hash: { algorithm: 'sha256', value: sha256(input.payload).toString('hex') } },
          signature: {
            content: input.annotations[SIG],
            publicKey: { content: Buffer.from(input.certPem).toString('base64') },
          },
        },
      };
      input.annotations[BUNDLE] = await rekorAnnotation(tlog, body);
      const r = verifyLegacyKeylessLayer(input, trust({ tlog: 'require' }));
      expect(r.reason).toBeUndefined();
      expect(r).toMatchObject({ verified: true, tlog: 'verified', tsa: 'verified' });
      expect(r.times?.map((t) => t.source)).toEqual(['transparency-log', 'timestamp-authority']);
    });

    it('through the registry: tlog modes are unchanged', async () => {
      const input = await layer();
      const { repo: repoOf, store: storeOf } = memoryFixture();
      const store = storeOf('signed');
      const desc: Descriptor = {
        mediaType: MediaType.CosignSimpleSigning,
        digest: digestOf(input.payload),
        size: input.payload.byteLength,
        annotations: input.annotations,
      };
      await store.push(desc, input.payload);
      const built = buildSignatureManifest([desc]);
      await store.push(built.configDescriptor, built.config);
      await store.push(built.descriptor, built.bytes);
      await store.tag(built.descriptor, cosignSignatureTag(digest));
      const repo = repoOf('signed');
      const ok = await verifyLegacyKeylessSignatures(repo, digest, trust({ tlog: 'if-present' }));
      expect(ok.layers[0]).toMatchObject({ verified: true, tsa: 'verified', rfc3161Timestamp: true });
      await expect(verifyLegacyKeylessSignatures(repo, digest, trust({ tlog: 'require' }))).rejects.toThrow(
        /no Rekor bundle annotation/,
      );
    });
  });

  describe('.att layers (timestamp over the envelope bytes)', () => {
    /** The fixture with a chart pushed to `charts/app` and an SPDX statement about it. */
    async function pushedChart() {
      const { client, app: repo } = memoryFixture();
      const subject = await pushTestChart(repo);
      const statement = inTotoStatement([{ name: REPO, digest: { sha256: subject.digest.slice(7) } }], SPDX, {
        spdxVersion: 'SPDX-2.3',
      });
      return { client, repo, subject, statement };
    }
    const verifySpdx = (client: RegistryClient, policy: VerificationPolicy) =>
      verifyChartAttestations(client, `${REPO}:1.0.0`, { policy, predicateType: 'spdx' });

    it('keyless with only a TSA timestamp verifies (tlog skipped); a forged one fails', async () => {
      const { client, repo, subject, statement } = await pushedChart();
      const { ephemeral, certPem } = await signer();
      const envelope = await createDsseEnvelope(statement, keyObjectSigner(ephemeral.privateKey));
      const annotations = { [CERT]: certPem, [CHAIN]: '', [TS]: await timestamp(tsa, envelope) };
      await attachLegacyAttestation(repo, subject, envelope, { predicateType: SPDX, annotations });

      const policy: VerificationPolicy = { identities: [IDENTITY], trustedRoot: root, tlog: 'skip' };
      const got = await verifySpdx(client, policy);
      expect(got.attestations[0]).toMatchObject({
        format: 'legacy',
        tlog: 'not-checked',
        signer: { kind: 'certificate', subject: EMAIL, issuer: ISSUER },
        checks: [CHECKS.claims, CHECKS.certificate],
      });
      const direct = verifyLegacyAttestationLayer(
        { envelope, annotations },
        { digest: subject.digest, policy },
      );
      expect(direct.timestamps.map((t) => t.kind)).toEqual(['timestamp-authority']);
      expect(direct.statement?.predicateType).toBe(SPDX);
      // The statement is still checked: another digest fails.
      await expectChartproofError(
        Promise.resolve().then(() =>
          verifyLegacyAttestationLayer(
            { envelope, annotations },
            { digest: `sha256:${'0'.repeat(64)}`, policy },
          ),
        ),
        'SIGNATURE_INVALID',
        /no in-toto subject/,
      );
      // Default tlog mode: still requires the Rekor annotation.
      const reason = async (p: VerificationPolicy, ann = annotations) =>
        (
          (await expectChartproofError(
            Promise.resolve().then(() =>
              verifyLegacyAttestationLayer(
                { envelope, annotations: ann },
                { digest: subject.digest, policy: p },
              ),
            ),
            'SIGNATURE_INVALID',
          )) as AttestationVerificationError
        ).message;
      expect(await reason({ ...policy, tlog: 'require' })).toMatch(/no Rekor bundle annotation/);
      // Over the DSSE signature (the new bundle format's choice), not the envelope: fails.
      const sigBytes = Buffer.from(parseDsseEnvelope(envelope).signatures[0]!.sig, 'base64');
      expect(await reason(policy, { ...annotations, [TS]: await timestamp(tsa, sigBytes) })).toMatch(
        /TIMESTAMP_ERROR/,
      );
      expect(await reason(policy, { ...annotations, [TS]: await timestamp(rogueTsa, envelope) })).toMatch(
        /TIMESTAMP_ERROR/,
      );
      expect(await reason({ ...policy, identities: [{ ...IDENTITY, subject: 'x@y.z' }] })).toMatch(
        /identity not trusted/,
      );
      // The timestamp covers the exact bytes: a parsed envelope cannot be checked.
      await expectChartproofError(
        Promise.resolve().then(() =>
          verifyLegacyAttestationLayer(
            { envelope: parseDsseEnvelope(envelope), annotations },
            { digest: subject.digest, policy },
          ),
        ),
        'SIGNATURE_INVALID',
        /pass the envelope as bytes/,
      );
    });

    it('keyless with a Rekor dsse entry and a timestamp: both times verified', async () => {
      const { subject, statement } = await pushedChart();
      const { ephemeral, certPem } = await signer();
      const envelope = await createDsseEnvelope(statement, keyObjectSigner(ephemeral.privateKey));
      const env = parseDsseEnvelope(envelope);
      const body = {
        apiVersion: '0.0.1',
        kind: 'dsse',
        spec: {
          envelopeHash: { algorithm: 'sha256', value: sha256(envelope).toString('hex') },
          payloadHash: {
            algorithm: 'sha256',
            value: sha256(Buffer.from(env.payload, 'base64')).toString('hex'),
          },
          signatures: [
            { signature: env.signatures[0]!.sig, verifier: Buffer.from(certPem).toString('base64') },
          ],
        },
      };
      const annotations = {
        [CERT]: certPem,
        [CHAIN]: '',
        [BUNDLE]: await rekorAnnotation(tlog, body),
        [TS]: await timestamp(tsa, envelope),
      };
      const v = verifyLegacyAttestationLayer(
        { envelope, annotations },
        { digest: subject.digest, policy: { identities: [IDENTITY], trustedRoot: root } },
      );
      expect(v.timestamps.map((t) => t.kind)).toEqual(['transparency-log', 'timestamp-authority']);
      expect(v.tlogEntries).toBe(1);
      expect(v.checks).toEqual([CHECKS.claims, CHECKS.tlogOffline, CHECKS.certificate]);
    });

    it('key-signed: the timestamp is verified when present (and needs a trusted root)', async () => {
      const { subject, statement } = await pushedChart();
      const key = p256();
      const envelope = await createDsseEnvelope(statement, keyObjectSigner(key.privateKey));
      const keys = [key.publicKey];
      const annotations = { [TS]: await timestamp(tsa, envelope) };
      const v = verifyLegacyAttestationLayer(
        { envelope, annotations },
        { digest: subject.digest, policy: { keys, trustedRoot: root, tlog: 'skip' } },
      );
      expect(v.signer.kind).toBe('key');
      expect(v.timestamps.map((t) => t.kind)).toEqual(['timestamp-authority']);
      const run = (policy: VerificationPolicy, ann: Record<string, string>) =>
        Promise.resolve().then(() =>
          verifyLegacyAttestationLayer({ envelope, annotations: ann }, { digest: subject.digest, policy }),
        );
      await expectChartproofError(
        run({ keys, trustedRoot: root, tlog: 'skip' }, { [TS]: await timestamp(rogueTsa, envelope) }),
        'SIGNATURE_INVALID',
        /RFC 3161 timestamp: TIMESTAMP_ERROR/,
      );
      await expectChartproofError(
        run({ keys, tlog: 'skip' }, annotations),
        'SIGNATURE_INVALID',
        /no trusted root with timestamp authorities/,
      );
      // Without the annotation nothing changes: no trusted root needed with tlog skip.
      expect((await run({ keys, tlog: 'skip' }, {})).timestamps).toEqual([]);
    });
  });
});
