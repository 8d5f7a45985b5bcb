import { describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/oci/client.js';
import { copy } from '../../src/oci/copy.js';
import { CopyError } from '../../src/errors.js';
import { referrersTag } from '../../src/oci/referrers.js';
import { MemoryRegistry } from '../../src/testing/index.js';
import { imageIndex, pushAll, referrerOf } from '../helpers/content.js';

// What `copy()` looks up at the source besides the content (the root's referrers, the
// cosign tags, the referrers of an index's children) is sent at once and beside the
// transfer, not one request after another: on a registry far away each lookup in
// series is a round trip on the copy's critical path.

/** A multi-platform image with a cosign `.sig` tag on the index and a referrer of its first child. */
async function setup(
  options: {
    failChildReferrers?: boolean;
    cosignTag?: boolean;
    childReferrer?: boolean;
    /** How long the root's lookups (its referrers, its cosign tags) take to answer. */
    rootLookupMs?: number;
    /** The root's `.sig` lookup answers 500. */
    failSigLookup?: boolean;
    /** The first blob upload at the destination answers 500; the others take 60 ms. */
    failFirstUpload?: boolean;
  } = {},
) {
  const registry = new MemoryRegistry();
  const img = imageIndex('app', { layerBytes: 64 * 1024 });
  const src = registry.repository('images/app');
  await pushAll(src, img.parts);
  await src.push(img.index.desc, img.index.data);
  await src.tag(img.index.desc, '1.0');
  const children = (
    JSON.parse(new TextDecoder().decode(img.index.data)) as { manifests: Array<{ digest: string }> }
  ).manifests;
  const child = img.parts.find((p) => p.desc.digest === children[0]!.digest)!;
  const childSig = referrerOf(child.desc, 'application/vnd.example.sig');
  if (options.childReferrer !== false)
    await pushAll(src, [childSig.empty, childSig.layer, childSig.manifest]);
  if (options.cosignTag !== false) {
    const legacy = referrerOf(img.index.desc, 'application/vnd.example.legacy', 'legacy');
    await pushAll(src, [legacy.layer]);
    // A cosign-style tag: a manifest pushed without a subject would do; this one has one, harmless.
    await src.push(legacy.manifest.desc, legacy.manifest.data);
    await src.tag(legacy.manifest.desc, `${referrersTag(img.index.desc.digest)}.sig`);
  }

  /** Requests in order of sending, with the most in flight at once among the lookups. */
  const log: string[] = [];
  let uploadFailed = false;
  let lookupsInFlight = 0;
  let mostLookupsInFlight = 0;
  const isLookup = (path: string) =>
    path.includes('/referrers/') || /\/manifests\/sha256-[0-9a-f]{64}\.(sig|att|sbom)$/.test(path);
  const fetchFn: typeof registry.fetch = async (input, init) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const line = `${init?.method ?? 'GET'} ${url.pathname}`;
    log.push(line);
    const lookup = isLookup(url.pathname);
    if (lookup) mostLookupsInFlight = Math.max(mostLookupsInFlight, ++lookupsInFlight);
    try {
      // Every answer takes a moment, so that requests sent at once overlap.
      const rootLookup = lookup && url.pathname.includes(img.index.desc.digest.slice(7));
      await new Promise((resolve) => setTimeout(resolve, rootLookup ? (options.rootLookupMs ?? 5) : 5));
      if (rootLookup) log.push(`answered ${line}`);
      if (options.failFirstUpload && line === 'POST /v2/mirror/app/blobs/uploads/') {
        if (!uploadFailed) {
          uploadFailed = true;
          return new Response('boom', { status: 500 });
        }
        await new Promise((resolve) => setTimeout(resolve, 60));
      }
      if (options.failSigLookup && rootLookup && url.pathname.endsWith('.sig'))
        return new Response('boom', { status: 500 });
      if (options.failChildReferrers && url.pathname.endsWith(`/referrers/${child.desc.digest}`))
        return new Response('boom', { status: 500 });
      return await registry.fetch(input, init);
    } finally {
      if (lookup) lookupsInFlight--;
    }
  };
  const client = new RegistryClient({ plainHttp: true, fetch: fetchFn, retry: { maxRetries: 0 } });
  return {
    registry,
    img,
    child,
    childSig,
    log,
    mostLookups: () => mostLookupsInFlight,
    src: client.repository('registry.test/images/app'),
    dst: client.repository('registry.test/mirror/app'),
  };
}

