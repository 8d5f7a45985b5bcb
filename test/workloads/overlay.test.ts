import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadChartArchive } from '../../src/chart/load.js';
import { loadChartDirectory } from '../../src/chart/package.js';
import { parseManifests } from '../../src/render/parse.js';
import { renderChart } from '../../src/render/render.js';
import { listImages } from '../../src/workloads/images.js';
import { buildImageOverlay } from '../../src/workloads/overlay.js';
import { makeChartArchive } from '../helpers/chart-repo.js';
import { expectThrowsCode } from '../helpers/expect-error.js';
import { helmAvailable, runHelm } from '../helpers/helm.js';
import { describeVectors } from '../helpers/vectors.js';
import { parse } from 'yaml';

const PREFIX = 'registry.internal/mirror';

const deployment = (image: string, name = 'app') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  template:
    spec:
      containers:
        - name: ${name}
          image: ${image}
`;

async function chartOf(values: string, templates: Record<string, string>) {
  const files: Record<string, string> = { 'values.yaml': values };
  for (const [k, v] of Object.entries(templates)) files[`templates/${k}`] = v;
  return loadChartArchive(await makeChartArchive('app', '1.0.0', files));
}

function imagesWith(chart: Awaited<ReturnType<typeof chartOf>>, overlay: Record<string, unknown>) {
  const text = renderChart(chart, {
    values: { valueFiles: [{ name: 'values-internal.yaml', text: JSON.stringify(overlay) }] },
  }).text;
  return listImages(parseManifests(text)).images.map((i) => i.normalized);
}

describe('buildImageOverlay', () => {
  it('rewrites repository/tag, registry/repository, global.imageRegistry and full references', async () => {
    const chart = await chartOf(
      [
        'image:',
        '  repository: ghcr.io/acme/app',
        '  tag: "1.2.3"',
        'sidecar:',
        '  image:',
        '    registry: docker.io',
        '    repository: nginx',
        '    tag: "1.27"',
        'global:',
        '  imageRegistry: ""',
        'initImage: busybox:1.36@sha256:' + 'a'.repeat(64),
        'unrelated:',
        '  repository: https://example.com/git',
      ].join('\n'),
      {
        'app.yaml': deployment('{{ .Values.image.repository }}:{{ .Values.image.tag }}'),
        'sidecar.yaml': deployment(
          '{{ .Values.global.imageRegistry | default .Values.sidecar.image.registry }}/{{ .Values.sidecar.image.repository }}:{{ .Values.sidecar.image.tag }}',
          'sidecar',
        ),
        'init.yaml': deployment('{{ .Values.initImage }}', 'init'),
      },
    );
    const overlay = buildImageOverlay(chart, { prefix: PREFIX });
    expect(overlay.images).toEqual([
      {
        source: `docker.io/library/busybox:1.36@sha256:${'a'.repeat(64)}`,
        target: `${PREFIX}/library/busybox:1.36@sha256:${'a'.repeat(64)}`,
      },
      { source: 'docker.io/library/nginx:1.27', target: `${PREFIX}/library/nginx:1.27` },
      { source: 'ghcr.io/acme/app:1.2.3', target: `${PREFIX}/acme/app:1.2.3` },
    ]);
    expect(overlay.values).toEqual({
      image: { repository: `${PREFIX}/acme/app` },
      sidecar: { image: { registry: PREFIX, repository: 'library/nginx' } },
      global: { imageRegistry: PREFIX },
      initImage: `${PREFIX}/library/busybox:1.36@sha256:${'a'.repeat(64)}`,
    });
    expect(overlay.rewrites.map((r) => r.layout).sort()).toEqual(
      ['full-reference', 'global-registry', 'registry', 'registry', 'repository'].sort(),
    );
    // The YAML is the overlay, and rendering with it points every image inside.
    expect(parse(overlay.yaml)).toEqual(overlay.values);
    expect(overlay.yaml.startsWith('# values-internal.yaml for app-1.0.0')).toBe(true);
    expect(imagesWith(chart, overlay.values).every((i) => i.startsWith(`${PREFIX}/`))).toBe(true);
  });

  it('replaces arrays whole (Helm does not merge lists)', async () => {
    const chart = await chartOf(
      [
        'extraContainers:',
        '  - name: a',
        '    image: quay.io/x/a:1',
        '  - name: b',
        '    image: quay.io/x/b:2',
      ].join('\n'),
      {
        'd.yaml': `apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
{{- range .Values.extraContainers }}
    - name: {{ .name }}
      image: {{ .image }}
{{- end }}
`,
      },
    );
    const overlay = buildImageOverlay(chart, { prefix: PREFIX });
    expect(overlay.values).toEqual({
      extraContainers: [
        { name: 'a', image: `${PREFIX}/x/a:1` },
        { name: 'b', image: `${PREFIX}/x/b:2` },
      ],
    });
  });

  it('refuses when an image is hard-coded in a template (IMAGE_OVERLAY_INCOMPLETE names it)', async () => {
    const chart = await chartOf('image:\n  repository: ghcr.io/acme/app\n  tag: "1"\n', {
      'app.yaml': deployment('{{ .Values.image.repository }}:{{ .Values.image.tag }}'),
      'backdoor.yaml': deployment('evil.example/steal:latest', 'helper'),
    });
    const err = expectThrowsCode(
      () => buildImageOverlay(chart, { prefix: PREFIX }),
      'IMAGE_OVERLAY_INCOMPLETE',
    );
    expect(err.message).toContain('evil.example/steal:latest');
    expect(err.message).toContain('app/templates/backdoor.yaml');
    expect(err.message).not.toContain('ghcr.io/acme/app');
  });

  it('takes the caller values into account for both renders', async () => {
    const chart = await chartOf('image:\n  repository: ghcr.io/acme/app\n  tag: "1"\n', {
      'app.yaml': deployment('{{ .Values.image.repository }}:{{ .Values.image.tag }}'),
    });
    const overlay = buildImageOverlay(chart, { prefix: PREFIX, values: { image: { tag: '2' } } });
    expect(overlay.images).toEqual([{ source: 'ghcr.io/acme/app:2', target: `${PREFIX}/acme/app:2` }]);
  });

  it('refuses two sources that would share an internal repository, and bad prefixes', async () => {
    const chart = await chartOf('a: ghcr.io/x/app:1\nb: quay.io/x/app:1\n', {
      'a.yaml': deployment('{{ .Values.a }}', 'a'),
      'b.yaml': deployment('{{ .Values.b }}', 'b'),
    });
    const err = expectThrowsCode(() => buildImageOverlay(chart, { prefix: PREFIX }), 'INVALID_ARGUMENT');
    expect(err.message).toContain(`${PREFIX}/x/app`);
    for (const prefix of [
      '',
      'https://registry.internal',
      'Registry.Internal/Mirror',
      'registry.internal/a:b/c',
    ]) {
      expectThrowsCode(() => buildImageOverlay(chart, { prefix }), 'INVALID_ARGUMENT');
    }
  });
});

const REALWORLD = join(
  import.meta.dirname,
  '..',
  '..',
  '..',
  'shared',
  'vectors',
  'helm-render',
  'helm-v4.1.4-realworld',
  'charts',
);
describeVectors(existsSync(REALWORLD))(
  'buildImageOverlay on real-world charts (rendered as helm template would)',
  () => {
    it('podinfo-6.14.1: its test hooks hard-code images, so the overlay is refused unless tests are skipped', async () => {
      const { chart } = await loadChartDirectory(join(REALWORLD, 'podinfo-6.14.1'));
      const err = expectThrowsCode(
        () => buildImageOverlay(chart, { prefix: PREFIX }),
        'IMAGE_OVERLAY_INCOMPLETE',
      );
      expect(err.message).toContain('docker.io/curlimages/curl:7.69.0 (podinfo/templates/tests/service.yaml');
      const overlay = buildImageOverlay(chart, { prefix: PREFIX, render: { skipTests: true } });
      expect(overlay.values).toEqual({ image: { repository: `${PREFIX}/stefanprodan/podinfo` } });
    });

    it('nginx-22.1.1 (Bitnami): registry layout, global.imageRegistry and the substitution switch', async () => {
      const { chart } = await loadChartDirectory(join(REALWORLD, 'nginx-22.1.1'));
      const overlay = buildImageOverlay(chart, { prefix: PREFIX });
      expect(overlay.values).toMatchObject({
        global: { imageRegistry: PREFIX, security: { allowInsecureImages: true } },
        image: { registry: PREFIX },
      });
      expect(overlay.images.map((m) => m.target)).toContain(`${PREFIX}/bitnami/nginx:1.29.1-debian-12-r0`);
    });

    it('the overlay works with the real Helm v4.1.4 too (helm template -f values-internal.yaml)', async (ctx) => {
      if (!helmAvailable('overlay with the real Helm')) return ctx.skip();
      const dir = join(REALWORLD, 'nginx-22.1.1');
      const { chart } = await loadChartDirectory(dir);
      const overlay = buildImageOverlay(chart, { prefix: PREFIX });
      const work = mkdtempSync(join(tmpdir(), 'cp-overlay-'));
      try {
        writeFileSync(join(work, 'values-internal.yaml'), overlay.yaml);
        const helm = runHelm(['template', 'web', dir, '-f', join(work, 'values-internal.yaml')]);
        expect(helm.status, helm.stderr).toBe(0);
        const images = listImages(parseManifests(helm.stdout)).images.map((i) => i.normalized);
        expect(images.length).toBeGreaterThan(0);
        expect(images.filter((i) => !i.startsWith(`${PREFIX}/`))).toEqual([]);
        const targets = overlay.images.map((m) => m.target);
        for (const image of images) expect(targets).toContain(image);
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    });

    for (const name of [
      'external-dns-1.21.1',
      'metrics-server-3.13.1',
      'prometheus-blackbox-exporter-11.17.2',
      'nginx-22.1.1',
    ]) {
      it(`${name}: every rendered image moves under the prefix`, async () => {
        const { chart } = await loadChartDirectory(join(REALWORLD, name));
        const before = listImages(parseManifests(renderChart(chart, { kubeVersion: '1.31.0' }).text)).images;
        expect(before.length).toBeGreaterThan(0);
        const overlay = buildImageOverlay(chart, { prefix: PREFIX, render: { kubeVersion: '1.31.0' } });
        expect(overlay.images.map((m) => m.source).sort()).toEqual(
          [...new Set(before.map((i) => i.normalized))].sort(),
        );
        expect(Object.keys(overlay.values).length).toBeGreaterThan(0);
      });
    }
  },
);
