import { describe, expect, it } from 'vitest';
import { pushChart } from '../../src/chart/oci.js';
import { SLSA_PROVENANCE_V1_PREDICATE_TYPE } from '../../src/cosign/predicates.js';
import { attestChart } from '../../src/sign/attest.js';
import { generateKeyPair, keyFileSigner } from '../../src/keys/keys.js';
import { signLegacy } from '../../src/sign/legacy.js';
import { attachBundle, signBundle } from '../../src/sign/referrer.js';
import { buildSignatureManifest } from '../../src/sign/legacy.js';
import { cosignSignatureTag } from '../../src/cosign/simplesigning.js';
import type { Descriptor } from '../../src/oci/index.js';
import { ChartVerificationError, verifyChart } from '../../src/verify/chart.js';
import { makeChartArchive } from '../helpers/chart-repo.js';
import { memoryFixture, TEST_HOST } from '../helpers/registry.js';

/** The fixture with chart app 1.0.0 (a Helm archive) pushed to `charts/app`, and a key pair. */
async function pushedChart() {
  const { client, app: repo } = memoryFixture();
  const archive = await makeChartArchive('app', '1.0.0');
  const pushed = await pushChart(
    client,
    archive,
    { name: 'app', version: '1.0.0', apiVersion: 'v2' },
    `oci://${TEST_HOST}/charts`,
  );
  const subject = await repo.resolve('1.0.0');
  const keys = await generateKeyPair({ password: '' });
  const signer = await keyFileSigner(keys.privateKeyPem, '');
  return { client, repo, subject, keys, signer, pushed };
}

/** The same ECDSA P-256 signature as (r, n - s): valid too, made without the key. */
function highS(der: Uint8Array): Uint8Array {
  const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
  const b = Buffer.from(der);
  const rLen = b[3]!;
  const r = b.subarray(4, 4 + rLen);
  const s = BigInt(`0x${b.subarray(6 + rLen).toString('hex')}`);
  let hex = (n - s).toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  if (Number.parseInt(hex.slice(0, 2), 16) >= 0x80) hex = `00${hex}`;
  const s2 = Buffer.from(hex, 'hex');
  const body = Buffer.concat([Buffer.from([0x02, r.length]), r, Buffer.from([0x02, s2.length]), s2]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

const failure = async (p: Promise<unknown>): Promise<ChartVerificationError> => {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ChartVerificationError);
    return e as ChartVerificationError;
  }
  throw new Error('expected a ChartVerificationError');
};

