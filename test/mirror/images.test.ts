import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadChartArchive } from '../../src/chart/load.js';
import { pullChart, pushChart } from '../../src/chart/oci.js';
import { generateKeyPair, keyFileSigner } from '../../src/keys/keys.js';
import { applyMirror, mirrorSummaryLine } from '../../src/mirror/apply.js';
import { detectDrift, driftSummaryLine } from '../../src/mirror/drift.js';
import { fetchValuesOverlays } from '../../src/mirror/images.js';
import { planMirror } from '../../src/mirror/plan.js';
import { type MirrorSpec, parseMirrorSpec } from '../../src/mirror/spec.js';
import { type Descriptor, RegistryClient } from '../../src/oci/index.js';
import type { Scanner } from '../../src/mirror/scan.js';
import { parseManifests } from '../../src/render/parse.js';
import { renderChart } from '../../src/render/render.js';
import { signLegacy } from '../../src/sign/legacy.js';
import { signBundle } from '../../src/sign/referrer.js';
import { verifyChart } from '../../src/verify/chart.js';
import { listImages } from '../../src/workloads/images.js';
import { makeChartArchive } from '../helpers/chart-repo.js';
import { imageIndex } from '../helpers/content.js';
import { type ListeningFixture, listeningFixture } from '../helpers/registry.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { run } from '../../src/cli/main.js';
import { captureIo } from '../helpers/cli-io.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
      containers:
        - name: app
          image: "{{ .Values.image.registry }}/{{ .Values.image.repository }}:{{ .Values.image.tag }}"
        - name: sidecar
          image: {{ .Values.sidecar.image | quote }}
