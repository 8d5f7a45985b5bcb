/**
 * A keyless signature counts once against the threshold, however its
 * certificate is re-encoded. The CA's ECDSA signature on a certificate is malleable
 * ((r, s) → (r, n − s) verifies too), so anyone who can push to the registry can turn one
 * keyless bundle into a second one with a different certificate DER but the same
 * certificate (same TBS, same key, same SCT), the same Rekor entry (which does not record
 * the certificate's bytes for `dsse` entries) and the same statement. Counting
 * signatures by the hash of the certificate DER counted that copy as a second signer.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { inTotoStatement } from '../../src/cosign/statement.js';
import type { SigstoreBundleJson } from '../../src/cosign/dsse.js';
import { utf8Bytes } from '../../src/internal/encoding/go-json.js';
import { createKeylessDsseBundle, signBundleKeyless } from '../../src/sign/keyless.js';
import { attachBundle } from '../../src/sign/referrer.js';
import { AttestationVerificationError, verifyChartAttestations } from '../../src/verify/attestation.js';
import { verifySigstoreBundle } from '../../src/verify/bundle.js';
import { ChartVerificationError, verifyChart } from '../../src/verify/chart.js';
import type { TrustedRootJson, VerificationPolicy } from '../../src/verify/policy.js';
import { jwt, mockSigstoreServices } from '../helpers/sigstore-mock.js';
import { memoryFixture, pushTestChart, TEST_HOST } from '../helpers/registry.js';

const FULCIO = 'https://fulcio.test';
const REKOR = 'https://rekor.test';
const ISSUER = 'https://issuer.test';
const EMAIL = 'alice@example.com';
const SLSA_V1 = 'https://slsa.dev/provenance/v1';
const TOKEN = jwt({ iss: ISSUER, sub: EMAIL, email: EMAIL, email_verified: true, aud: 'sigstore' });
const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

// Minimal DER helpers (definite lengths).
function tlv(buf: Buffer, at: number): { tag: number; body: number; end: number } {
  const tag = buf[at]!;
  let len = buf[at + 1]!;
  let body = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[body + i]!;
    body += n;
  }
  return { tag, body, end: body + len };
}
function enc(tag: number, content: Buffer): Buffer {
  const n = content.length;
  if (n < 0x80) return Buffer.concat([Buffer.from([tag, n]), content]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.concat([Buffer.from([tag, 0x80 | bytes.length, ...bytes]), content]);
}
function intDer(v: bigint): Buffer {
  let hex = v.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let b = Buffer.from(hex, 'hex');
  if (b[0]! & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return enc(0x02, b);
}

/** The certificate with its CA signature (r, s) rewritten as (r, n − s): still valid, other DER. */
function malleateCertificate(der: Buffer): Buffer {
  const outer = tlv(der, 0);
  const tbs = tlv(der, outer.body);
  const alg = tlv(der, tbs.end);
  const bits = tlv(der, alg.end);
  const sig = tlv(der, bits.body + 1);
  const r = tlv(der, sig.body);
  const s = tlv(der, r.end);
  const sValue = BigInt(`0x${der.subarray(s.body, s.end).toString('hex')}`);
  const newSig = enc(0x30, Buffer.concat([der.subarray(r.body - 2, r.end), intDer(P256_N - sValue)]));
  const newBits = enc(0x03, Buffer.concat([Buffer.from([0]), newSig]));
  return enc(0x30, Buffer.concat([der.subarray(outer.body, alg.end), newBits]));
}

function malleateBundle(bundle: SigstoreBundleJson): SigstoreBundleJson {
  const copy = structuredClone(bundle);
  const vm = copy.verificationMaterial;
  const slot = vm.certificate ?? vm.x509CertificateChain?.certificates[0];
  if (!slot) throw new Error('no certificate in the bundle');
  const mutated = malleateCertificate(Buffer.from(slot.rawBytes, 'base64'));
  expect(mutated.equals(Buffer.from(slot.rawBytes, 'base64'))).toBe(false);
  slot.rawBytes = mutated.toString('base64');
  return copy;
}

describe('keyless threshold counting', () => {
  let root: TrustedRootJson;
  const policy = (threshold: number): VerificationPolicy => ({
    identities: [{ subject: EMAIL, issuer: ISSUER }],
    trustedRoot: root,
    threshold,
  });

  const services = mockSigstoreServices(FULCIO, REKOR);
  beforeAll(() => {
    ({ root } = services());
  });

  it('a keyless attestation with a re-encoded certificate is a copy, not a second attestation', async () => {
    const { client, app: repo } = memoryFixture({ retries: 'fast' });
    const subject = await pushTestChart(repo);
    const statement = inTotoStatement(
      [{ digest: { sha256: subject.digest.slice('sha256:'.length) } }],
      SLSA_V1,
      { buildDefinition: { buildType: 'https://example.com/helm/v1' } },
    );
    const signed = await createKeylessDsseBundle(statement, {
      identityToken: TOKEN,
      fulcioURL: FULCIO,
      rekorURL: REKOR,
    });
    const forged = malleateBundle(signed.bundle);
    // The re-encoded copy verifies on its own: it is the same signature.
    expect(verifySigstoreBundle(forged, { digest: subject.digest, policy: policy(1) }).verified).toBe(true);
    await attachBundle(repo, subject, utf8Bytes(JSON.stringify(signed.bundle)), { predicateType: SLSA_V1 });
    await attachBundle(repo, subject, utf8Bytes(JSON.stringify(forged)), { predicateType: SLSA_V1 });

    const ref = `${TEST_HOST}/charts/app:1.0.0`;
    const one = await verifyChartAttestations(client, ref, { policy: policy(1), predicateType: SLSA_V1 });
    expect(one.attestations).toHaveLength(1);
    const err = await verifyChartAttestations(client, ref, {
      policy: policy(2),
      predicateType: SLSA_V1,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(AttestationVerificationError);
    expect(err.code).toBe('SIGNATURE_INVALID');
    expect(err.rejected.map((r: { reason: string }) => r.reason)).toEqual([
      expect.stringMatching(/a copy of the attestation/),
    ]);
  });

  it('a keyless signature with a re-encoded certificate is a copy, not a second signature', async () => {
    const { client, app: repo } = memoryFixture({ retries: 'fast' });
    const subject = await pushTestChart(repo);
    const signed = await signBundleKeyless(repo, subject, {
      identityToken: TOKEN,
      fulcioURL: FULCIO,
      rekorURL: REKOR,
    });
    await attachBundle(repo, subject, utf8Bytes(JSON.stringify(malleateBundle(signed.bundle))), {
      predicateType: 'https://sigstore.dev/cosign/sign/v1',
    });
    const ref = `${TEST_HOST}/charts/app:1.0.0`;
    expect((await verifyChart(client, ref, { policy: policy(1) })).verified).toBe(1);
    const err = await verifyChart(client, ref, { policy: policy(2) }).catch((e) => e);
    expect(err).toBeInstanceOf(ChartVerificationError);
    expect(err.code).toBe('SIGNATURE_INVALID');
  });
});
