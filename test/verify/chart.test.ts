import { describe, expect, it } from 'vitest';
import { pushChart } from '../../src/chart/oci.js';
import { SLSA_PROVENANCE_V1_PREDICATE_TYPE } from '../../src/cosign/predicates.js';
import { attestChart } from '../../src/sign/attest.js';
import { generateKeyPair, keyFileSigner } from '../../src/keys/keys.js';
import { signLegacy } from '../../src/sign/legacy.js';
import { signBundle } from '../../src/sign/referrer.js';
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
