import { beforeAll, describe, expect, it } from 'vitest';
import { ChartproofError } from '../../src/errors.js';
import { generateKeyPair, keyFileSigner } from '../../src/keys/keys.js';
import type { Signer } from '../../src/keys/signer.js';
import { signLegacy } from '../../src/sign/legacy.js';
import { signBundle } from '../../src/sign/referrer.js';
import { MAX_IMAGES_PER_CHART, verifyImages } from '../../src/verify/images.js';
import type { VerificationPolicy } from '../../src/verify/policy.js';
import { imageIndex, pushAll } from '../helpers/content.js';
import { expectChartproofError } from '../helpers/expect-error.js';
import { appRef, memoryFixture, seedImage } from '../helpers/registry.js';

const ref = appRef;

describe('verifyImages', () => {
  let policy: VerificationPolicy;
  let signer: Signer;

  beforeAll(async () => {
    const keys = await generateKeyPair({ password: '' });
    signer = await keyFileSigner(keys.privateKeyPem, '');
    policy = { keys: [keys.publicKeyPem], tlog: 'skip' };
  });

  it('verifies an image signed only with a legacy .sig tag; formats: [bundle] rejects it', async () => {
    const f = memoryFixture();
    const desc = await seedImage(f, 'legacy');
    await signLegacy(f.repo('apps/legacy'), desc, signer);
    const ok = await verifyImages(f.client, [ref('legacy')], { policy });
    expect(ok).toMatchObject({ verified: 1, failed: 0, registryFailures: 0 });
    expect(ok.images).toEqual([
      {
        image: ref('legacy'),
        verified: true,
        pinned: ref('legacy', `@${desc.digest}`),
        digest: desc.digest,
        format: 'legacy',
      },
    ]);
    const bundleOnly = await verifyImages(f.client, [ref('legacy')], { policy, formats: ['bundle'] });
    expect(bundleOnly).toMatchObject({ verified: 0, failed: 1, registryFailures: 0 });
    expect(bundleOnly.images[0]).toMatchObject({
      verified: false,
      failure: 'verification',
      error: { code: 'SIGNATURE_NOT_FOUND' },
    });
  });

  it('verifies a multi-platform image index and pins it to the index digest', async () => {
    const f = memoryFixture();
    const { parts, index } = imageIndex('multi');
    const store = f.store('apps/multi');
    await pushAll(store, [...parts, index]);
    await store.tag(index.desc, '1.0');
    await signBundle(f.repo('apps/multi'), index.desc, signer);
    const { images } = await verifyImages(f.client, [ref('multi')], { policy });
    expect(images[0]).toMatchObject({
      verified: true,
      format: 'bundle',
      digest: index.desc.digest,
      pinned: ref('multi', `@${index.desc.digest}`),
    });
  });

  it('verifies a reference already pinned by digest, without resolving a tag', async () => {
    const f = memoryFixture();
    const desc = await seedImage(f, 'pinned');
    await signBundle(f.repo('apps/pinned'), desc, signer);
    const before = f.registry.requests.length;
    const pinnedRef = ref('pinned', `@${desc.digest}`);
    const { images } = await verifyImages(f.client, [pinnedRef], { policy });
    expect(images).toEqual([
      { image: pinnedRef, verified: true, pinned: pinnedRef, digest: desc.digest, format: 'bundle' },
    ]);
    const tagLookups = f.registry.requests
      .slice(before)
      .filter((r) => new URL(r.url).pathname === '/v2/apps/pinned/manifests/1.0');
    expect(tagLookups).toEqual([]);
  });

  it('records unsigned and missing images as verification failures, outages as registry failures', async () => {
    const f = memoryFixture();
    await seedImage(f, 'unsigned');
    await seedImage(f, 'flaky');
    f.registry.failNext({ status: 500, path: /^\/v2\/apps\/flaky\/manifests\/1\.0$/ });
    const r = await verifyImages(f.client, [ref('unsigned'), ref('missing'), ref('flaky')], { policy });
    expect(r).toMatchObject({ verified: 0, failed: 3, registryFailures: 1 });
    expect(r.images.map((i) => [i.image, i.failure, i.error?.code])).toEqual([
      [ref('flaky'), 'registry', 'UNEXPECTED_STATUS'],
      [ref('missing'), 'verification', 'MANIFEST_UNKNOWN'],
      [ref('unsigned'), 'verification', 'SIGNATURE_NOT_FOUND'],
    ]);
  });

  it('removes duplicates and returns results in sorted reference order', async () => {
    const f = memoryFixture();
    for (const name of ['b', 'a', 'c']) {
      const desc = await seedImage(f, name);
      await signLegacy(f.repo(`apps/${name}`), desc, signer);
    }
    const r = await verifyImages(f.client, [ref('c'), ref('a'), ref('b'), ref('a'), ref('c')], {
      policy,
      concurrency: 2,
    });
    expect(r.images.map((i) => i.image)).toEqual([ref('a'), ref('b'), ref('c')]);
    expect(r).toMatchObject({ verified: 3, failed: 0 });
  });

  it(`refuses more than ${MAX_IMAGES_PER_CHART} unique references before any request`, async () => {
    const f = memoryFixture();
    const many = Array.from({ length: MAX_IMAGES_PER_CHART + 1 }, (_, i) => ref(`img${i}`));
    await expectChartproofError(verifyImages(f.client, many, { policy }), 'SIZE_LIMIT_EXCEEDED', /501/);
    expect(f.registry.requests).toEqual([]);
    // Duplicates do not count: 500 unique references pass the cap (and stop at the aborted signal).
    const aborted = AbortSignal.abort(new Error('stop here'));
    await expect(
      verifyImages(f.client, [...many.slice(0, MAX_IMAGES_PER_CHART), many[0]!], { policy, signal: aborted }),
    ).rejects.toThrow('stop here');
    expect(f.registry.requests).toEqual([]);
  });

  it('rejects a concurrency outside 1–32', async () => {
    const f = memoryFixture();
    for (const concurrency of [0, 33, 1.5]) {
      await expectChartproofError(
        verifyImages(f.client, [ref('a')], { policy, concurrency }),
        'INVALID_ARGUMENT',
        /concurrency/,
      );
    }
    expect(f.registry.requests).toEqual([]);
  });

  it('rejects a policy that cannot be applied before any request (a caller error, not a registry one)', async () => {
    const f = memoryFixture();
    await expectChartproofError(
      verifyImages(f.client, [ref('a')], { policy: { ...policy, threshold: 0 } }),
      'INVALID_ARGUMENT',
      /threshold/,
    );
    expect(f.registry.requests).toEqual([]);
  });

  it('throws the abort reason when aborted mid-way, rather than recording it as a failure', async () => {
    const controller = new AbortController();
    // A chartproof error as the reason (as a deadline's TIMEOUT is): still thrown, not recorded.
    const reason = new ChartproofError('TIMEOUT', 'caller gave up');
    const f = memoryFixture({
      wrapFetch: (fetch) => (input, init) => {
        controller.abort(reason);
        return fetch(input, init);
      },
    });
    await seedImage(f, 'a');
    await expect(verifyImages(f.client, [ref('a')], { policy, signal: controller.signal })).rejects.toBe(
      reason,
    );
  });

  it('does not swallow errors that are not chartproof errors', async () => {
    const f = memoryFixture();
    await seedImage(f, 'a');
    const hostile = {
      ...policy,
      get threshold(): number {
        throw new TypeError('policy getter failed');
      },
    };
    await expect(verifyImages(f.client, [ref('a'), ref('b')], { policy: hostile })).rejects.toThrow(
      TypeError,
    );
  });
});