describe('copy(): source lookups', () => {
  it('sends the referrers listing and the cosign tag lookups at once, and carries what they find', async () => {
    const { registry, img, childSig, src, dst, mostLookups } = await setup();
    const result = await copy(src, '1.0', dst, '1.0', { referrers: true, cosignTags: true });
    expect(result.descriptor.digest).toBe(img.index.desc.digest);
    // The root's listing and three tag lookups, then the children's listings: never one at a time.
    expect(mostLookups()).toBeGreaterThanOrEqual(3);
    expect(result.cosignTags).toEqual([`${referrersTag(img.index.desc.digest)}.sig`]);
    expect(result.referrers.map((d) => d.digest)).toContain(childSig.manifest.desc.digest);
    const mirrored = registry.repository('mirror/app');
    expect((await mirrored.resolve('1.0')).digest).toBe(img.index.desc.digest);
    expect(await mirrored.exists(childSig.manifest.desc)).toBe(true);
  });

  it("lists an index's children's referrers before its content has finished copying", async () => {
    const { child, log, src, dst } = await setup();
    await copy(src, '1.0', dst, '1.0', { referrers: true, cosignTags: true });
    const childListing = log.indexOf(`GET /v2/images/app/referrers/${child.desc.digest}`);
    // Before the child manifest itself is written (its layers first): beside the transfer.
    const childPut = log.indexOf(`PUT /v2/mirror/app/manifests/${child.desc.digest}`);
    expect(childListing).toBeGreaterThanOrEqual(0);
    expect(childPut).toBeGreaterThanOrEqual(0);
    expect(childListing).toBeLessThan(childPut);
    // Listed once, although looked up early and read again when its referrers are copied.
    expect(log.filter((l) => l === `GET /v2/images/app/referrers/${child.desc.digest}`)).toHaveLength(1);
  });

  it("fails the copy as a source error when a child's listing fails (the early listing is not lost)", async () => {
    const { src, dst, registry } = await setup({ failChildReferrers: true });
    const err = await copy(src, '1.0', dst, '1.0', { referrers: true, cosignTags: true }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CopyError);
    expect((err as CopyError).origin).toBe('source');
    // The tag, written last, is not there.
    await expect(registry.repository('mirror/app').resolve('1.0')).rejects.toThrow();
  });
});

describe("copy(): the root's lookups and the transfer", () => {
  it('transfers the content while the lookups are out; the root waits for them and is tagged in one request', async () => {
    const { registry, img, log, src, dst } = await setup({
      cosignTag: false,
      childReferrer: false,
      rootLookupMs: 150,
    });
    await copy(src, '1.0', dst, '1.0', { referrers: true, cosignTags: true });
    const firstUpload = log.findIndex((l) => l.startsWith('POST /v2/mirror/app/blobs/uploads/'));
    const firstAnswer = log.findIndex((l) => l.startsWith('answered '));
    expect(firstUpload).toBeGreaterThanOrEqual(0);
    expect(firstAnswer).toBeGreaterThanOrEqual(0);
    // A blob went in before any of the root's lookups had answered.
    expect(firstUpload).toBeLessThan(firstAnswer);
    // The root itself only after all of them, in one request with its tag.
    const lastAnswer = log.findLastIndex((l) => l.startsWith('answered '));
    const rootPut = log.indexOf('PUT /v2/mirror/app/manifests/1.0');
    expect(rootPut).toBeGreaterThan(lastAnswer);
    expect(log).not.toContain(`PUT /v2/mirror/app/manifests/${img.index.desc.digest}`);
    expect((await registry.repository('mirror/app').resolve('1.0')).digest).toBe(img.index.desc.digest);
  });

  it('a failed lookup fails the copy once the transfer is stopped and every request is over: no root', async () => {
    const { registry, img, log, src, dst } = await setup({ rootLookupMs: 40, failSigLookup: true });
    const err = await copy(src, '1.0', dst, '1.0', { referrers: true, cosignTags: true }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CopyError);
    expect((err as CopyError).origin).toBe('source');
    const sent = log.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(log.length).toBe(sent);
    const mirrored = registry.repository('mirror/app');
    await expect(mirrored.resolve('1.0')).rejects.toThrow();
    expect(await mirrored.exists(img.index.desc)).toBe(false);
  });
});

