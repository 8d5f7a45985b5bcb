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

  it('runs the rendered rules on the spec values when the defaults do not render, keeping the heuristics whole', async () => {
    // A chart that fails with its defaults (a required value left empty) but renders with
    // the spec's values: the rendered rules must still see that render. The flow-style
    // securityContext is invisible to the text heuristics.
    const c = await chart(`{{- $_ := required "set .Values.name" .Values.name }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: x
spec:
  template:
    spec:
      containers:
        - name: app
          image: {{ .Values.image }}
          securityContext: {privileged: true}
`);
    expect(rules(await builtinScanner().scan(c))).not.toContain('privileged-container');
    const found = await renderingScanner({ values: { name: 'n' } }).scan(c);
    const privileged = found.filter((f) => f.rule === 'privileged-container');
    expect(privileged.length).toBe(1);
    expect(privileged[0]!.message).toMatch(/with the spec's values/);
    const failed = found.filter((f) => f.rule === 'render-failed');
    expect(failed.length).toBe(1);
    expect(failed[0]!.message).toMatch(/with its defaults \(.*set \.Values\.name/);
    expect(failed[0]!.message).toMatch(/the text heuristics and the render with its spec values/);
    // The text rules the renders replace stay when a render failed (here: the init/host
    // rules have nothing to say, but image-not-pinned of the text scan is kept).
    const text = rules(await builtinScanner().scan(c));
    for (const r of text) expect(rules(found)).toContain(r);
  });

  it('reports each failed render and says the heuristics are all that is left when none renders', async () => {
    const c = await chart(`${DAEMONSET}{{ fail "nope" }}\n`);
    const found = await renderingScanner({ values: { hostNetwork: true } }).scan(c);
    const failed = found.filter((f) => f.rule === 'render-failed');
    expect(failed.map((f) => /with its (defaults|spec values)/.exec(f.message)![1])).toEqual([
      'defaults',
      'spec values',
    ]);
    for (const f of failed) expect(f.message).toMatch(/from the text heuristics only/);
  });

  it('applies severity overrides to the rendered rules as well as the text rules', async () => {
    const c = await chart(DAEMONSET);
    const on = { values: { hostNetwork: true } };
    const before = (await renderingScanner(on).scan(c)).filter((f) => f.rule === 'host-network');
    expect(before.length).toBe(1);
    expect(before[0]!.severity).not.toBe('info');
    const after = (await renderingScanner({ ...on, severities: { 'host-network': 'info' } }).scan(c)).filter(
      (f) => f.rule === 'host-network',
    );
    expect(after.map((f) => f.severity)).toEqual(['info']);
    // A text-rule id keeps working, an id neither scanner knows is refused.
    await expect(
      renderingScanner({ severities: { 'template-lookup': 'low' } }).scan(c),
    ).resolves.toBeDefined();
    expect(() => renderingScanner({ severities: { 'no-such-rule': 'low' } as never })).toThrow(
      /unknown scan rule/,
    );
    // render-failed is info unless raised (e.g. to refuse unrenderable charts at block: high).
    const broken = await chart(`${DAEMONSET}{{ fail "nope" }}\n`);
    const sev = async (o: Parameters<typeof renderingScanner>[0]) =>
      (await renderingScanner(o).scan(broken))
        .filter((f) => f.rule === 'render-failed')
        .map((f) => f.severity);
    expect(await sev({})).toEqual(['info']);
    expect(await sev({ severities: { 'render-failed': 'high' } })).toEqual(['high']);
    expect(() => renderingScanner({ severities: { 'render-failed': 'severe' } as never })).toThrow(
      /severity/,
    );
    // A rendered-only rule's severity is checked up front too, not only once a render succeeds.
    expect(() => renderingScanner({ severities: { 'host-network': 'severe' } as never })).toThrow(/severity/);
  });
});
