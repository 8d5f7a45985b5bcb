import { describe, expect, it } from 'vitest';
import { ChartproofError, CopyError } from '../../src/errors.js';
import {
  BlobMountCache,
  type CopyEvent,
  copy,
  type Descriptor,
  MediaType,
  MemoryStore,
} from '../../src/oci/index.js';
import { blob, manifest } from '../helpers/content.js';
import { memoryFixture, TEST_HOST } from '../helpers/registry.js';

// Copies of several images into one destination registry, into different repositories,
// sharing a `BlobMountCache`: shared layers are mounted, not uploaded again, and a
// layer one copy is uploading is waited for by the others.

type Part = { desc: Descriptor; data: Uint8Array };

function layer(seed: number, size = 4096): Part {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 131 + seed * 17) % 251;
  return blob(data, MediaType.OciLayerGzip);
}

/** An image (config and `layers`) stored in `src` under `tag`. */
async function image(src: MemoryStore, tag: string, layers: Part[]) {
  const config = blob(JSON.stringify({ architecture: 'amd64', os: 'linux', tag }), MediaType.OciConfig);
  const m = manifest(
    config.desc,
    layers.map((l) => l.desc),
  );
  for (const p of [config, ...layers, m]) await src.push(p.desc, p.data);
  await src.tag(m.desc, tag);
  return { config, layers, manifest: m };
}

/** One request the destination saw, and its answer. */
interface Seen {
  method: string;
  /** Path without `/v2/`. */
  path: string;
  query: URLSearchParams;
  status?: number;
}

interface Scenario {
  src: MemoryStore;
  fx: ReturnType<typeof memoryFixture>;
  log: Seen[];
  /** Runs before each request reaches the registry; may hold it or answer it. */
  intercept: (r: Seen) => Promise<Response | undefined> | Response | undefined;
}

function scenario(): Scenario {
  const s = { src: new MemoryStore({ name: 'source' }), log: [] as Seen[] } as Scenario;
  s.intercept = () => undefined;
  s.fx = memoryFixture({
    wrapFetch: (fetch) => async (input, init) => {
      const request = input instanceof Request ? input : undefined;
      const url = new URL(request ? request.url : String(input));
      const seen: Seen = {
        method: (init?.method ?? request?.method ?? 'GET').toUpperCase(),
        path: url.pathname.replace(/^\/v2\//, ''),
        query: url.searchParams,
      };
      s.log.push(seen);
      const res = (await s.intercept(seen)) ?? (await fetch(input, init));
      seen.status = res.status;
      return res;
    },
  });
  return s;
}

/** Digests committed by upload `PUT`s, as `<repository> <digest>`. */
function uploads(log: Seen[]): string[] {
  return log
    .filter((r) => r.method === 'PUT' && r.path.includes('/blobs/uploads/') && r.status === 201)
    .map((r) => `${r.path.split('/blobs/')[0]} ${r.query.get('digest')}`)
    .sort();
}

/** Mount attempts, as `<repository> <digest> from <repository> -> <status>`. */
function mounts(log: Seen[]): string[] {
  return log
    .filter((r) => r.method === 'POST' && r.query.has('mount'))
    .map(
      (r) =>
        `${r.path.split('/blobs/')[0]} ${r.query.get('mount')} from ${r.query.get('from')} -> ${r.status}`,
    );
}

function isBlobPut(r: Seen, digest: string): boolean {
  return r.method === 'PUT' && r.path.includes('/blobs/uploads/') && r.query.get('digest') === digest;
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Resolves once `condition` holds (polled every millisecond, for at most 2 s). */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !condition(); i++) await new Promise((r) => setTimeout(r, 1));
  if (!condition()) throw new Error('condition never met');
}

/** True once the destination was asked whether `repository` has `digest`. */
function looked(log: Seen[], repository: string, digest: string, times = 1): boolean {
  return log.filter((r) => r.method === 'HEAD' && r.path === `${repository}/blobs/${digest}`).length >= times;
}

const A = 'internal/images/bitnami/nginx';
const B = 'internal/images/bitnami/redis';

