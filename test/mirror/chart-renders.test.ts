import { describe, expect, it, vi } from 'vitest';
import { loadChartArchive } from '../../src/chart/load.js';
import { loadedChart, sharedRender } from '../../src/mirror/chart-renders.js';
import { chartImageOverlay } from '../../src/mirror/images.js';
import { renderingScannerWith } from '../../src/mirror/rendered-scanner.js';
import { parseMirrorSpec } from '../../src/mirror/spec.js';
import * as render from '../../src/render/render.js';
import { makeChartArchive } from '../helpers/chart-repo.js';

// Counts the real renders behind the memo.
vi.mock('../../src/render/render.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/render/render.js')>();
  return { ...real, renderChart: vi.fn(real.renderChart) };
});
const renderChart = vi.mocked(render.renderChart);

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  template:
    spec:
      containers:
        - name: app
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
`;

async function archive(): Promise<Uint8Array> {
  return makeChartArchive('shared', '1.0.0', {
    'values.yaml': 'image:\n  repository: docker.io/library/nginx\n  tag: "1.27"\n',
    'templates/deployment.yaml': DEPLOYMENT,
  });
}

describe('shared chart renders (mirror)', () => {
  it('loads an archive once and renders the same inputs once', async () => {
    const bytes = await archive();
    const chart = await loadedChart(bytes);
    expect(await loadedChart(bytes)).toBe(chart);
    // Another archive object with the same bytes is another entry.
    expect(await loadedChart(bytes.slice())).not.toBe(chart);

    renderChart.mockClear();
    const values = JSON.stringify({ image: { tag: '1.28' } });
    const a = sharedRender(chart, {
      releaseName: 'r',
      namespace: 'ns',
      values: { valueFiles: [{ name: 'one', text: values }] },
      timeoutMs: 1000,
    });
    // Same inputs in another order, another file name and deadline: the same render.
    const b = sharedRender(chart, {
      values: { valueFiles: [{ name: 'two', text: values }] },
      namespace: 'ns',
      releaseName: 'r',
    });
    expect(b).toBe(a);
    expect(renderChart).toHaveBeenCalledTimes(1);
    expect(a.text).toContain('nginx:1.28');
    // Other values, another namespace: rendered.
    const c = sharedRender(chart, { releaseName: 'r', namespace: 'ns' });
    const d = sharedRender(chart, {
      releaseName: 'r',
      namespace: 'other',
      values: { valueFiles: [{ name: 'x', text: values }] },
    });
    expect(c).not.toBe(a);
    expect(d).not.toBe(a);
    expect(c.text).toContain('nginx:1.27');
    expect(renderChart).toHaveBeenCalledTimes(3);
    // A caller's functions make a render its own.
    const warned = sharedRender(chart, { releaseName: 'r', namespace: 'ns', warn: () => {} });
    expect(warned).not.toBe(c);
    expect(renderChart).toHaveBeenCalledTimes(4);
  });

  it('a failed render is not kept', async () => {
    const bytes = await makeChartArchive('broken', '1.0.0', { 'templates/x.yaml': '{{ fail "no" }}\n' });
    const chart = await loadedChart(bytes);
    renderChart.mockClear();
    expect(() => sharedRender(chart, {})).toThrow(/no/);
    expect(() => sharedRender(chart, {})).toThrow(/no/);
    expect(renderChart).toHaveBeenCalledTimes(2);
  });

  it("the scanner's render with the spec's values is the image overlay's first render", async () => {
    const bytes = await archive();
    const spec = parseMirrorSpec({
      target: { registry: 'registry.internal', prefix: 'mirror' },
      images: true,
      charts: [
        {
          name: 'shared',
          source: 'oci://example.test/charts/shared',
          versions: ['1.0.0'],
          values: { image: { tag: '1.28' } },
        },
      ],
    });
    const chartSpec = spec.charts[0]!;
    renderChart.mockClear();
    const scanner = renderingScannerWith({ values: chartSpec.values! }, sharedRender);
    const findings = await scanner.scan(await loadedChart(bytes));
    expect(findings.some((f) => f.rule === 'render-failed')).toBe(false);
    expect(renderChart).toHaveBeenCalledTimes(2); // defaults, spec values
    const built = await chartImageOverlay(bytes, spec, chartSpec, {}, 'shared-1.0.0', undefined);
    expect(built).not.toHaveProperty('refuse');
    if ('refuse' in built) return;
    expect(built.images).toEqual([
      {
        source: 'docker.io/library/nginx:1.28',
        target: 'registry.internal/mirror/images/library/nginx:1.28',
      },
    ]);
    // Only the proof render (with the overlay) is new.
    expect(renderChart).toHaveBeenCalledTimes(3);
    // Without the memo, the same work renders twice more (and loads the chart again).
    renderChart.mockClear();
    const fresh = await loadChartArchive(bytes);
    await renderingScannerWith({ values: chartSpec.values! }, render.renderChart).scan(fresh);
    expect(renderChart).toHaveBeenCalledTimes(2);
  });
});
