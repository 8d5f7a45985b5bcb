import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadChartDirectory } from '../../src/chart/package.js';
import { renderingScanner } from '../../src/mirror/rendered-scanner.js';
import { builtinScanner } from '../../src/mirror/scan.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function chart(template: string) {
  const dir = await mkdtemp(join(tmpdir(), 'cp-rscan-'));
  dirs.push(dir);
  await mkdir(join(dir, 'templates'), { recursive: true });
  await writeFile(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: app\nversion: 1.0.0\n');
  await writeFile(
    join(dir, 'values.yaml'),
    'hostNetwork: false\nimage: nginx@sha256:' + '1'.repeat(64) + '\n',
  );
  await writeFile(join(dir, 'templates', 'ds.yaml'), template);
  return (await loadChartDirectory(dir)).chart;
}

const DAEMONSET = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {{ .Release.Name }}
spec:
  template:
    spec:
      {{- if .Values.hostNetwork }}
      hostNetwork: true
      {{- end }}
      automountServiceAccountToken: false
      containers:
        - name: app
          image: {{ .Values.image }}
`;

const rules = (fs: { rule: string }[]) => fs.map((f) => f.rule);

describe('renderingScanner (mirror scan on rendered manifests)', () => {
  it('does not report a host namespace that the defaults leave off, unlike the text heuristics', async () => {
    const c = await chart(DAEMONSET);
    expect(rules(await builtinScanner().scan(c))).toContain('host-namespace');
    const found = rules(await renderingScanner().scan(c));
    expect(found).not.toContain('host-namespace');
    expect(found.some((r) => /host/.test(r))).toBe(false);
    expect(found).not.toContain('render-failed');
  });

  it('reports it when the spec values turn it on', async () => {
    const c = await chart(DAEMONSET);
    const found = await renderingScanner({ values: { hostNetwork: true } }).scan(c);
    const host = found.filter((f) => /host-network|host-namespace/.test(f.rule));
    expect(host.length).toBeGreaterThan(0);
    expect(host[0]!.message).toMatch(/with the spec's values/);
  });

  it('falls back to the text heuristics with a render-failed finding when the chart does not render', async () => {
    const c = await chart(`${DAEMONSET}{{ fail "nope" }}\n`);
    const found = await renderingScanner().scan(c);
    expect(rules(found)).toContain('render-failed');
    expect(rules(found)).toContain('host-namespace');
    expect(found.find((f) => f.rule === 'render-failed')!.message).toMatch(/nope/);
  });
});