describe('copy(): a failed transfer', () => {
  it('stops the other transfers and settles only once every request is over', async () => {
    const { registry, img, log, src, dst } = await setup({
      cosignTag: false,
      childReferrer: false,
      failFirstUpload: true,
    });
    const err = await copy(src, '1.0', dst, '1.0', { referrers: true, cosignTags: true }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CopyError);
    expect((err as CopyError).origin).toBe('destination');
    // The other uploads were under way when the first failed; nothing is sent after.
    expect(log.filter((l) => l === 'POST /v2/mirror/app/blobs/uploads/').length).toBeGreaterThan(1);
    const sent = log.length;
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(log.slice(sent)).toEqual([]);
    const mirrored = registry.repository('mirror/app');
    await expect(mirrored.resolve('1.0')).rejects.toThrow();
    expect(await mirrored.exists(img.index.desc)).toBe(false);
  });
});

// The tag is written last, once everything that travels with the image is in. When
// nothing does (no referrers of the index or of its children, no cosign tags), the
// index is written and tagged in one request instead of two.
describe('copy(): when an index is tagged', () => {
  const manifestPuts = (log: string[]) => log.filter((l) => l.startsWith('PUT /v2/mirror/app/manifests/'));

  describe('when neither the index nor its children have referrers or cosign tags', () => {
    it('writes the index and its tag in one request', async () => {
      const { registry, img, log, src, dst } = await setup({ cosignTag: false, childReferrer: false });
      const result = await copy(src, '1.0', dst, '1.0', { referrers: true, cosignTags: true });
      expect(result.referrers).toEqual([]);
      expect(manifestPuts(log)).toContain('PUT /v2/mirror/app/manifests/1.0');
      expect(manifestPuts(log)).not.toContain(`PUT /v2/mirror/app/manifests/${img.index.desc.digest}`);
      expect((await registry.repository('mirror/app').resolve('1.0')).digest).toBe(img.index.desc.digest);
    });
  });

  describe('when a child has a referrer', () => {
    it('writes the index by digest, then the referrer, then the tag', async () => {
      const { registry, img, childSig, log, src, dst } = await setup({ cosignTag: false });
      const result = await copy(src, '1.0', dst, '1.0', { referrers: true, cosignTags: true });
      expect(result.referrers.map((d) => d.digest)).toEqual([childSig.manifest.desc.digest]);
      const puts = manifestPuts(log);
      const byDigest = puts.indexOf(`PUT /v2/mirror/app/manifests/${img.index.desc.digest}`);
      const referrer = puts.indexOf(`PUT /v2/mirror/app/manifests/${childSig.manifest.desc.digest}`);
      const tag = puts.indexOf('PUT /v2/mirror/app/manifests/1.0');
      expect(byDigest).toBeGreaterThanOrEqual(0);
      expect(referrer).toBeGreaterThan(byDigest);
      expect(tag).toBeGreaterThan(referrer);
      expect((await registry.repository('mirror/app').resolve('1.0')).digest).toBe(img.index.desc.digest);
    });
  });

  describe("when a child's listing fails", () => {
    it('fails as a source error and writes no tag', async () => {
      const { src, dst, registry } = await setup({ cosignTag: false, failChildReferrers: true });
      const err = await copy(src, '1.0', dst, '1.0', { referrers: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CopyError);
      expect((err as CopyError).origin).toBe('source');
      await expect(registry.repository('mirror/app').resolve('1.0')).rejects.toThrow();
    });
  });
});
