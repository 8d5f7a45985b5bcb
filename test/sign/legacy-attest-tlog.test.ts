/**
 * Legacy attestations with transparency-log evidence and keyless certificates: the layer
 * annotations cosign v2 writes (`dev.sigstore.cosign/bundle` with a Rekor `intoto` 0.0.2
 * or `dsse` 0.0.1 entry, `dev.sigstore.cosign/certificate` / `…/chain`), produced with
 * @sigstore/mock's CA, CT log and transparency log, and verified offline against a
 * trusted root built from them.
 */
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { initializeCA, initializeCTLog, initializeTLog } from '@sigstore/mock';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RegistryClient } from '../../src/oci/index.js';
import { keyObjectSigner } from '../../src/keys/keys.js';
import {
  attachLegacyAttestation,
  createDsseEnvelope,
  parseDsseEnvelope,
} from '../../src/sign/legacy-attest.js';
import { inTotoStatement } from '../../src/cosign/statement.js';
import { type AttestationVerificationError, verifyChartAttestations } from '../../src/verify/attestation.js';
import type { TrustedRootJson, VerificationPolicy } from '../../src/verify/policy.js';
import { expectChartproofError } from '../helpers/expect-error.js';
import { memoryFixture, pushTestChart, TEST_HOST } from '../helpers/registry.js';
import { b64, type CA, mockTrustedRoot, rekorAnnotation, type TLog } from '../helpers/sigstore-mock.js';

const REPO = `${TEST_HOST}/charts/app`;
const SPDX = 'https://spdx.dev/Document';
const EMAIL = 'release@example.com';
const ISSUER = 'https://issuer.test';
const BUNDLE = 'dev.sigstore.cosign/bundle';
const CERT = 'dev.sigstore.cosign/certificate';
const CHAIN = 'dev.sigstore.cosign/chain';
const spdx = { spdxVersion: 'SPDX-2.3', SPDXID: 'SPDXRef-DOCUMENT', name: 'app-1.0.0' };

const p256 = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const pem = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }).toString();

/** The canonical Rekor body cosign's upload produces for a DSSE envelope. */
function rekorBody(kind: 'dsse' | 'intoto' | 'hashedrekord', envelope: Uint8Array, verifierPem: string) {
  const env = parseDsseEnvelope(envelope);
  const sig = env.signatures[0]!.sig;
  const payloadHash = { algorithm: 'sha256', value: sha256(Buffer.from(env.payload, 'base64')) };
  const verifier = Buffer.from(verifierPem).toString('base64');
  if (kind === 'dsse')
    return {
      apiVersion: '0.0.1',
      kind,
      spec: {
        envelopeHash: { algorithm: 'sha256', value: sha256(envelope) },
        payloadHash,
        signatures: [{ signature: sig, verifier }],
      },
    };
  if (kind === 'intoto')
    return {
      apiVersion: '0.0.2',
      kind,
      spec: {
        content: {
          envelope: {
            payloadType: env.payloadType,
            signatures: [{ publicKey: verifier, sig: Buffer.from(sig).toString('base64') }],
          },
          hash: { algorithm: 'sha256', value: sha256(envelope) },
          payloadHash,
        },
      },
    };
  return {
    apiVersion: '0.0.1',
    kind,
    spec: {
      data: { hash: payloadHash },
      signature: { content: sig, publicKey: { content: verifier } },
    },
  };
}

/** The fixture with a chart pushed to `charts/app` and an SPDX statement about it. */
async function pushedChart() {
  const { client, app: repo } = memoryFixture();
  const subject = await pushTestChart(repo);
  const statement = inTotoStatement(
    [{ name: REPO, digest: { sha256: subject.digest.slice(7) } }],
    SPDX,
    spdx,
  );
  return { client, repo, subject, statement };
}