`;

describe('mirror with images (two in-memory registries on loopback)', () => {
  let up: ListeningFixture;
  let inn: ListeningFixture;
  let client: RegistryClient;
  let dir: string;
  let upKeys: { privateKeyPem: string; publicKeyPem: string };
  let inKeys: { privateKeyPem: string; publicKeyPem: string };
  const images: Record<string, Descriptor> = {};

  async function pushImage(path: string, tag: string, sign: boolean, shared?: Uint8Array) {
    const img = imageIndex(path, { layerBytes: 4096, ...(shared ? { shared } : {}) });
    const repo = client.repository(`${up.server.host}/${path}`);
    for (const p of img.parts) await repo.push(p.desc, p.data);
    const desc = await repo.pushManifest(img.index.data, { tags: [tag] });
    if (sign) await signLegacy(repo, desc, await keyFileSigner(upKeys.privateKeyPem, 'up'));
    images[`${path}:${tag}`] = desc;
    return desc;
  }

  async function publishChart(
    name: string,
    version: string,
    templates: Record<string, string>,
    values: string,
  ) {
    const archive = await makeChartArchive(name, version, { ...templates, 'values.yaml': values });
    await pushChart(client, archive, { name, version, apiVersion: 'v2' }, `oci://${up.server.host}/charts`);
  }

  function spec(extra: Partial<MirrorSpec> = {}, chart: Record<string, unknown> = {}): MirrorSpec {
    return parseMirrorSpec({
      target: { registry: inn.server.host, prefix: 'mirror', plainHttp: true },
      images: { verify: { key: join(dir, 'up.pub'), insecureIgnoreTlog: true } },
      sign: { key: join(dir, 'in.key') },
      ...extra,
      charts: [{ name: 'web', source: `oci://${up.server.host}/charts/web`, versions: ['1.0.0'], ...chart }],
    });
  }

  beforeAll(async () => {
    up = await listeningFixture();
    inn = await listeningFixture();
    client = up.client;
    dir = mkdtempSync(join(tmpdir(), 'cp-mirror-images-'));
    upKeys = await generateKeyPair({ password: 'up' });
    inKeys = await generateKeyPair({ password: 'in' });
    writeFileSync(join(dir, 'up.pub'), upKeys.publicKeyPem);
    writeFileSync(join(dir, 'in.key'), inKeys.privateKeyPem);
    const base = new Uint8Array(8192).fill(7);
    await pushImage('team/app', '1.0', true, base);
    await pushImage('team/sidecar', '2.0', true, base);
    await pushImage('team/unsigned', '1.0', false);
    const values = (sidecar: string) =>
      `image:\n  registry: ${up.server.host}\n  repository: team/app\n  tag: "1.0"\nsidecar:\n  image: ${up.server.host}/${sidecar}\n`;
    await publishChart('web', '1.0.0', { 'templates/deploy.yaml': DEPLOYMENT }, values('team/sidecar:2.0'));
    await publishChart('web', '2.0.0', { 'templates/deploy.yaml': DEPLOYMENT }, values('team/unsigned:1.0'));
    await publishChart('api', '1.0.0', { 'templates/deploy.yaml': DEPLOYMENT }, values('team/sidecar:2.0'));
    await publishChart(
      'web',
      '3.0.0',
      {
        'templates/deploy.yaml': `${DEPLOYMENT}        - name: fixed\n          image: ${up.server.host}/team/app:1.0\n`,
      },
      values('team/sidecar:2.0'),
    );
  });

  afterAll(async () => {
    await up?.close();
    await inn?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const env = { COSIGN_PASSWORD: 'in' };

  it('plans each image: digest, verification, and the overlay', async () => {
    const [item] = await planMirror(spec(), { client });
    expect(item!.action).toBe('copy');
    expect(
      item!.images?.map((i) => [i.source, i.target, i.action, i.digest, i.verification?.verified]),
    ).toEqual([
      [
        `${up.server.host}/team/app:1.0`,
        `${inn.server.host}/mirror/images/team/app:1.0`,
        'copy',
        images['team/app:1.0']!.digest,
        true,
      ],
      [
        `${up.server.host}/team/sidecar:2.0`,
        `${inn.server.host}/mirror/images/team/sidecar:2.0`,
        'copy',
        images['team/sidecar:2.0']!.digest,
        true,
      ],
    ]);
    expect(item!.overlay?.yaml).toContain(`registry: ${inn.server.host}/mirror/images`);
    // Planning writes nothing.
    expect(await inn.registry.repository('mirror/images/team/app').tags()).toEqual([]);
  });

  it('looks the images up while the chart is scanned; a refused chart leaves no lookup running', async () => {
    const urls: string[] = [];
    const watched = new RegistryClient({
      plainHttp: true,
      onEvent: (e) => {
        if (e.type === 'request') urls.push(e.url);
      },
    });
    const lookedUp = () => urls.some((u) => u.includes('/team/app/manifests/'));
    // A scanner that finishes only once an image lookup went out (or after 5 s): with
    // the lookups sent after the scan, it would time out and the check below fail.
    let duringScan = false;
    const waits: Scanner = {
      name: 'waits-for-lookups',
      async scan() {
        const until = Date.now() + 5000;
        while (!lookedUp() && Date.now() < until) await new Promise((r) => setTimeout(r, 2));
        duringScan = lookedUp();
        return [];
      },
    };
    try {
      const [item] = await planMirror(spec(), { client: watched, scanners: [waits] });
      expect(item!.action).toBe('copy');
      expect(duringScan).toBe(true);
      expect(item!.images?.map((i) => i.action)).toEqual(['copy', 'copy']);

      // Refused by the scan: no images on the item, and every lookup is over on return.
      const blocks: Scanner = {
        name: 'blocks',
        async scan() {
          const until = Date.now() + 5000;
          while (!lookedUp() && Date.now() < until) await new Promise((r) => setTimeout(r, 2));
          return [
            { rule: 'test-block', severity: 'critical', message: 'blocked by the test', chart: 'web-1.0.0' },
          ];
        },
      };
      urls.length = 0;
      const [refused] = await planMirror(spec({ scan: { block: 'high' } }), {
        client: watched,
        scanners: [blocks],
      });
      expect(refused!.action).toBe('refuse');
      expect(refused!.reason).toMatch(/test-block/);
      expect(refused!.images).toBeUndefined();
      const sent = urls.length;
      expect(lookedUp()).toBe(true);
      await new Promise((r) => setTimeout(r, 50));
      expect(urls.length).toBe(sent);
    } finally {
      await watched.close();
    }
  });

  it('copies the images whole with their signatures, signs them, pushes the overlay, tags the chart last; a re-run skips', async () => {
    const report = await applyMirror(spec(), { client, env });
    const r = report.results[0]!;
    expect(r.status, r.reason).toBe('copied');
    expect(r.images?.map((i) => [i.status, i.digest])).toEqual([
      ['copied', images['team/app:1.0']!.digest],
      ['copied', images['team/sidecar:2.0']!.digest],
    ]);
    expect(r.images?.every((i) => i.signaturesCarried === 1 && i.internalSignature?.legacy)).toBe(true);
    expect(report.summary.images).toEqual({ copied: 2, skipped: 0, refused: 0, failed: 0 });
    expect(mirrorSummaryLine(report)).toMatch(/; images: 2 copied, 0 skipped, 0 refused, 0 failed$/);

    // Same index digest at the target, every platform present, upstream and internal signatures verify.
    const target = `${inn.server.host}/mirror/images/team/app`;
    const fetched = await client.repository(target).fetchManifest('1.0');
    expect(fetched.descriptor.digest).toBe(images['team/app:1.0']!.digest);
    for (const m of fetched.manifest.manifests as Descriptor[])
      expect(await client.repository(target).exists(m)).toBe(true);
    await expect(
      verifyChart(client, `${target}@${fetched.descriptor.digest}`, {
        policy: { keys: [inKeys.publicKeyPem], tlog: 'skip' },
      }),
    ).resolves.toBeTruthy();
    await expect(
      verifyChart(client, `${target}@${fetched.descriptor.digest}`, {
        policy: { keys: [upKeys.publicKeyPem], tlog: 'skip' },
      }),
    ).resolves.toBeTruthy();

    // The overlay next to the chart renders every image from the internal registry.
    const overlays = await fetchValuesOverlays(client, `${inn.server.host}/mirror/web:1.0.0`);
    expect(overlays).toHaveLength(1);
    expect(overlays[0]!.digest).toBe(r.overlay?.digest);
    expect(overlays[0]!.yaml).toBe(r.overlay?.yaml);
    expect(overlays[0]!.images.map((i) => i.digest)).toEqual(r.images?.map((i) => i.digest));
    const pulled = await pullChart(client, `oci://${inn.server.host}/mirror/web`, { version: '1.0.0' });
    const chart = await loadChartArchive(pulled.archive);
    const rendered = renderChart(chart, {
      values: { valueFiles: [{ name: 'values-internal.yaml', text: overlays[0]!.yaml }] },
    });
    const used = listImages(parseManifests(rendered.text, { origin: 'remote' })).images.map(
      (i) => i.normalized,
    );
    expect(used.sort()).toEqual([
      `${inn.server.host}/mirror/images/team/app:1.0`,
      `${inn.server.host}/mirror/images/team/sidecar:2.0`,
    ]);

    const again = await applyMirror(spec(), { client, env });
    expect(again.results[0]!.status).toBe('skipped');
    expect(again.summary.images).toEqual({ copied: 0, skipped: 2, refused: 0, failed: 0 });
    expect(again.results[0]!.overlay?.digest).toBe(r.overlay?.digest);
    expect(await fetchValuesOverlays(client, `${inn.server.host}/mirror/web:1.0.0`)).toHaveLength(1);
  });

  it('signs the overlay with the internal key; only overlays that verify count with a policy', async () => {
    const target = await listeningFixture();
    try {
      const s = parseMirrorSpec({
        target: { registry: target.server.host, prefix: 'signed', plainHttp: true },
        images: { verify: { key: join(dir, 'up.pub'), insecureIgnoreTlog: true } },
        sign: { key: join(dir, 'in.key') },
        charts: [{ name: 'web', source: `oci://${up.server.host}/charts/web`, versions: ['1.0.0'] }],
      });
      const r = (await applyMirror(s, { client, env })).results[0]!;
      expect(r.status, r.reason).toBe('copied');
      expect(r.overlay?.internalSignature?.legacy).toBe(`${r.overlay!.digest!.replace(':', '-')}.sig`);
      expect(r.overlay?.internalSignature?.bundle).toMatch(/^sha256:[0-9a-f]{64}$/);
      const ref = `${target.server.host}/signed/web:1.0.0`;
      const internal = { keys: [inKeys.publicKeyPem], tlog: 'skip' as const };
      const verified = await fetchValuesOverlays(client, ref, { policy: internal });
      expect(verified.map((o) => [o.digest, o.verified?.format])).toEqual([[r.overlay!.digest, 'bundle']]);
      // The upstream key did not sign it.
      expect(
        await fetchValuesOverlays(client, ref, { policy: { keys: [upKeys.publicKeyPem], tlog: 'skip' } }),
      ).toEqual([]);

      // Someone with push access plants a second overlay pointing the images elsewhere.
      const repo = client.repository(`${target.server.host}/signed/web`);
      const root = await repo.resolve('1.0.0');
      const { pushOverlay } = await import('../../src/mirror/images.js');
      const planted = await pushOverlay(
        repo,
        root,
        {
          prefix: 'evil.example/x',
          yaml: 'image:\n  registry: evil.example\n',
          values: {},
          rewrites: [],
        } as never,
        [],
      );
      expect(planted.pushed).toBe(true);
      expect((await fetchValuesOverlays(client, ref)).map((o) => o.prefix)).toEqual([
        `${target.server.host}/signed/images`,
        'evil.example/x',
      ]);
      expect((await fetchValuesOverlays(client, ref, { policy: internal })).map((o) => o.digest)).toEqual([
        r.overlay!.digest,
      ]);
      // A malformed planted overlay breaks the unverified listing, not the verified one.
      const empty = new TextEncoder().encode('{}');
      const emptyDesc = {
        mediaType: 'application/vnd.oci.empty.v1+json',
        digest: `sha256:${createHash('sha256').update(empty).digest('hex')}`,
        size: 2,
      } as Descriptor;
      if (!(await repo.exists(emptyDesc))) await repo.push(emptyDesc, empty);
      const broken = await repo.pushManifest(
        new TextEncoder().encode(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            artifactType: 'application/vnd.chartproof.values-overlay.v1',
            config: emptyDesc,
            layers: [],
            subject: { mediaType: root.mediaType, digest: root.digest, size: root.size },
          }),
        ),
        { mediaType: 'application/vnd.oci.image.manifest.v1+json' },
      );
      await expect(fetchValuesOverlays(client, ref)).rejects.toThrow(
        /missing the values or image mapping layer/,
      );
      // ... and a broken `.sig` for it (an index, not a signature manifest) does not either.
      await repo.pushManifest(
        new TextEncoder().encode(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: 'application/vnd.oci.image.index.v1+json',
            manifests: [],
          }),
        ),
        {
          mediaType: 'application/vnd.oci.image.index.v1+json',
          tags: [`${broken.digest.replace(':', '-')}.sig`],
        },
      );
      expect((await fetchValuesOverlays(client, ref, { policy: internal })).map((o) => o.digest)).toEqual([
        r.overlay!.digest,
      ]);

      // CLI: --key picks the signed overlay; the planted one alone (by prefix) is refused.
      writeFileSync(join(dir, 'in.pub'), inKeys.publicKeyPem);
      const ok = captureIo('', { HOME: dir });
      expect(
        await run(
          ['mirror', 'overlay', ref, '--plain-http', '--key', join(dir, 'in.pub'), '--insecure-ignore-tlog'],
          ok.io,
        ),
        ok.err(),
      ).toBe(0);
      expect(ok.out()).toBe(r.overlay!.yaml);
      const evil = captureIo('', { HOME: dir });
      expect(
        await run(
          [
            'mirror',
            'overlay',
            ref,
            '--plain-http',
            '--prefix',
            'evil.example/x',
            '--key',
            join(dir, 'in.pub'),
            '--insecure-ignore-tlog',
          ],
          evil.io,
        ),
      ).toBe(1);
      expect(evil.err()).toMatch(/no values overlay signed to satisfy the policy refers to/);
      const misuse = captureIo('', { HOME: dir });
      expect(
        await run(['mirror', 'plan', '--config', join(dir, 'x.yaml'), '--key', 'k.pub'], misuse.io),
      ).toBe(2);
      expect(misuse.err()).toMatch(/--key applies to mirror drift and mirror overlay/);
    } finally {
      await target.close();
    }
  });

  it('signs an overlay a killed run left unsigned when the chart is mirrored again', async () => {
    const target = await listeningFixture();
    try {
      const s = (signed: boolean) =>
        parseMirrorSpec({
          target: { registry: target.server.host, prefix: 'resume', plainHttp: true },
          images: { verify: { key: join(dir, 'up.pub'), insecureIgnoreTlog: true } },
          ...(signed ? { sign: { key: join(dir, 'in.key') } } : {}),
          charts: [{ name: 'web', source: `oci://${up.server.host}/charts/web`, versions: ['1.0.0'] }],
        });
      // Without a key the overlay is pushed unsigned (the state a kill between the two leaves).
      const first = (await applyMirror(s(false), { client, env })).results[0]!;
      expect(first.overlay?.internalSignature).toBeUndefined();
      const ref = `${target.server.host}/resume/web:1.0.0`;
      const internal = { keys: [inKeys.publicKeyPem], tlog: 'skip' as const };
      expect(await fetchValuesOverlays(client, ref, { policy: internal })).toEqual([]);
      // Someone else signs it first, in both formats: their signatures are not ours.
      const other = await keyFileSigner(upKeys.privateKeyPem, 'up');
      const overlayRepo = client.repository(`${target.server.host}/resume/web`);
      const overlayDesc = await overlayRepo.resolve(first.overlay!.digest!);
      await signLegacy(overlayRepo, overlayDesc, other);
      await signBundle(overlayRepo, overlayDesc, other);
      expect(await fetchValuesOverlays(client, ref, { policy: internal })).toEqual([]);
      const second = (await applyMirror(s(true), { client, env })).results[0]!;
      expect(second.overlay?.digest).toBe(first.overlay?.digest);
      expect(second.overlay?.internalSignature?.legacy).toMatch(/\.sig$/);
      expect((await fetchValuesOverlays(client, ref, { policy: internal })).map((o) => o.digest)).toEqual([
        first.overlay!.digest,
      ]);
      // A third run finds both signatures and writes none.
      const writes = () =>
        target.registry.requests.filter((q) => q.method === 'PUT' || q.method === 'POST').length;
      const before = writes();
      const third = (await applyMirror(s(true), { client, env })).results[0]!;
      expect(third.overlay?.internalSignature).toEqual(second.overlay?.internalSignature);
      expect(writes()).toBe(before);
    } finally {
      await target.close();
    }
  });

  it('refuses a chart whose image is unsigned, and writes none of it', async () => {
    const report = await applyMirror(spec({}, { versions: ['2.0.0'] }), { client, env });
    const r = report.results[0]!;
    expect(r.status).toBe('refused');
    expect(r.reason).toMatch(/image .*team\/unsigned:1\.0: upstream signature/);
    expect(await inn.registry.repository('mirror/web').tags()).not.toContain('2.0.0');
    expect(await inn.registry.repository('mirror/images/team/unsigned').tags()).toEqual([]);
  });

  /** Publishes a chart of one Pod (`containers`: the lines under `spec.containers`) and plans its mirror. */
  async function planPodChart(name: string, containers: string, values: string) {
    const pod = `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n  containers:\n${containers}`;
    await publishChart(name, '1.0.0', { 'templates/pod.yaml': pod }, values);
    const [item] = await planMirror(spec({}, { name, source: `oci://${up.server.host}/charts/${name}` }), {
      client,
    });
    return item!;
  }

  it('refuses a chart deploying more images than the bound, before resolving any', async () => {
    const containers = `{{- range $i, $img := .Values.images }}
    - name: c{{ $i }}
      image: {{ $img.repository }}:1
{{- end }}
`;
    const values = `images:\n${Array.from({ length: 501 }, (_, i) => `  - repository: ${up.server.host}/many/img${i}\n`).join('')}`;
    const item = await planPodChart('many', containers, values);
    expect(item.action).toBe('refuse');
    expect(item.reason).toMatch(/deploys 501 images, more than 500/);
    expect(item.images).toBeUndefined();
  });

  it('fails a chart version whose image is missing upstream, with the source lookup as the reason', async () => {
    // The target tag is looked up beside the source: its absence (404) must not hide the source's.
    const item = await planPodChart(
      'lost',
      '    - name: c\n      image: {{ .Values.image.repository }}:{{ .Values.image.tag }}\n',
      `image:\n  repository: ${up.server.host}/team/never-pushed\n  tag: "1.0"\n`,
    );
    expect(item.action).toBe('fail');
    expect(item.images?.[0]?.action).toBe('fail');
    expect(item.images?.[0]?.reason).toMatch(/^not found at the source: /);
    expect(item.reason).toMatch(/team\/never-pushed:1\.0: not found at the source/);
  });

  it('refuses a chart with an image its values do not expose', async () => {
    const [item] = await planMirror(spec({}, { versions: ['3.0.0'] }), { client });
    expect(item!.action).toBe('refuse');
    expect(item!.reason).toMatch(/^images: .*still point outside/);
  });

  it('leaves test hooks out with images.skipTests, and refuses their hard-coded images without it', async () => {
    // podinfo's shape: the test hook runs a literal image the values cannot re-point.
    const testHook = `apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-test
  annotations:
    helm.sh/hook: test
spec:
  containers:
    - name: curl
      image: docker.io/curlimages/curl:7.69.0
`;
    await publishChart(
      'tested',
      '1.0.0',
      { 'templates/deploy.yaml': DEPLOYMENT, 'templates/tests/test.yaml': testHook },
      `image:\n  registry: ${up.server.host}\n  repository: team/app\n  tag: "1.0"\nsidecar:\n  image: ${up.server.host}/team/sidecar:2.0\n`,
    );
    const chart = { name: 'tested', source: `oci://${up.server.host}/charts/tested` };
    const verify = { key: join(dir, 'up.pub'), insecureIgnoreTlog: true };
    const [strict] = await planMirror(spec({}, chart), { client });
    expect(strict!.action).toBe('refuse');
    expect(strict!.reason).toMatch(/still point outside.*curlimages\/curl:7\.69\.0/);
    const [skipped] = await planMirror(spec({ images: { verify, skipTests: true } } as never, chart), {
      client,
    });
    expect(skipped!.action).toBe('copy');
    expect(skipped!.images?.map((i) => i.source)).toEqual([
      `${up.server.host}/team/app:1.0`,
      `${up.server.host}/team/sidecar:2.0`,
    ]);
    // Per chart too, and a non-boolean is refused by the spec parser.
    const [perChart] = await planMirror(spec({}, { ...chart, images: { skipTests: true } }), { client });
    expect(perChart!.action).toBe('copy');
    expect(() => spec({ images: { skipTests: 'yes' } } as never)).toThrow(/skipTests/);
  });

  it('refuses an image whose upstream tag moved since it was mirrored', async () => {
    const moved = imageIndex('team/sidecar-moved', { layerBytes: 512 });
    const repo = client.repository(`${up.server.host}/team/sidecar`);
    for (const p of moved.parts) await repo.push(p.desc, p.data);
    const before = await detectDrift(spec(), { client });
    expect(before.items[0]!.images?.map((i) => i.status)).toEqual(['up-to-date', 'up-to-date']);
    expect(before.summary.images?.['up-to-date']).toBe(2);
    await repo.pushManifest(moved.index.data, { tags: ['2.0'] });
    try {
      const drift = await detectDrift(spec(), { client });
      const sidecar = drift.items[0]!.images?.find((i) => i.source.endsWith('sidecar:2.0'));
      expect(sidecar?.status).toBe('changed-upstream');
      expect(sidecar?.upstreamDigest).toBe(moved.index.desc.digest);
      expect(sidecar?.digest).toBe(images['team/sidecar:2.0']!.digest);
      expect(driftSummaryLine(drift)).toMatch(/; images: 1 up to date, 1 changed upstream/);
      const [item] = await planMirror(spec(), { client });
      expect(item!.action).toBe('refuse');
      expect(item!.images?.find((i) => i.source.endsWith('sidecar:2.0'))?.reason).toMatch(
        /the internal tag names sha256:.*not overwritten/,
      );
    } finally {
      await repo.tag(images['team/sidecar:2.0']!, '2.0');
    }
  });

  it('CLI: plan lists the images, apply writes the overlays, mirror overlay reads one back', async () => {
    const out = await listeningFixture();
    try {
      const file = join(dir, 'spec.yaml');
      writeFileSync(
        file,
        [
          'target:',
          `  registry: ${out.server.host}`,
          '  prefix: cli',
          '  plainHttp: true',
          'images:',
          '  hosts:',
          `    ${up.server.host}: {plainHttp: true}`,
          'charts:',
          `  - {name: web, source: oci://${up.server.host}/charts/web, versions: [1.0.0], plainHttp: true}`,
          '',
        ].join('\n'),
      );
      const plan = captureIo('', { HOME: dir });
      expect(await run(['mirror', 'plan', '--config', file], plan.io), plan.err()).toBe(0);
      expect(plan.out()).toContain(
        `  image copy   ${up.server.host}/team/app:1.0 -> ${out.server.host}/cli/images/team/app:1.0 (sha256:`,
      );
      const overlays = join(dir, 'overlays');
      const apply = captureIo('', { HOME: dir });
      expect(
        await run(['mirror', 'apply', '--config', file, '--overlay-dir', overlays], apply.io),
        apply.err(),
      ).toBe(0);
      expect(apply.out()).toMatch(/\n {2}image copied {2}\S+\/cli\/images\/team\/app@sha256:/);
      expect(apply.out()).toMatch(/; images: 2 copied, 0 skipped, 0 refused, 0 failed\n$/);
      const written = readFileSync(join(overlays, 'web-1.0.0.values-internal.yaml'), 'utf8');
      expect(written).toContain(`${out.server.host}/cli/images`);
      const read = captureIo('', { HOME: dir });
      expect(
        await run(['mirror', 'overlay', `${out.server.host}/cli/web:1.0.0`, '--plain-http'], read.io),
        read.err(),
      ).toBe(0);
      expect(read.out()).toBe(written);
      const none = captureIo('', { HOME: dir });
      expect(
        await run(
          [
            'mirror',
            'overlay',
            `${out.server.host}/cli/web:1.0.0`,
            '--prefix',
            'other.example/x',
            '--plain-http',
          ],
          none.io,
        ),
      ).toBe(1);
      expect(none.err()).toMatch(/no values overlay refers to/);
      const misuse = captureIo('', { HOME: dir });
      expect(await run(['mirror', 'plan', '--config', file, '--overlay-dir', overlays], misuse.io)).toBe(2);
    } finally {
      await out.close();
    }
  });

  describe('interrupted runs', () => {
    let fresh: ListeningFixture;
    beforeEach(async () => {
      fresh = await listeningFixture();
      return () => fresh.close();
    });

    it('copies an image two charts of one run deploy once', async () => {
      const s = parseMirrorSpec({
        target: { registry: fresh.server.host, prefix: 'mirror', plainHttp: true },
        images: true,
        concurrency: 2,
        charts: ['web', 'api'].map((name) => ({
          name,
          source: `oci://${up.server.host}/charts/${name}`,
          versions: ['1.0.0'],
        })),
      });
      const puts: string[] = [];
      const report = await applyMirror(s, {
        client,
        onEvent: (e) => {
          if (e.step === 'image') puts.push(e.detail!);
        },
      });
      expect(report.results.map((r) => r.status)).toEqual(['copied', 'copied']);
      // Each image copied once (two image events, not four), the other chart reports it skipped.
      expect(puts).toHaveLength(2);
      expect(report.summary.images).toEqual({ copied: 2, skipped: 0, refused: 0, failed: 0 });
      const statuses = report.results.flatMap((r) => r.images!.map((i) => i.status)).sort();
      expect(statuses.filter((x) => x === 'copied')).toHaveLength(2);
      expect(statuses.filter((x) => x === 'skipped')).toHaveLength(2);
    });

    it('resumes after an abort: no chart tag before its images, the re-run completes', async () => {
      const s = parseMirrorSpec({
        target: { registry: fresh.server.host, prefix: 'mirror', plainHttp: true },
        images: true,
        charts: [{ name: 'web', source: `oci://${up.server.host}/charts/web`, versions: ['1.0.0'] }],
      });
      const ac = new AbortController();
      await expect(
        applyMirror(s, {
          client,
          signal: ac.signal,
          onEvent: (e) => {
            if (e.step === 'image') ac.abort();
          },
        }),
      ).rejects.toThrow();
      expect(await fresh.registry.repository('mirror/web').tags()).toEqual([]);
      const report = await applyMirror(s, { client });
      expect(report.results[0]!.status).toBe('copied');
      expect(report.summary.images!.copied + report.summary.images!.skipped).toBe(2);
      expect(await fresh.registry.repository('mirror/web').tags()).toEqual(['1.0.0']);
    });
  });
});