describe('verifyChart', () => {
  it('an attestation signed with the key is not a signature', async () => {
    const { client, repo, subject, keys, signer } = await pushedChart();
    await attestChart(repo, subject, signer, {
      predicateType: SLSA_PROVENANCE_V1_PREDICATE_TYPE,
      predicate: { buildDefinition: { buildType: 'x' } },
    });
    const policy = { keys: [keys.publicKeyPem], tlog: 'skip' as const };
    const err = await failure(verifyChart(client, 'registry.test/charts/app:1.0.0', { policy }));
    expect(err.code).toBe('SIGNATURE_INVALID');
    expect(err.signatures[0]!.reason).toBe(
      `an attestation (${SLSA_PROVENANCE_V1_PREDICATE_TYPE}), not a signature`,
    );
    await signBundle(repo, subject, signer);
    const ok = await verifyChart(client, 'registry.test/charts/app:1.0.0', { policy });
    expect(ok.verified).toBe(1);
    expect(ok.signatures.map((s) => s.verified).sort()).toEqual([false, true]);
  });

  it('threshold: two keys required; one format must carry both', async () => {
    const { client, repo, subject, keys, signer } = await pushedChart();
    const second = await generateKeyPair({ password: '' });
    const secondSigner = await keyFileSigner(second.privateKeyPem, '');
    const policy = { keys: [keys.publicKeyPem, second.publicKeyPem], tlog: 'skip' as const, threshold: 2 };
    await signBundle(repo, subject, signer);
    await signLegacy(repo, subject, secondSigner);
    // One bundle and one legacy signature: neither format reaches 2.
    const err = await failure(verifyChart(client, 'registry.test/charts/app:1.0.0', { policy }));
    expect(err.message).toMatch(/the policy requires 2/);
    await signBundle(repo, subject, secondSigner);
    const ok = await verifyChart(client, 'registry.test/charts/app:1.0.0', { policy });
    expect(ok).toMatchObject({ format: 'bundle', verified: 2 });
  });

  it('threshold: a copy of a signature is not another signature', async () => {
    const { client, repo, subject, keys, signer } = await pushedChart();
    const ref = 'registry.test/charts/app:1.0.0';
    const policy = { keys: [keys.publicKeyPem], tlog: 'skip' as const, threshold: 2 };
    // Push access, no key: the one bundle attached again as a second referrer, and again
    // with its ECDSA signature rewritten as (r, n-s), which verifies as well.
    const signed = await signBundle(repo, subject, signer);
    await attachBundle(repo, subject, signed.bundle, {
      predicateType: 'https://sigstore.dev/cosign/sign/v1',
      created: '2020-01-01T00:00:00Z',
    });
    const sig = signed.bundle.dsseEnvelope!.signatures[0]!;
    const malleated = {
      ...signed.bundle,
      dsseEnvelope: {
        ...signed.bundle.dsseEnvelope!,
        signatures: [{ ...sig, sig: Buffer.from(highS(Buffer.from(sig.sig, 'base64'))).toString('base64') }],
      },
    };
    await attachBundle(repo, subject, malleated, { predicateType: 'https://sigstore.dev/cosign/sign/v1' });
    const err = await failure(verifyChart(client, ref, { policy, formats: ['bundle'] }));
    expect(err.message).toMatch(/1 signature\(s\) verified, the policy requires 2/);
    expect(err.signatures.filter((s) => s.verified)).toHaveLength(1);
    expect(
      err.signatures.filter((s) => /a copy of the signature in sha256:/.test(s.reason ?? '')),
    ).toHaveLength(2);
    expect(
      (await verifyChart(client, ref, { policy: { ...policy, threshold: 1 }, formats: ['bundle'] })).verified,
    ).toBe(1);

    // Legacy: the one simple-signing layer listed twice, and once more malleated.
    const legacy = await signLegacy(repo, subject, signer);
    const layer: Descriptor = {
      mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
      digest: legacy.payloadDigest,
      size: legacy.payload.byteLength,
      annotations: { 'dev.cosignproject.cosign/signature': legacy.signature },
    };
    const flipped = Buffer.from(highS(Buffer.from(legacy.signature, 'base64'))).toString('base64');
    const built = buildSignatureManifest([
      layer,
      layer,
      { ...layer, annotations: { 'dev.cosignproject.cosign/signature': flipped } },
    ]);
    await repo.push(built.configDescriptor, built.config);
    await repo.push(built.descriptor, built.bytes);
    await repo.tag(built.descriptor, cosignSignatureTag(subject.digest));
    const legacyErr = await failure(verifyChart(client, ref, { policy, formats: ['legacy'] }));
    expect(legacyErr.signatures.map((s) => s.verified)).toEqual([true, false, false]);
    for (const s of legacyErr.signatures.slice(1))
      expect(s.reason).toBe('a copy of the signature in layer 0');

    // Two keys over the same content are two signatures.
    const second = await generateKeyPair({ password: '' });
    await signBundle(repo, subject, await keyFileSigner(second.privateKeyPem, ''));
    const two = await verifyChart(client, ref, {
      policy: { ...policy, keys: [keys.publicKeyPem, second.publicKeyPem] },
    });
    expect(two).toMatchObject({ format: 'bundle', verified: 2 });
  });

  it('formats restrict what is tried; no signature at all is SIGNATURE_NOT_FOUND', async () => {
    const { client, repo, subject, keys, signer, pushed } = await pushedChart();
    const policy = { keys: [keys.publicKeyPem], tlog: 'skip' as const };
    const none = await failure(verifyChart(client, `oci://registry.test/charts/app:1.0.0`, { policy }));
    expect(none.code).toBe('SIGNATURE_NOT_FOUND');
    expect(none.pinned).toBe(pushed.pinned);
    await signLegacy(repo, subject, signer);
    expect((await verifyChart(client, 'registry.test/charts/app:1.0.0', { policy })).format).toBe('legacy');
    const bundleOnly = await failure(
      verifyChart(client, 'registry.test/charts/app:1.0.0', { policy, formats: ['bundle'] }),
    );
    expect(bundleOnly.code).toBe('SIGNATURE_NOT_FOUND');
  });
});