describe('legacy attestations with Rekor evidence and certificates', () => {
  let ca: CA;
  let tlog: TLog;
  let root: TrustedRootJson;
  let otherRoot: TrustedRootJson;

  beforeAll(async () => {
    const ctlog = await initializeCTLog(p256());
    ca = await initializeCA(p256(), ctlog);
    tlog = await initializeTLog('https://rekor.test', p256());
    root = mockTrustedRoot({ tlog, ca, ctlog });
    otherRoot = mockTrustedRoot({
      tlog: { publicKey: p256().publicKey.export({ type: 'spki', format: 'der' }) },
      ca,
      ctlog,
    });
  });

  const verifySpdx = (client: RegistryClient, policy: VerificationPolicy) =>
    verifyChartAttestations(client, `${REPO}:1.0.0`, { policy, predicateType: 'spdx' });

  for (const kind of ['dsse', 'intoto'] as const) {
    it(`key-signed, with a Rekor ${kind} entry: the SET and the entry are verified offline`, async () => {
      const { client, repo, subject, statement } = await pushedChart();
      const key = p256();
      const envelope = await createDsseEnvelope(statement, keyObjectSigner(key.privateKey));
      const bundle = await rekorAnnotation(tlog, rekorBody(kind, envelope, pem(key.publicKey)));
      await attachLegacyAttestation(repo, subject, envelope, {
        predicateType: SPDX,
        annotations: { [BUNDLE]: bundle },
      });

      const policy: VerificationPolicy = { keys: [pem(key.publicKey)], trustedRoot: root };
      const got = await verifySpdx(client, policy);
      expect(got.format).toBe('legacy');
      expect(got.attestations[0]).toMatchObject({ tlog: 'verified', signer: { kind: 'key' } });
      expect(got.checks).toContain('Existence of the claims in the transparency log was verified offline');
      // skip: the evidence is ignored and not claimed.
      const skipped = await verifySpdx(client, { ...policy, tlog: 'skip' });
      expect(skipped.attestations[0]!.tlog).toBe('not-checked');
      expect(skipped.checks).not.toContain(
        'Existence of the claims in the transparency log was verified offline',
      );
      // A log key outside the trusted root does not count.
      const err = (await expectChartproofError(
        verifySpdx(client, { ...policy, trustedRoot: otherRoot }),
        'SIGNATURE_INVALID',
      )) as AttestationVerificationError;
      expect(err.rejected[0]!.reason).toMatch(/inclusion promise could not be verified/);
    });
  }

  it('fails when the logged entry records another signature, or is not a DSSE entry kind', async () => {
    const { client, repo, subject, statement } = await pushedChart();
    const key = p256();
    const signer = keyObjectSigner(key.privateKey);
    const envelope = await createDsseEnvelope(statement, signer);
    const another = await createDsseEnvelope(statement, signer); // ECDSA: another signature
    const wrong = await rekorAnnotation(tlog, rekorBody('dsse', another, pem(key.publicKey)));
    await attachLegacyAttestation(repo, subject, envelope, {
      predicateType: SPDX,
      annotations: { [BUNDLE]: wrong },
    });
    const policy: VerificationPolicy = { keys: [pem(key.publicKey)], trustedRoot: root };
    const e1 = (await expectChartproofError(
      verifySpdx(client, policy),
      'SIGNATURE_INVALID',
    )) as AttestationVerificationError;
    expect(e1.rejected[0]!.reason).toMatch(/signature mismatch/);

    const hashed = await rekorAnnotation(tlog, rekorBody('hashedrekord', envelope, pem(key.publicKey)));
    const other = await pushedChart();
    const env2 = await createDsseEnvelope(other.statement, signer);
    await attachLegacyAttestation(other.repo, other.subject, env2, {
      predicateType: SPDX,
      annotations: { [BUNDLE]: hashed },
    });
    const e2 = (await expectChartproofError(
      verifySpdx(other.client, policy),
      'SIGNATURE_INVALID',
    )) as AttestationVerificationError;
    expect(e2.rejected[0]!.reason).toMatch(/hashedrekord entry does not record a DSSE envelope/);
  });

  it('keyless: certificate chain, SCT, identity and validity at the integrated time', async () => {
    const { client, repo, subject, statement } = await pushedChart();
    const ephemeral = p256();
    const cert = await ca.issueCertificate({
      publicKey: new Uint8Array(ephemeral.publicKey.export({ type: 'spki', format: 'der' })),
      subjectAltName: EMAIL,
      extensions: [{ oid: '1.3.6.1.4.1.57264.1.8', value: ISSUER }],
    });
    const certPem = `-----BEGIN CERTIFICATE-----\n${b64(cert).replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
    const envelope = await createDsseEnvelope(statement, keyObjectSigner(ephemeral.privateKey));
    const bundle = await rekorAnnotation(tlog, rekorBody('dsse', envelope, certPem));
    await attachLegacyAttestation(repo, subject, envelope, {
      predicateType: SPDX,
      annotations: { [CERT]: certPem, [CHAIN]: '', [BUNDLE]: bundle },
    });

    const identity = { subject: EMAIL, issuer: ISSUER };
    const got = await verifySpdx(client, { identities: [identity], trustedRoot: root });
    expect(got.attestations[0]).toMatchObject({
      format: 'legacy',
      tlog: 'verified',
      signer: { kind: 'certificate', subject: EMAIL, issuer: ISSUER },
    });
    expect(got.checks).toContain(
      'The code-signing certificate was verified using trusted certificate authority certificates',
    );

    const reason = async (policy: VerificationPolicy) =>
      (
        (await expectChartproofError(
          verifySpdx(client, policy),
          'SIGNATURE_INVALID',
        )) as AttestationVerificationError
      ).rejected[0]!.reason;
    expect(
      await reason({ identities: [{ ...identity, subject: 'mallory@example.com' }], trustedRoot: root }),
    ).toMatch(/certificate identity not trusted/);
    // Without the log there is no verified time for a short-lived certificate.
    expect(await reason({ identities: [identity], trustedRoot: root, tlog: 'skip' })).toMatch(/timestamp/);
    expect(await reason({ keys: [pem(p256().publicKey)], tlog: 'skip' })).toMatch(
      /signed with a certificate, but the policy names no certificate identities/,
    );
  });
});
