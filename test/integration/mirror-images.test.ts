import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushChart } from '../../src/chart/oci.js';
import { generateKeyPair, keyFileSigner } from '../../src/keys/keys.js';
import { applyMirror, type MirrorResult } from '../../src/mirror/apply.js';
import { fetchValuesOverlays } from '../../src/mirror/images.js';
import type { MirrorEvent } from '../../src/mirror/plan.js';
import { type MirrorSpec, parseMirrorSpec } from '../../src/mirror/spec.js';
import { type Descriptor, RegistryClient, staticCredentials } from '../../src/oci/index.js';
import type { FetchLike } from '../../src/oci/transport/fetch.js';
import { parseManifests } from '../../src/render/parse.js';
import { signLegacy } from '../../src/sign/legacy.js';
import { signBundle } from '../../src/sign/referrer.js';
import { verifyChart } from '../../src/verify/chart.js';
import { listImages } from '../../src/workloads/images.js';
import { makeChartArchive } from '../helpers/chart-repo.js';
import { imageIndex } from '../helpers/content.js';
import { type StartedRegistry, startDockerRegistry } from '../helpers/docker-registry.js';
import { helmAvailable, runHelm } from '../helpers/helm.js';
import { requireTool } from '../helpers/services.js';
import { skopeo } from '../helpers/skopeo.js';

const missing = requireTool('docker-registry');
const noSkopeo = missing ?? requireTool('skopeo');
const haveHelm =
  missing === undefined &&
  helmAvailable('mirror images: helm template and helm install --dry-run of the mirrored chart');

// Three image layouts: `image` (registry/repository/tag), `sidecar` (repository/tag) and
// `initImage` (a full reference, pinned by digest: the same image as `image`).
const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      initContainers:
        - name: init
          image: {{ .Values.initImage | quote }}
      containers:
        - name: app
          image: "{{ .Values.image.registry }}/{{ .Values.image.repository }}:{{ .Values.image.tag }}"
        - name: sidecar
          image: "{{ .Values.sidecar.repository }}:{{ .Values.sidecar.tag }}"
`;

const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/**
 * Pushes chart `web` 1.0.0 to `<host>/charts`: DEPLOYMENT with `team/app:1.0` (as
 * registry/repository/tag, and as `initImage`, a full reference ending in `initSuffix`)
 * and `team/sidecar:2.0` (repository/tag), all on `host`.
 */
async function publishWebChart(client: RegistryClient, host: string, initSuffix = '') {
  const values = [
    'image:',
    `  registry: ${host}`,
    '  repository: team/app',
    '  tag: "1.0"',
    'sidecar:',
    `  repository: ${host}/team/sidecar`,
    '  tag: "2.0"',
    `initImage: ${host}/team/app:1.0${initSuffix}`,
    '',
  ].join('\n');
  const archive = await makeChartArchive('web', '1.0.0', {
    'templates/deploy.yaml': DEPLOYMENT,
    'values.yaml': values,
  });
  return pushChart(
    client,
    archive,
    { apiVersion: 'v2', name: 'web', version: '1.0.0' },
    `oci://${host}/charts`,
  );
}

/** Tags of a repository; none when the registry does not know it yet. */
async function tagsOf(client: RegistryClient, name: string): Promise<string[]> {
  try {
    return await client.repository(name).tags();
  } catch (e) {
    if (/NAME_UNKNOWN|NOT_FOUND|404/i.test(`${(e as { code?: string }).code} ${(e as Error).message}`))
      return [];
    throw e;
  }
}

/** The images a rendered manifest stream deploys, normalised and sorted. */
function deployed(text: string): string[] {
  return listImages(parseManifests(text, { origin: 'remote' }))
    .images.map((i) => i.normalized)
    .sort();
}

/**
 * A chart whose templates deploy two signed multi-platform images, mirrored with
 * `images` between two real registries (CNCF distribution 2.8, plain HTTP, without the
 * referrers API: referrers use the `sha256-<hex>` tag schema). Checked with skopeo,
 * the library's verifier and the real Helm.
 */
