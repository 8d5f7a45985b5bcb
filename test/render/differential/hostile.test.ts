/**
 * Hostile charts through `renderChart` (the Helm layer: include, tpl, values, --set-json)
 * with small limits: every one ends quickly with a typed ChartproofError — never a
 * JavaScript stack overflow, an out-of-memory or a hang. The engine-level bounds
 * (template recursion, nested buffers, maxSteps, abort) are in test/render/template/limits.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { Chart } from '../../../src/chart/types.js';
import { isChartproofError } from '../../../src/errors.js';
import { type RenderOptions, renderChart } from '../../../src/render/render.js';

const enc = new TextEncoder();

function chartOf(templates: Record<string, string>, valuesYaml = ''): Chart {
  return {
    metadata: { apiVersion: 'v2', name: 'hostile', version: '0.1.0' },
    chartYaml: enc.encode('apiVersion: v2\nname: hostile\nversion: 0.1.0\n'),
    values: {},
    ...(valuesYaml ? { valuesYaml: enc.encode(valuesYaml) } : {}),
    templates: Object.entries(templates).map(([name, text]) => ({
      name: `templates/${name}`,
      data: enc.encode(text),
    })),
    files: [],
    dependencies: [],
  };
}

/** Renders and returns the thrown error with the elapsed time (fails if nothing is thrown). */
function failure(chart: Chart, options: RenderOptions = {}): { error: unknown; ms: number } {
  const start = performance.now();
  try {
    renderChart(chart, { timeoutMs: 10_000, ...options });
  } catch (error) {
    return { error, ms: performance.now() - start };
  }
  throw new Error('render unexpectedly succeeded');
}

function expectCode(error: unknown, code: string): void {
  expect(error).not.toBeInstanceOf(RangeError);
  expect(isChartproofError(error) ? error.code : `not a ChartproofError: ${String(error)}`).toBe(code);
}