describe('mirror spec images', () => {
  const base = { target: { registry: 'internal:5000', prefix: 'charts' } };
  const chart = { name: 'a', source: 'oci://x/a', versions: ['1'] };
  it('resolves per-chart settings over the spec’s', async () => {
    const { chartImages, imagesPrefix } = await import('../../src/mirror/spec.js');
    const spec = parseMirrorSpec({
      ...base,
      images: { prefix: 'img', concurrency: 3 },
      charts: [
        chart,
        { ...chart, name: 'b', images: false },
        { ...chart, name: 'c', images: { sign: false } },
      ],
    });
    expect(chartImages(spec, spec.charts[0]!)).toEqual({ prefix: 'img', concurrency: 3 });
    expect(chartImages(spec, spec.charts[1]!)).toBeUndefined();
    expect(chartImages(spec, spec.charts[2]!)).toEqual({ prefix: 'img', concurrency: 3, sign: false });
    const plain = parseMirrorSpec({ ...base, charts: [{ ...chart, images: true }] });
    expect(imagesPrefix(plain, chartImages(plain, plain.charts[0]!)!)).toBe('charts/images');
  });

  it('the example spec mirrors images', async () => {
    const { loadMirrorSpec } = await import('../../src/mirror/spec.js');
    const example = await loadMirrorSpec(join(import.meta.dirname, '../../examples/mirror-spec.yaml'));
    expect(example.images).toEqual({});
    expect(example.charts.length).toBeGreaterThan(0);
  });

  it.each([
    [{ images: { bogus: 1 } }, /images\.bogus: unknown field/],
    [{ images: 'yes' }, /images: must be true, false or a mapping/],
    [{ images: { prefix: 'Bad Path' } }, /images\.prefix: .* not a valid repository path/],
    [{ images: { concurrency: 0 } }, /images\.concurrency/],
    [{ images: { verify: { keyring: 'k.gpg' } } }, /not a keyring/],
  ])('rejects %j', (extra, message) => {
    expect(() => parseMirrorSpec({ ...base, ...extra, charts: [chart] })).toThrow(message);
  });
});
