import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BlobMountCache,
  type CallOptions,
  copy,
  type Descriptor,
  digestOf,
  MediaType,
  MemoryStore,
  type ReadOnlyTarget,
  RegistryClient,
  type RegistryClientOptions,
  staticCredentials,
} from '../../src/oci/index.js';
import { blob, manifest } from '../helpers/content.js';
import { type RegistryMode, type StartedRegistry, startDockerRegistry } from '../helpers/docker-registry.js';
import { requireTool } from '../helpers/services.js';

// Two images sharing a base layer, copied at once into two repositories of a real
// distribution 2.8 registry with one BlobMountCache: the base layer is uploaded once
// and mounted into the other repository (in token mode the mount needs a token that
// may pull from the first repository too).

const missing = requireTool('docker-registry') ?? requireTool('openssl');

type Part = { desc: Descriptor; data: Uint8Array };

function layer(seed: number, size: number): Part {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 131 + seed * 17 + (i >> 9)) % 251;
  return blob(data, MediaType.OciLayerGzip);
}

async function image(src: MemoryStore, tag: string, layers: Part[]) {
  const config = blob(JSON.stringify({ architecture: 'amd64', os: 'linux', tag }), MediaType.OciConfig);
  const m = manifest(
    config.desc,
    layers.map((l) => l.desc),
  );
  for (const p of [config, ...layers, m]) await src.push(p.desc, p.data);
  await src.tag(m.desc, tag);
  return { parts: [config, ...layers], manifest: m };
}

/** `src`, with reads of `slow` held for `ms` so that the copies overlap for sure. */
function slowSource(src: MemoryStore, slow: string, ms: number): ReadOnlyTarget {
  return {
    resolve: (ref: string, o?: CallOptions) => src.resolve(ref, o),
    exists: (d: Descriptor, o?: CallOptions) => src.exists(d, o),
    fetch: async (d: Descriptor, o?: CallOptions) => {
      if (d.digest === slow) await new Promise((r) => setTimeout(r, ms));
      return src.fetch(d, o);
    },
  };
}

describe.skipIf(missing !== undefined)('copy with a BlobMountCache against docker-registry', () => {
  const modes: RegistryMode[] = ['plain', 'token'];
  for (const mode of modes) {
    describe(`in ${mode} mode`, () => {
      let reg: StartedRegistry;
      let client: RegistryClient;
      const events: string[] = [];
      beforeAll(async () => {
        reg = await startDockerRegistry(mode);
        const options: RegistryClientOptions = {
          retry: { baseDelayMs: 10 },
          plainHttp: true,
          onEvent: (e) => {
            if (e.type === 'request' || e.type === 'response') {
              const u = new URL(e.url);
              const status = e.type === 'response' ? ` -> ${e.status}` : '';
              events.push(`${e.type} ${e.method} ${u.pathname}${u.search}${status}`);
            }
          },
        };
        if (reg.username)
          options.credentials = staticCredentials({
            [reg.host]: { username: reg.username, password: reg.password! },
          });
        client = new RegistryClient(options);
      });
      afterAll(async () => {
        await client?.close();
        await reg?.stop();
      });

      it('uploads the shared layer once, mounts it, and both images read back intact', async () => {
        const src = new MemoryStore();
        const base = layer(1, 3_000_000);
        const nginx = await image(src, 'nginx', [base, layer(2, 200_000)]);
        const redis = await image(src, 'redis', [base, layer(3, 200_000)]);
        const repos = ['internal/images/bitnami/nginx', 'internal/images/bitnami/redis'];
        const source = slowSource(src, base.desc.digest, 300);
        const cache = new BlobMountCache();
        const results = await Promise.all(
          (['nginx', 'redis'] as const).map((name, i) =>
            copy(source, name, client.repository(`${reg.host}/${repos[i]}`), '1.0', { mountCache: cache }),
          ),
        );
        expect(results.map((r) => r.descriptor.digest)).toEqual([
          nginx.manifest.desc.digest,
          redis.manifest.desc.digest,
        ]);

        // Pull back: the tag names the same manifest, every blob reads back with its digest.
        for (const [i, img] of [nginx, redis].entries()) {
          const repo = client.repository(`${reg.host}/${repos[i]}`);
          const pulled = await repo.fetchManifest('1.0');
          expect(pulled.descriptor.digest).toBe(img.manifest.desc.digest);
          for (const part of img.parts) {
            const bytes = new Uint8Array(await new Response(await repo.fetch(part.desc)).arrayBuffer());
            expect(digestOf(bytes)).toBe(part.desc.digest);
          }
        }

        const digest = encodeURIComponent(base.desc.digest);
        const uploaded = events.filter(
          (e) =>
            /^response PUT .*\/blobs\/uploads\//.test(e) &&
            e.includes(`digest=${digest}`) &&
            e.endsWith('-> 201'),
        );
        expect(uploaded).toHaveLength(1);
        const owner = repos.find((r) => uploaded[0]!.includes(`/v2/${r}/`))!;
        const other = repos.find((r) => r !== owner)!;
        const mounted = events.filter((e) => e.startsWith('response POST') && e.includes(`mount=${digest}`));
        expect(mounted).toEqual([
          `response POST /v2/${other}/blobs/uploads/?mount=${digest}&from=${encodeURIComponent(owner)} -> 201`,
        ]);
        // The other copy found the layer absent while it was still uploading: it waited.
        const looked = events.indexOf(`request HEAD /v2/${other}/blobs/${base.desc.digest}`);
        expect(looked).toBeGreaterThanOrEqual(0);
        expect(looked).toBeLessThan(events.indexOf(uploaded[0]!));
        expect(cache.locations(reg.host, base.desc.digest)).toEqual([other, owner]);
      });

      it('uploads into the session a refused mount opened (a stale cache entry)', async () => {
        const src = new MemoryStore();
        const base = layer(4, 500_000);
        const img = await image(src, 'app', [base]);
        const repo = 'internal/images/stale/app';
        const cache = new BlobMountCache();
        cache.record(reg.host, base.desc.digest, 'internal/images/never-written');
        const from = events.length;
        await copy(src, 'app', client.repository(`${reg.host}/${repo}`), '1.0', { mountCache: cache });
        const seen = events.slice(from).filter((e) => e.startsWith('response '));
        const digest = encodeURIComponent(base.desc.digest);
        // distribution 2.8 answers a mount of a blob the source repository lacks with 202
        // and a session; the blob goes into it: no DELETE, no second POST for it.
        expect(seen.filter((e) => e.includes(`mount=${digest}`))).toEqual([
          `response POST /v2/${repo}/blobs/uploads/?mount=${digest}&from=${encodeURIComponent('internal/images/never-written')} -> 202`,
        ]);
        expect(seen.filter((e) => e.startsWith('response DELETE'))).toEqual([]);
        const posts = seen.filter((e) => e.startsWith(`response POST /v2/${repo}/blobs/uploads/ `));
        const puts = seen.filter((e) => /^response PUT .*\/blobs\/uploads\/.*-> 201$/.test(e));
        expect(puts.some((e) => e.includes(`digest=${digest}`))).toBe(true);
        expect(posts.length).toBe(puts.length - 1);
        const back = client.repository(`${reg.host}/${repo}`);
        expect((await back.fetchManifest('1.0')).descriptor.digest).toBe(img.manifest.desc.digest);
        const bytes = new Uint8Array(await new Response(await back.fetch(base.desc)).arrayBuffer());
        expect(digestOf(bytes)).toBe(base.desc.digest);
        expect(cache.locations(reg.host, base.desc.digest)).toEqual([repo]);
      });
    });
  }
});