describe('copy with a BlobMountCache', () => {
  describe('when a second image goes to another repository of the same registry', () => {
    it('mounts the shared layer from the first repository instead of uploading it', async () => {
      const { src, fx, log } = scenario();
      const base = layer(1, 50_000);
      const a = await image(src, 'a', [base, layer(2)]);
      const b = await image(src, 'b', [base, layer(3)]);
      const cache = new BlobMountCache();
      await copy(src, 'a', fx.repo(A), '1.0', { mountCache: cache });
      expect(cache.locations(TEST_HOST, base.desc.digest)).toEqual([A]);
      log.length = 0;
      const events: CopyEvent[] = [];
      const result = await copy(src, 'b', fx.repo(B), '1.0', {
        mountCache: cache,
        onProgress: (e) => events.push(e),
      });
      expect(result.descriptor.digest).toBe(b.manifest.desc.digest);
      expect(mounts(log)).toEqual([`${B} ${base.desc.digest} from ${A} -> 201`]);
      expect(uploads(log)).toEqual(
        [`${B} ${b.config.desc.digest}`, `${B} ${b.layers[1]!.desc.digest}`].sort(),
      );
      expect(events).toContainEqual({ type: 'mounted', descriptor: base.desc, from: A });
      expect(fx.store(B).get(base.desc.digest)).toEqual(base.data);
      expect((await fx.repo(B).resolve('1.0')).digest).toBe(b.manifest.desc.digest);
      expect(cache.locations(TEST_HOST, base.desc.digest)).toEqual([B, A]);
      expect(a.manifest.desc.digest).not.toBe(b.manifest.desc.digest);
    });

    it('without a cache uploads it again and mounts nothing (the old request pattern)', async () => {
      const { src, fx, log } = scenario();
      const base = layer(1);
      await image(src, 'a', [base, layer(2)]);
      const b = await image(src, 'b', [base, layer(3)]);
      await copy(src, 'a', fx.repo(A), '1.0');
      log.length = 0;
      await copy(src, 'b', fx.repo(B), '1.0');
      const blobs = [b.config, ...b.layers].map((p) => p.desc.digest);
      expect(
        log.map((r) => `${r.method} ${r.path.replace(/uploads\/[^/?]+$/, 'uploads/<id>')}`).sort(),
      ).toEqual(
        [
          `HEAD ${B}/manifests/${b.manifest.desc.digest}`,
          ...blobs.map((d) => `HEAD ${B}/blobs/${d}`),
          ...blobs.map(() => `POST ${B}/blobs/uploads/`),
          ...blobs.map(() => `PUT ${B}/blobs/uploads/<id>`),
          `PUT ${B}/manifests/1.0`,
        ].sort(),
      );
      expect(uploads(log)).toEqual(blobs.map((d) => `${B} ${d}`).sort());
    });

    it('sends the same requests as without a cache when nothing is shared', async () => {
      const pattern = async (mountCache?: BlobMountCache) => {
        const { src, fx, log } = scenario();
        await image(src, 'a', [layer(1), layer(2)]);
        await copy(src, 'a', fx.repo(A), '1.0', { mountCache, concurrency: 1 });
        return log.map((r) => `${r.method} ${r.path.replace(/uploads\/[^/?]+$/, 'uploads/<id>')}`);
      };
      const without = await pattern();
      expect(without.length).toBeGreaterThan(5);
      expect(await pattern(new BlobMountCache())).toEqual(without);
    });
  });

  describe('when copies sharing a layer run at once', () => {
    it('uploads the shared layer once and mounts it into the other repository', async () => {
      const s = scenario();
      const base = layer(1, 100_000);
      await image(s.src, 'a', [base, layer(2)]);
      await image(s.src, 'b', [base, layer(3)]);
      // Hold the upload of the shared layer until both copies found it absent.
      s.intercept = async (r) => {
        if (isBlobPut(r, base.desc.digest))
          await until(() => looked(s.log, A, base.desc.digest) && looked(s.log, B, base.desc.digest));
        return undefined;
      };
      const cache = new BlobMountCache();
      await Promise.all([
        copy(s.src, 'a', s.fx.repo(A), '1.0', { mountCache: cache }),
        copy(s.src, 'b', s.fx.repo(B), '1.0', { mountCache: cache }),
      ]);
      const baseUploads = uploads(s.log).filter((u) => u.endsWith(base.desc.digest));
      expect(baseUploads).toHaveLength(1);
      const [owner] = baseUploads[0]!.split(' ');
      const other = owner === A ? B : A;
      expect(mounts(s.log)).toEqual([`${other} ${base.desc.digest} from ${owner} -> 201`]);
      for (const repo of [A, B]) expect(s.fx.store(repo).get(base.desc.digest)).toEqual(base.data);
    });

    it('uploads it twice without a cache (what the test above guards against)', async () => {
      const s = scenario();
      const base = layer(1, 100_000);
      await image(s.src, 'a', [base, layer(2)]);
      await image(s.src, 'b', [base, layer(3)]);
      s.intercept = async (r) => {
        if (isBlobPut(r, base.desc.digest))
          await until(() => looked(s.log, A, base.desc.digest) && looked(s.log, B, base.desc.digest));
        return undefined;
      };
      await Promise.all([copy(s.src, 'a', s.fx.repo(A), '1.0'), copy(s.src, 'b', s.fx.repo(B), '1.0')]);
      expect(uploads(s.log).filter((u) => u.endsWith(base.desc.digest))).toHaveLength(2);
    });

    it('into the same repository, the second copy waits and skips the layer', async () => {
      const s = scenario();
      const base = layer(1, 100_000);
      await image(s.src, 'a', [base, layer(2)]);
      await image(s.src, 'b', [base, layer(3)]);
      s.intercept = async (r) => {
        if (isBlobPut(r, base.desc.digest)) await until(() => looked(s.log, A, base.desc.digest, 2));
        return undefined;
      };
      const cache = new BlobMountCache();
      const events: CopyEvent[][] = [[], []];
      await Promise.all(
        ['a', 'b'].map((tag, i) =>
          copy(s.src, tag, s.fx.repo(A), tag, { mountCache: cache, onProgress: (e) => events[i]!.push(e) }),
        ),
      );
      expect(uploads(s.log).filter((u) => u.endsWith(base.desc.digest))).toEqual([
        `${A} ${base.desc.digest}`,
      ]);
      expect(mounts(s.log)).toEqual([]);
      const skipped = events
        .flat()
        .filter((e) => e.type === 'skipped' && e.descriptor.digest === base.desc.digest);
      expect(skipped).toHaveLength(1);
      expect((await s.fx.repo(A).tags()).sort()).toEqual(['a', 'b']);
    });

    it.each([1, 3])(
      'does not deadlock when two copies share two layers in opposite order (concurrency %i)',
      async (concurrency) => {
        const s = scenario();
        const x = layer(1, 30_000);
        const y = layer(2, 30_000);
        await image(s.src, 'a', [x, y]);
        await image(s.src, 'b', [y, x]);
        s.intercept = async (r) => {
          if (r.method === 'PUT' && r.path.includes('/blobs/uploads/'))
            await new Promise((t) => setTimeout(t, 5));
          return undefined;
        };
        const cache = new BlobMountCache();
        const done = Promise.all([
          copy(s.src, 'a', s.fx.repo(A), '1.0', { mountCache: cache, concurrency }),
          copy(s.src, 'b', s.fx.repo(B), '1.0', { mountCache: cache, concurrency }),
        ]);
        const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('deadlock')), 5000));
        await Promise.race([done, timeout]);
        for (const l of [x, y]) {
          expect(uploads(s.log).filter((u) => u.endsWith(l.desc.digest))).toHaveLength(1);
          for (const repo of [A, B]) expect(s.fx.store(repo).get(l.desc.digest)).toEqual(l.data);
        }
        expect(mounts(s.log)).toHaveLength(2);
      },
    );

    it('copies an image that lists one layer twice (a copy never waits for itself)', async () => {
      const s = scenario();
      const base = layer(1);
      const img = await image(s.src, 'a', [base, base]);
      const result = await copy(s.src, 'a', s.fx.repo(A), '1.0', { mountCache: new BlobMountCache() });
      expect(result.descriptor.digest).toBe(img.manifest.desc.digest);
      expect(uploads(s.log).filter((u) => u.endsWith(base.desc.digest))).toHaveLength(1);
    });
  });

  describe('when a copy waits for another copy’s upload', () => {
    it('rejects with the abort reason at once when aborted while waiting', async () => {
      const s = scenario();
      const base = layer(1, 50_000);
      await image(s.src, 'a', [base]);
      await image(s.src, 'b', [base, layer(3)]);
      const release = deferred();
      const held = deferred();
      s.intercept = async (r) => {
        if (isBlobPut(r, base.desc.digest) && r.path.startsWith(A)) {
          held.resolve();
          await release.promise;
        }
        return undefined;
      };
      const cache = new BlobMountCache();
      let firstDone = false;
      const first = copy(s.src, 'a', s.fx.repo(A), '1.0', { mountCache: cache }).finally(() => {
        firstDone = true;
      });
      await held.promise;
      const controller = new AbortController();
      const second = copy(s.src, 'b', s.fx.repo(B), '1.0', { mountCache: cache, signal: controller.signal });
      await until(() => looked(s.log, B, base.desc.digest));
      await new Promise((r) => setTimeout(r, 20));
      const reason = new Error('stop waiting');
      const started = Date.now();
      controller.abort(reason);
      const late = new Promise((_, reject) => setTimeout(() => reject(new Error('still waiting')), 2000));
      await expect(Promise.race([second, late])).rejects.toBe(reason);
      expect(Date.now() - started).toBeLessThan(1000);
      expect(firstDone).toBe(false);
      expect(
        s.log.filter((r) => r.path.startsWith(B) && (isBlobPut(r, base.desc.digest) || r.query.has('mount'))),
      ).toEqual([]);
      release.resolve();
      await first;
      expect(cache.locations(TEST_HOST, base.desc.digest)).toEqual([A]);
    });

    it('uploads the layer itself when the other copy fails', async () => {
      const s = scenario();
      const base = layer(1, 50_000);
      await image(s.src, 'a', [base]);
      await image(s.src, 'b', [base]);
      s.intercept = async (r) => {
        if (isBlobPut(r, base.desc.digest) && r.path.startsWith(A)) {
          await until(() => looked(s.log, B, base.desc.digest));
          await new Promise((t) => setTimeout(t, 10));
          return new Response(JSON.stringify({ errors: [{ code: 'UNKNOWN', message: 'disk full' }] }), {
            status: 500,
            headers: { 'content-type': 'application/json' },
          });
        }
        return undefined;
      };
      const cache = new BlobMountCache();
      const [first, second] = await Promise.allSettled([
        copy(s.src, 'a', s.fx.repo(A), '1.0', { mountCache: cache }),
        copy(s.src, 'b', s.fx.repo(B), '1.0', { mountCache: cache }),
      ]);
      expect(first.status).toBe('rejected');
      expect((first as PromiseRejectedResult).reason).toBeInstanceOf(CopyError);
      expect(second.status).toBe('fulfilled');
      expect(uploads(s.log)).toContain(`${B} ${base.desc.digest}`);
      expect(mounts(s.log)).toEqual([]);
      expect(s.fx.store(B).get(base.desc.digest)).toEqual(base.data);
      expect(cache.locations(TEST_HOST, base.desc.digest)).toEqual([B]);
    });
  });

  describe('when the cache names a repository that no longer has the blob', () => {
    it('tries it once, uploads into the session the refused mount opened, and forgets it', async () => {
      const { src, fx, log } = scenario();
      const base = layer(1);
      await image(src, 'a', [base]);
      const cache = new BlobMountCache();
      cache.record(TEST_HOST, base.desc.digest, 'internal/images/gone');
      await copy(src, 'a', fx.repo(A), '1.0', { mountCache: cache });
      expect(mounts(log)).toEqual([`${A} ${base.desc.digest} from internal/images/gone -> 202`]);
      // No cancel and no second session: the 202's session took the upload.
      expect(log.filter((r) => r.method === 'DELETE')).toEqual([]);
      const sessions = log.filter((r) => r.method === 'POST' && r.path === `${A}/blobs/uploads/`);
      expect(sessions.filter((r) => !r.query.has('mount')).length).toBe(
        uploads(log).filter((u) => u.startsWith(`${A} `)).length - 1,
      );
      expect(uploads(log)).toContain(`${A} ${base.desc.digest}`);
      expect(fx.store(A).get(base.desc.digest)).toEqual(base.data);
      expect(cache.locations(TEST_HOST, base.desc.digest)).toEqual([A]);
    });

    it('cancels the session the refused mount opened when the source cannot be read', async () => {
      const { src, fx, log } = scenario();
      const base = layer(1);
      await image(src, 'a', [base]);
      const read = src.fetch.bind(src);
      src.fetch = async (d, o) => {
        if (d.digest === base.desc.digest) throw new Error('source blob gone');
        return read(d, o);
      };
      const cache = new BlobMountCache();
      cache.record(TEST_HOST, base.desc.digest, 'internal/images/gone');
      const failed = await copy(src, 'a', fx.repo(A), '1.0', { mountCache: cache }).catch((e) => e);
      expect(failed).toBeInstanceOf(CopyError);
      expect((failed as CopyError).origin).toBe('source');
      expect(mounts(log)).toEqual([`${A} ${base.desc.digest} from internal/images/gone -> 202`]);
      const cancels = log.filter((r) => r.method === 'DELETE' && r.path.startsWith(`${A}/blobs/uploads/`));
      expect(cancels.map((r) => r.status)).toEqual([204]);
      expect(uploads(log)).not.toContain(`${A} ${base.desc.digest}`);
    });
  });

  describe('when the destination is not a registry repository', () => {
    it('copies as before and leaves the cache empty', async () => {
      const src = new MemoryStore();
      const base = layer(1);
      const img = await image(src, 'a', [base]);
      const dst = new MemoryStore();
      const cache = new BlobMountCache();
      await copy(src, 'a', dst, '1.0', { mountCache: cache });
      expect((await dst.resolve('1.0')).digest).toBe(img.manifest.desc.digest);
      expect(cache.size).toBe(0);
    });
  });
});