describe('hostile charts through renderChart', () => {
  it('stops include recursion with RENDER_LIMIT', () => {
    const { error } = failure(
      chartOf({ 'cm.yaml': '{{- define "r" }}x{{ include "r" . }}{{ end }}a: {{ include "r" . }}' }),
    );
    expectCode(error, 'RENDER_LIMIT');
  });

  it('stops mutual template/include recursion with RENDER_LIMIT', () => {
    const { error } = failure(
      chartOf({
        '_a.tpl': '{{- define "a" }}{{ template "b" . }}{{ end }}',
        '_b.tpl': '{{- define "b" }}{{ include "a" . | indent 2 }}{{ end }}',
        'cm.yaml': 'a: {{ include "a" . }}',
      }),
    );
    expectCode(error, 'RENDER_LIMIT');
  });

  it('stops tpl re-entering itself through a value with RENDER_LIMIT', () => {
    const { error } = failure(
      chartOf({ 'cm.yaml': 'a: {{ tpl .Values.t . }}' }, 't: "{{ tpl .Values.t . }}"\n'),
    );
    expectCode(error, 'RENDER_LIMIT');
  });

  it('renders deep but finite tpl nesting', () => {
    // Each level is a value whose text calls tpl on the next one.
    let yaml = 'l40: "end"\n';
    for (let i = 39; i >= 0; i--) yaml += `l${i}: "{{ tpl .Values.l${i + 1} . }}"\n`;
    const r = renderChart(chartOf({ 'cm.yaml': 'a: {{ tpl .Values.l0 . }}' }, yaml), { timeoutMs: 10_000 });
    expect(r.text).toBe('---\n# Source: hostile/templates/cm.yaml\na: end\n');
  });

  it('bounds huge output (doubling a string) with RENDER_LIMIT', () => {
    const { error, ms } = failure(
      chartOf({
        'cm.yaml': '{{ $s := "x" }}{{ range until 64 }}{{ $s = printf "%s%s" $s $s }}{{ end }}a: {{ $s }}',
      }),
      { maxOutput: 1 << 20 },
    );
    expectCode(error, 'RENDER_LIMIT');
    expect(ms).toBeLessThan(5_000);
  });

  it('bounds a large range of writes with RENDER_LIMIT', () => {
    const { error } = failure(
      chartOf({ 'cm.yaml': '{{ range until 1000000 }}{{ repeat 100 "y" }}{{ end }}' }),
      { maxOutput: 1 << 20 },
    );
    expectCode(error, 'RENDER_LIMIT');
  });

  it('stops `range (until 100000000)` at the deadline (or a limit) without exhausting memory', () => {
    const { error, ms } = failure(chartOf({ 'cm.yaml': '{{ range (until 100000000) }}{{ end }}a: 1' }), {
      timeoutMs: 200,
    });
    expect(error).not.toBeInstanceOf(RangeError);
    expect(['TIMEOUT', 'RENDER_LIMIT']).toContain(isChartproofError(error) ? error.code : String(error));
    expect(ms).toBeLessThan(10_000);
  });

  it('stops a long loop over an int range with TIMEOUT', () => {
    const { error } = failure(chartOf({ 'cm.yaml': '{{ range 1000000000 }}{{ end }}a: 1' }), {
      timeoutMs: 100,
    });
    expectCode(error, 'TIMEOUT');
  });

  it('runs catastrophic-backtracking regexes in linear time (RE2 semantics)', () => {
    const start = performance.now();
    const r = renderChart(
      chartOf({
        'cm.yaml':
          '{{ $s := printf "%s!" (repeat 30000 "a") }}' +
          'a: {{ regexMatch "^(a+)+$" $s }}\n' +
          'b: {{ regexMatch "^(a|a)*$" $s }}\n' +
          'c: {{ regexMatch "^(a|aa)+b" $s }}\n' +
          'd: {{ regexFind "(x+x+)+y" (repeat 5000 "x") | quote }}\n',
      }),
      { timeoutMs: 20_000 },
    );
    expect(r.text).toBe('---\n# Source: hostile/templates/cm.yaml\na: false\nb: false\nc: false\nd: ""\n');
    expect(performance.now() - start).toBeLessThan(10_000);
  });

  it('rejects deeply nested values.yaml with a typed error', () => {
    const deep = `a: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`;
    const { error } = failure(chartOf({ 'cm.yaml': 'a: 1' }, deep));
    expect(error).not.toBeInstanceOf(RangeError);
    expect(isChartproofError(error)).toBe(true);
  });

  it('rejects deeply nested --set-json with a typed error', () => {
    const deep = `a=${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    const { error } = failure(chartOf({ 'cm.yaml': 'a: 1' }), { values: { jsonValues: [deep] } });
    expect(error).not.toBeInstanceOf(RangeError);
    expect(isChartproofError(error)).toBe(true);
  });

  it('handles a very long --set key path without overflowing the stack', () => {
    const path = Array.from({ length: 20_000 }, () => 'a').join('.');
    let outcome: unknown = 'rendered';
    try {
      renderChart(chartOf({ 'cm.yaml': 'x: {{ .Values.a.a.a.a | kindOf }}' }), {
        values: { values: [`${path}=1`] },
        timeoutMs: 10_000,
      });
    } catch (e) {
      outcome = e;
    }
    expect(outcome).not.toBeInstanceOf(RangeError);
    if (outcome !== 'rendered') expect(isChartproofError(outcome)).toBe(true);
  });

  it('serialises a deeply self-nested dict built in the template without overflowing the stack', () => {
    // Helm (Go's growable stack) would try to write ~10^10 bytes of YAML here; chartproof
    // must end quickly: a typed error, or a bounded result.
    let outcome: unknown;
    try {
      outcome = renderChart(
        chartOf({
          'cm.yaml':
            '{{ $d := dict }}{{ range until 100000 }}{{ $d = dict "a" $d }}{{ end }}a: {{ toYaml $d | len }}',
        }),
        { maxOutput: 1 << 20, timeoutMs: 10_000 },
      ).text;
    } catch (e) {
      outcome = e;
    }
    expect(outcome).not.toBeInstanceOf(RangeError);
    if (typeof outcome === 'string') expect(outcome.length).toBeLessThan(1 << 20);
    else expect(isChartproofError(outcome)).toBe(true);
  });
});