describe.skipIf(missing !== undefined)(
  'mirror chart images between two docker-registry instances',
  { timeout: 120_000 },
  () => {
    let upstream: StartedRegistry;
    let internal: StartedRegistry;
    let client: RegistryClient;
    let work: string;
    let upKeys: { privateKeyPem: string; publicKeyPem: string };
    let inKeys: { privateKeyPem: string; publicKeyPem: string };
    let first: MirrorResult;
    const index: Record<string, { desc: Descriptor; platforms: Descriptor[] }> = {};
    const env = { COSIGN_PASSWORD: 'in' };

    const images = () => `${internal.host}/mirror/images`;
    const chartRef = (prefix = 'mirror') => `${internal.host}/${prefix}/web`;
    /** What the mirrored chart must deploy with its overlay. */
    const expected = () =>
      [
        `${images()}/team/app:1.0`,
        `${images()}/team/app:1.0@${index.app!.desc.digest}`,
        `${images()}/team/sidecar:2.0`,
      ].sort();

    function spec(prefix = 'mirror', concurrency?: number): MirrorSpec {
      return parseMirrorSpec({
        target: { registry: internal.host, prefix, plainHttp: true },
        images: {
          prefix: `${prefix}/images`,
          verify: { key: join(work, 'up.pub'), insecureIgnoreTlog: true },
          ...(concurrency ? { concurrency } : {}),
        },
        sign: { key: join(work, 'in.key') },
        charts: [
          {
            name: 'web',
            source: `oci://${upstream.host}/charts/web`,
            plainHttp: true,
            versions: ['1.0.0'],
            verify: { key: join(work, 'up.pub'), insecureIgnoreTlog: true },
          },
        ],
      });
    }

    async function pushImage(name: string, path: string, tag: string, shared: Uint8Array) {
      const img = imageIndex(path, { layerBytes: 64 * 1024, shared });
      const repo = client.repository(`${upstream.host}/${path}`);
      for (const p of img.parts) if (!(await repo.exists(p.desc))) await repo.push(p.desc, p.data);
      const desc = await repo.pushManifest(img.index.data, { tags: [tag] });
      const signer = await keyFileSigner(upKeys.privateKeyPem, 'up');
      await signLegacy(repo, desc, signer);
      await signBundle(repo, desc, signer);
      const platforms = (JSON.parse(new TextDecoder().decode(img.index.data)) as { manifests: Descriptor[] })
        .manifests;
      index[name] = { desc, platforms };
    }

    beforeAll(async () => {
      [upstream, internal] = await Promise.all([startDockerRegistry('plain'), startDockerRegistry('plain')]);
      work = mkdtempSync(join(tmpdir(), 'cp-mirror-images-int-'));
      [upKeys, inKeys] = await Promise.all([
        generateKeyPair({ password: 'up' }),
        generateKeyPair({ password: 'in' }),
      ]);
      writeFileSync(join(work, 'up.pub'), upKeys.publicKeyPem);
      writeFileSync(join(work, 'in.key'), inKeys.privateKeyPem);
      client = new RegistryClient({ plainHttp: true, retry: { baseDelayMs: 10 } });
      const base = new Uint8Array(128 * 1024).fill(3);
      await pushImage('app', 'team/app', '1.0', base);
      await pushImage('sidecar', 'team/sidecar', '2.0', base);
      const pushed = await publishWebChart(client, upstream.host, `@${index.app!.desc.digest}`);
      const chartRepo = client.repository(`${upstream.host}/charts/web`);
      const subject = await chartRepo.resolve(pushed.digest);
      await signLegacy(chartRepo, subject, await keyFileSigner(upKeys.privateKeyPem, 'up'));
    }, 120_000);

    afterAll(async () => {
      await client?.close();
      await Promise.all([upstream?.stop(), internal?.stop()]);
      if (work) rmSync(work, { recursive: true, force: true });
    });

    it('mirrors the chart with its images: verified, copied, signed, overlay pushed, chart tagged last', async () => {
      const events: MirrorEvent[] = [];
      const report = await applyMirror(spec(), { client, env, onEvent: (e) => events.push(e) });
      first = report.results[0]!;
      expect(first.status, first.reason).toBe('copied');
      expect(first.images?.map((i) => [i.target, i.status, i.digest, i.verification?.verified])).toEqual([
        [`${images()}/team/app:1.0`, 'copied', index.app!.desc.digest, true],
        // The twin reference names the same content: copied and signed once, reported skipped.
        [`${images()}/team/app:1.0@${index.app!.desc.digest}`, 'skipped', index.app!.desc.digest, true],
        [`${images()}/team/sidecar:2.0`, 'copied', index.sidecar!.desc.digest, true],
      ]);
      // Both upstream signatures (legacy `.sig` tag and bundle referrer) travel with each image.
      for (const i of first.images!.filter((x) => x.status === 'copied'))
        expect(i.signaturesCarried, i.target).toBeGreaterThanOrEqual(2);
      expect(first.images![1]!.reason).toMatch(/^same content as .*team\/app:1\.0, placed in this run$/);
      expect(report.summary.images).toEqual({ copied: 2, skipped: 1, refused: 0, failed: 0 });
      expect(first.overlay?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      // The chart's tag is the last write of the run.
      const chartTagged = events.findIndex((e) => e.step === 'tagged' && e.detail === '1.0.0');
      expect(chartTagged).toBeGreaterThan(-1);
      expect(events.findLastIndex((e) => e.step === 'image')).toBeLessThan(chartTagged);
      expect(events.findLastIndex((e) => e.step === 'copied')).toBeLessThan(chartTagged);
    });

    it.skipIf(noSkopeo !== undefined)(
      'skopeo sees the upstream index digest and every platform manifest at the target',
      async () => {
        expect(first, 'the mirror run').toBeDefined();
        for (const [name, tag] of [
          ['app', '1.0'],
          ['sidecar', '2.0'],
        ] as const) {
          const ref = `docker://${images()}/team/${name}:${tag}`;
          const raw = await skopeo(['inspect', '--raw', ref], { target: { tlsVerify: false } });
          expect(sha256(raw.stdoutBytes), ref).toBe(index[name]!.desc.digest);
          const listed = (JSON.parse(raw.stdout) as { manifests: Descriptor[] }).manifests;
          expect(listed.map((m) => m.digest)).toEqual(index[name]!.platforms.map((m) => m.digest));
          for (const m of listed) {
            const child = await skopeo(
              ['inspect', '--raw', `docker://${images()}/team/${name}@${m.digest}`],
              {
                target: { tlsVerify: false },
              },
            );
            expect(sha256(child.stdoutBytes)).toBe(m.digest);
            // And every blob it names (config, shared base layer, own layer) is there.
            const config = await skopeo(
              ['inspect', '--config', '--raw', `docker://${images()}/team/${name}@${m.digest}`],
              { target: { tlsVerify: false } },
            );
            expect((JSON.parse(config.stdout) as { architecture: string }).architecture).toBe(
              (m as Descriptor & { platform: { architecture: string } }).platform.architecture,
            );
          }
        }
      },
    );

    it('the internal signatures verify with the internal key (legacy and bundle), the carried ones with the upstream key', async () => {
      expect(first, 'the mirror run').toBeDefined();
      for (const name of ['app', 'sidecar'] as const) {
        const ref = `${images()}/team/${name}@${index[name]!.desc.digest}`;
        for (const format of ['legacy', 'bundle'] as const) {
          const own = await verifyChart(client, ref, {
            policy: { keys: [inKeys.publicKeyPem], tlog: 'skip' },
            formats: [format],
          });
          expect(own.digest, `${ref} ${format}`).toBe(index[name]!.desc.digest);
          const theirs = await verifyChart(client, ref, {
            policy: { keys: [upKeys.publicKeyPem], tlog: 'skip' },
            formats: [format],
          });
          expect(theirs.digest, `${ref} ${format}`).toBe(index[name]!.desc.digest);
        }
      }
      // A key that signed nothing does not verify: the checks above can fail.
      const other = await generateKeyPair({ password: 'x' });
      await expect(
        verifyChart(client, `${images()}/team/app:1.0`, {
          policy: { keys: [other.publicKeyPem], tlog: 'skip' },
        }),
      ).rejects.toThrow();
    });

    // `app:1.0` and `app:1.0@sha256:…` are two references to one image: it is copied and
    // signed once (two signings at once would race on the `sha256-<hex>` fallback index,
    // which is read, extended and written back), and the bundle the report names is listed.
    it('every internal bundle the report names is listed in the referrers tag fallback (twin references signed once)', async () => {
      expect(first, 'the mirror run').toBeDefined();
      const signed = first.images!.filter((i) => i.internalSignature?.bundle);
      expect(signed.map((i) => i.target)).toEqual([
        `${images()}/team/app:1.0`,
        `${images()}/team/sidecar:2.0`,
      ]);
      const app = await client.repository(`${images()}/team/app`).referrers(index.app!.desc);
      // Upstream bundle + one internal bundle: not two internal ones.
      expect(
        app.filter((d) => d.artifactType === 'application/vnd.dev.sigstore.bundle.v0.3+json'),
      ).toHaveLength(2);
      for (const i of signed) {
        const name = i.target.includes('/team/app') ? 'app' : 'sidecar';
        const listed = await client.repository(`${images()}/team/${name}`).referrers(index[name]!.desc);
        expect(
          listed.map((d) => d.digest),
          `${i.target}: internal bundle ${i.internalSignature?.bundle}`,
        ).toContain(i.internalSignature?.bundle);
      }
    });

    it('fetchValuesOverlays finds the overlay through the referrers tag fallback', async () => {
      expect(first, 'the mirror run').toBeDefined();
      const overlays = await fetchValuesOverlays(client, `${chartRef()}:1.0.0`);
      expect(overlays).toHaveLength(1);
      const [overlay] = overlays;
      expect(overlay!.digest).toBe(first.overlay!.digest);
      expect(overlay!.yaml).toBe(first.overlay!.yaml);
      expect(overlay!.prefix).toBe(images());
      expect(overlay!.images.map((i) => [i.target, i.digest])).toEqual(
        first.images!.map((i) => [i.target, i.digest]),
      );
      // Signed with the internal key (bundle and legacy, found through the fallbacks too).
      const signed = await fetchValuesOverlays(client, `${chartRef()}:1.0.0`, {
        policy: { keys: [inKeys.publicKeyPem], tlog: 'skip' },
      });
      expect(signed.map((o) => [o.digest, o.verified?.format])).toEqual([[first.overlay!.digest, 'bundle']]);
      expect(
        await fetchValuesOverlays(client, `${chartRef()}:1.0.0`, {
          policy: { keys: [upKeys.publicKeyPem], tlog: 'skip' },
        }),
      ).toEqual([]);
      // No referrers API: the listing came from the `sha256-<hex>` fallback tag.
      expect(await tagsOf(client, chartRef())).toContain(first.digest!.replace(':', '-'));
      // Every layout was rewritten.
      expect(overlay!.yaml).toContain(`registry: ${images()}`);
      expect(overlay!.yaml).toContain(`repository: ${images()}/team/sidecar`);
      expect(overlay!.yaml).toContain(`initImage: ${images()}/team/app:1.0@${index.app!.desc.digest}`);
    });

    it.skipIf(!haveHelm)(
      'helm template of the mirrored chart with -f values-internal.yaml deploys only internal images',
      async () => {
        expect(first, 'the mirror run').toBeDefined();
        const dir = mkdtempSync(join(tmpdir(), 'cp-helm-mirror-'));
        try {
          const [overlay] = await fetchValuesOverlays(client, `${chartRef()}:1.0.0`);
          writeFileSync(join(dir, 'values-internal.yaml'), overlay!.yaml);
          const pull = runHelm([
            'pull',
            `oci://${chartRef()}`,
            '--version',
            '1.0.0',
            '--plain-http',
            '-d',
            dir,
          ]);
          expect(pull.status, pull.stderr).toBe(0);
          expect(`${pull.stdout}${pull.stderr}`).toContain(first.digest!);
          const tgz = join(dir, 'web-1.0.0.tgz');
          expect(readFileSync(tgz).byteLength).toBeGreaterThan(0);

          const mirrored = runHelm(['template', 'shop', tgz, '-f', join(dir, 'values-internal.yaml')]);
          expect(mirrored.status, mirrored.stderr).toBe(0);
          expect(deployed(mirrored.stdout)).toEqual(expected());
          // The install itself, straight from the internal registry with the overlay
          // (`--dry-run=client`: Helm's install path up to the API server, no cluster).
          const install = runHelm([
            'install',
            'shop',
            `oci://${chartRef()}`,
            '--version',
            '1.0.0',
            '--plain-http',
            '-f',
            join(dir, 'values-internal.yaml'),
            '--dry-run=client',
          ]);
          expect(install.status, install.stderr).toBe(0);
          expect(`${install.stdout}${install.stderr}`).toContain(first.digest!);
          const manifest = install.stdout.split('\nMANIFEST:\n')[1]?.split('\nNOTES:\n')[0];
          expect(manifest, install.stdout).toBeDefined();
          expect(deployed(manifest!)).toEqual(expected());
          // Without the overlay the same chart still deploys the upstream images.
          const plain = runHelm(['template', 'shop', tgz]);
          expect(plain.status, plain.stderr).toBe(0);
          expect(deployed(plain.stdout).every((i) => i.startsWith(`${upstream.host}/`))).toBe(true);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    );

    it('a re-run skips the chart and every image and writes nothing to the internal registry', async () => {
      expect(first, 'the mirror run').toBeDefined();
      const writes: string[] = [];
      const counting = (async (input: string | URL | Request, init?: RequestInit) => {
        const url = input instanceof Request ? input.url : String(input);
        const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
        if (method !== 'GET' && method !== 'HEAD') writes.push(`${method} ${url}`);
        return undiciFetch(url, init as object);
      }) as unknown as FetchLike;
      const counted = new RegistryClient({ fetch: counting, plainHttp: true });
      const repos = [chartRef(), `${images()}/team/app`, `${images()}/team/sidecar`];
      const tagsBefore = await Promise.all(repos.map((r) => tagsOf(client, r)));
      const steps: string[] = [];
      try {
        const again = await applyMirror(spec(), { client: counted, env, onEvent: (e) => steps.push(e.step) });
        const r = again.results[0]!;
        expect(r.status, r.reason).toBe('skipped');
        expect(r.digest).toBe(first.digest);
        expect(r.images?.map((i) => [i.status, i.pinned])).toEqual(
          first.images!.map((i) => ['skipped', i.pinned]),
        );
        expect(again.summary.images).toEqual({ copied: 0, skipped: 3, refused: 0, failed: 0 });
        expect(r.overlay?.digest).toBe(first.overlay!.digest);
      } finally {
        await counted.close();
      }
      expect(writes).toEqual([]);
      expect(steps.filter((s) => ['image', 'copied', 'signed', 'tagged'].includes(s))).toEqual([]);
      expect(await Promise.all(repos.map((r) => tagsOf(client, r)))).toEqual(tagsBefore);
      expect(await fetchValuesOverlays(client, `${chartRef()}:1.0.0`)).toHaveLength(1);
    });

    it('a run aborted while copying images leaves no chart tag; the re-run completes and tags the chart last', async () => {
      const s = spec('crash', 1);
      const ac = new AbortController();
      const killed = applyMirror(s, {
        client,
        env,
        signal: ac.signal,
        onEvent: (e) => {
          if (e.step === 'image') ac.abort(new Error('killed'));
        },
      });
      await expect(killed).rejects.toThrow('killed');
      // Let the aborted requests settle before looking.
      await new Promise((r) => setTimeout(r, 500));
      expect((await tagsOf(client, chartRef('crash'))).filter((t) => !t.startsWith('sha256-'))).toEqual([]);
      const crashImages = `${internal.host}/crash/images`;
      const tagged = [
        ...(await tagsOf(client, `${crashImages}/team/app`)),
        ...(await tagsOf(client, `${crashImages}/team/sidecar`)),
      ].filter((t) => !t.startsWith('sha256-'));
      // One image was finished (signed, then tagged) when the run was killed; not all of them.
      expect(tagged).toHaveLength(1);

      const events: MirrorEvent[] = [];
      const report = await applyMirror(s, { client, env, onEvent: (e) => events.push(e) });
      const r = report.results[0]!;
      expect(r.status, r.reason).toBe('copied');
      // The finished image is skipped, and so is its digest-pinned twin (same tag, same digest).
      expect(r.images?.map((i) => [i.target, i.status])).toEqual([
        [`${crashImages}/team/app:1.0`, 'skipped'],
        [`${crashImages}/team/app:1.0@${index.app!.desc.digest}`, 'skipped'],
        [`${crashImages}/team/sidecar:2.0`, 'copied'],
      ]);
      const chartTagged = events.findIndex((e) => e.step === 'tagged' && e.detail === '1.0.0');
      expect(chartTagged).toBeGreaterThan(events.findLastIndex((e) => e.step === 'image'));
      expect(await tagsOf(client, chartRef('crash'))).toContain('1.0.0');
      for (const name of ['app', 'sidecar'] as const) {
        const ref = `${crashImages}/team/${name}@${index[name]!.desc.digest}`;
        const own = await verifyChart(client, ref, { policy: { keys: [inKeys.publicKeyPem], tlog: 'skip' } });
        expect(own.digest).toBe(index[name]!.desc.digest);
        for (const p of index[name]!.platforms)
          expect(await client.repository(`${crashImages}/team/${name}`).exists(p), p.digest).toBe(true);
      }
      const [overlay] = await fetchValuesOverlays(client, `${chartRef('crash')}:1.0.0`);
      expect(overlay!.images.map((i) => i.target).sort()).toEqual(
        expected().map((i) => i.replace('/mirror/images/', '/crash/images/')),
      );
    });
  },
);

describe.skipIf(missing !== undefined)(
  'mirror chart images into a docker-registry behind a token server (bearer auth, scoped tokens)',
  { timeout: 120_000 },
  () => {
    let upstream: StartedRegistry;
    let internal: StartedRegistry;
    let client: RegistryClient;
    let work: string;
    const digests: Record<string, string> = {};

    beforeAll(async () => {
      [upstream, internal] = await Promise.all([startDockerRegistry('plain'), startDockerRegistry('token')]);
      work = mkdtempSync(join(tmpdir(), 'cp-mirror-images-token-'));
      const inKeys = await generateKeyPair({ password: 'in' });
      writeFileSync(join(work, 'in.key'), inKeys.privateKeyPem);
      client = new RegistryClient({
        plainHttp: true,
        credentials: staticCredentials({
          [internal.host]: { username: internal.username!, password: internal.password! },
        }),
        retry: { baseDelayMs: 10 },
      });
      // Two images sharing a base layer: the second one's copy mounts it across repositories,
      // which needs a token with pull on the first repository and push on the second.
      const base = new Uint8Array(96 * 1024).fill(5);
      for (const [path, tag] of [
        ['team/app', '1.0'],
        ['team/sidecar', '2.0'],
      ] as const) {
        const img = imageIndex(path, { layerBytes: 32 * 1024, shared: base });
        const repo = client.repository(`${upstream.host}/${path}`);
        for (const p of img.parts) if (!(await repo.exists(p.desc))) await repo.push(p.desc, p.data);
        digests[path] = (await repo.pushManifest(img.index.data, { tags: [tag] })).digest;
      }
      await publishWebChart(client, upstream.host);
    }, 120_000);

    afterAll(async () => {
      await client?.close();
      await Promise.all([upstream?.stop(), internal?.stop()]);
      if (work) rmSync(work, { recursive: true, force: true });
    });

    it('copies, signs and tags every image, mounts the shared layer, and pushes the overlay', async () => {
      const spec = parseMirrorSpec({
        target: { registry: internal.host, prefix: 'mirror', plainHttp: true },
        images: true,
        sign: { key: join(work, 'in.key') },
        charts: [
          { name: 'web', source: `oci://${upstream.host}/charts/web`, plainHttp: true, versions: ['1.0.0'] },
        ],
      });
      const report = await applyMirror(spec, { client, env: { COSIGN_PASSWORD: 'in' } });
      const result = report.results[0]!;
      expect(result.status, result.reason).toBe('copied');
      expect(result.images?.map((i) => [i.target, i.status, i.digest])).toEqual([
        [`${internal.host}/mirror/images/team/app:1.0`, 'copied', digests['team/app']],
        [`${internal.host}/mirror/images/team/sidecar:2.0`, 'copied', digests['team/sidecar']],
      ]);
      for (const i of result.images!) expect(i.internalSignature?.legacy, i.target).toMatch(/\.sig$/);
      // Every image is at the target by its digest, through the same token flow.
      for (const i of result.images!) {
        const d = await client
          .repository(i.target.replace(/:[^:/]+$/, ''))
          .resolve(i.target.split(':').pop()!);
        expect(d.digest).toBe(i.digest);
      }
      const [overlay] = await fetchValuesOverlays(client, `${internal.host}/mirror/web:1.0.0`);
      expect(overlay!.yaml).toContain(`registry: ${internal.host}/mirror/images`);
      // The bearer flow was taken, and the shared layer was mounted across repositories: a
      // token pairing push on one image repository with pull on the other was asked for.
      const tokens = internal.tokenServer!.issued;
      expect(tokens.length).toBeGreaterThan(0);
      const repos = ['mirror/images/team/app', 'mirror/images/team/sidecar'];
      const mount = tokens.find((t) =>
        repos.some(
          (to, i) =>
            t.access.some((a) => a.name === to && a.actions.includes('push')) &&
            t.access.some((a) => a.name === repos[1 - i] && a.actions.includes('pull')),
        ),
      );
      expect(mount, JSON.stringify(tokens.map((t) => t.access))).toBeDefined();
      // A re-run skips everything: nothing is copied twice.
      const again = await applyMirror(spec, { client, env: { COSIGN_PASSWORD: 'in' } });
      expect(again.results[0]!.images?.map((i) => i.status)).toEqual(['skipped', 'skipped']);
    });
  },
);