describe('Repository.mountOrPush', () => {
  it('mounts without reading the content when the registry can', async () => {
    const s = scenario();
    const base = layer(7);
    await s.fx.repo(A).push(base.desc, base.data);
    let read = 0;
    const placed = await s.fx.repo(B).mountOrPush(base.desc, A, async () => {
      read++;
      return base.data;
    });
    expect(placed).toBe('mounted');
    expect(read).toBe(0);
    expect(mounts(s.log)).toEqual([`${B} ${base.desc.digest} from ${A} -> 201`]);
    expect(s.fx.store(B).get(base.desc.digest)).toEqual(base.data);
  });

  it('uploads through a session of its own when the refusal opened none (404)', async () => {
    const s = scenario();
    const base = layer(8);
    s.intercept = (r) => (r.query.has('mount') ? new Response(null, { status: 404 }) : undefined);
    const placed = await s.fx.repo(B).mountOrPush(base.desc, A, async () => base.data);
    expect(placed).toBe('pushed');
    expect(
      s.log.filter((r) => r.method === 'POST').map((r) => (r.query.has('mount') ? 'mount' : 'session')),
    ).toEqual(['mount', 'session']);
    expect(uploads(s.log)).toEqual([`${B} ${base.desc.digest}`]);
    expect(s.fx.store(B).get(base.desc.digest)).toEqual(base.data);
  });
});

describe('BlobMountCache', () => {
  it('keeps at most maxEntries blobs, forgetting those recorded longest ago', () => {
    const cache = new BlobMountCache({ maxEntries: 2 });
    cache.record('r', 'sha256:1', 'a');
    cache.record('r', 'sha256:2', 'a');
    cache.record('r', 'sha256:1', 'b'); // refreshes sha256:1
    cache.record('r', 'sha256:3', 'a');
    expect(cache.size).toBe(2);
    expect(cache.locations('r', 'sha256:2')).toEqual([]);
    expect(cache.locations('r', 'sha256:1')).toEqual(['b', 'a']);
    expect(cache.locations('other', 'sha256:1')).toEqual([]);
  });

  it('remembers the two most recent repositories of a blob', () => {
    const cache = new BlobMountCache();
    for (const repo of ['a', 'b', 'c', 'b']) cache.record('r', 'sha256:1', repo);
    expect(cache.locations('r', 'sha256:1')).toEqual(['b', 'c']);
    cache.forget('r', 'sha256:1', 'b');
    expect(cache.locations('r', 'sha256:1')).toEqual(['c']);
    cache.forget('r', 'sha256:1', 'c');
    expect(cache.size).toBe(0);
  });

  it('lets one copy place a blob at a time and records where it landed', async () => {
    const cache = new BlobMountCache();
    const flight = cache.claim('r', 'sha256:1', 'a')!;
    expect(cache.claim('r', 'sha256:1', 'b')).toBeUndefined();
    expect(cache.claim('other', 'sha256:1', 'b')).toBeDefined();
    const busy = cache.flight('r', 'sha256:1')!;
    flight.land(true);
    expect(await busy.done).toBe(true);
    expect(cache.flight('r', 'sha256:1')).toBeUndefined();
    expect(cache.locations('r', 'sha256:1')).toEqual(['a']);
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects maxEntries %s', (maxEntries) => {
    expect(() => new BlobMountCache({ maxEntries })).toThrow(ChartproofError);
  });
});
