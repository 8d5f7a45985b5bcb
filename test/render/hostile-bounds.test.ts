import { describe, expect, it } from 'vitest';
import type { Chart } from '../../src/chart/types.js';
import { isChartproofError } from '../../src/errors.js';
import { renderChart } from '../../src/render/render.js';
import { goFunc, parseTemplates, RenderLimitError } from '../../src/render/template/index.js';
import type { CommandContext } from '../../src/cli/commands.js';
import { reportRenderFailure } from '../../src/cli/template-command.js';
import { captureIo } from '../helpers/cli-io.js';

// Hostile charts must end in typed errors within the render's deadline: no crash, no hang.

const enc = new TextEncoder();

function chart(template: string): Chart {
  return {
    metadata: { apiVersion: 'v2', name: 'c', version: '0.1.0' },
    chartYaml: enc.encode('apiVersion: v2\nname: c\nversion: 0.1.0\n'),
    values: {},
    templates: [{ name: 'templates/t.yaml', data: enc.encode(template) }],
    files: [],
    dependencies: [],
  } as Chart;
}

function renderError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected the render to fail');
}

function busy(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // spin
  }
}

describe('render bounds on hostile charts', () => {
  it('enforces the deadline between expensive function calls, not only every 1024 steps', () => {
    // Without a check per call, 1000 calls of 20 ms run for ~20 s past a 200 ms deadline.
    const slow = goFunc([], () => {
      busy(20);
      return '';
    });
    const t0 = Date.now();
    const e = renderError(() =>
      renderChart(chart('{{ range until 1000 }}{{ slow }}{{ end }}'), { timeoutMs: 200, funcs: { slow } }),
    );
    expect(isChartproofError(e, 'TIMEOUT')).toBe(true);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('bounds the parse of tpl text built at run time (no out-of-memory crash)', () => {
    // 5 M actions parse into several GB of nodes; the parser must stop with RENDER_LIMIT.
    const t0 = Date.now();
    const e = renderError(() => renderChart(chart('{{ tpl (repeat 5000000 "{{1}}") . | len }}')));
    expect(isChartproofError(e, 'RENDER_LIMIT')).toBe(true);
    expect((e as RenderLimitError).limit).toBe('maxParseItems');
    expect(Date.now() - t0).toBeLessThan(20_000);
  }, 30_000);

  it('counts parsed tokens across all files of a template set', () => {
    const set = parseTemplates([], { parseLimits: { maxItems: 1000 } });
    set.parse('a', '{{1}}'.repeat(300));
    const e = renderError(() => set.parse('b', '{{1}}'.repeat(300)));
    expect(e).toBeInstanceOf(RenderLimitError);
    expect((e as RenderLimitError).limit).toBe('maxParseItems');
  });

  it('concatenates long lists without exhausting the stack', () => {
    const r = renderChart(chart('n: {{ $l := until 200000 }}{{ concat $l $l | len }}'));
    expect(r.text).toContain('n: 400000');
  });

  it('bounds the output of all templates together (documented 64 Mi), not each template alone', () => {
    // Eight templates of ~20 Mi characters each: fine one by one, 160 Mi together.
    const big = '{{ $x := repeat 10000000 "x" }}a: {{ $x }}\nb: {{ $x }}\n';
    const c = chart(big);
    c.templates = Array.from({ length: 8 }, (_, i) => ({
      name: `templates/t${i}.yaml`,
      data: enc.encode(big),
    }));
    const e = renderError(() => renderChart(c));
    expect(isChartproofError(e, 'RENDER_LIMIT')).toBe(true);
    expect((e as RenderLimitError).limit).toBe('maxOutput');
    // The budget is the caller's to raise.
    const small = chart('{{ $x := repeat 1000 "x" }}a: {{ $x }}\n');
    small.templates.push({ name: 'templates/u.yaml', data: enc.encode('b: {{ repeat 1000 "y" }}\n') });
    expect(
      isChartproofError(
        renderError(() => renderChart(small, { maxOutput: 3000 })),
        'RENDER_LIMIT',
      ),
    ).toBe(true);
    expect(renderChart(small, { maxOutput: 5000 }).manifests).toHaveLength(2);
  }, 30_000);

  // A dict that holds the same sub-dict twice, doubled 60 times: 2^60 leaves when walked
  // as a tree. Walkers must stop on a bound instead of exhausting memory or time.
  const DAG = '{{ $d := dict "k" "v" }}{{ range until 60 }}{{ $d = dict "a" $d "b" $d }}{{ end }}';
  const DAG2 = `${DAG}{{ $e := dict "k" "v" }}{{ range until 60 }}{{ $e = dict "a" $e "b" $e }}{{ end }}`;
  it.each([
    ['printing it', `${DAG}{{ $d }}`],
    ['printf %v', `${DAG}{{ printf "%v" $d | len }}`],
    ['deepCopy', `${DAG}{{ deepCopy $d | len }}`],
    ['mergeOverwrite of two such dicts', `${DAG2}{{ mergeOverwrite $d $e | len }}`],
    ['merge of two such dicts', `${DAG2}{{ merge $d $e | len }}`],
  ])(
    'bounds a dict with shared sub-dicts: %s',
    (_, t) => {
      const t0 = Date.now();
      const e = renderError(() => renderChart(chart(t), { timeoutMs: 20_000 }));
      expect(isChartproofError(e, 'RENDER_LIMIT') || isChartproofError(e, 'TIMEOUT')).toBe(true);
      expect(Date.now() - t0).toBeLessThan(25_000);
    },
    40_000,
  );

  it('keeps uniq on a long list within the deadline', () => {
    const t0 = Date.now();
    const e = renderError(() => renderChart(chart('{{ until 4000000 | uniq | len }}'), { timeoutMs: 1000 }));
    expect(isChartproofError(e, 'TIMEOUT')).toBe(true);
    expect(Date.now() - t0).toBeLessThan(5000);
  }, 30_000);

  it('compares dicts with shared sub-dicts in linear time, as reflect.DeepEqual does', () => {
    const r = renderChart(
      chart(`${DAG2}a: {{ deepEqual $d $e }}\nb: {{ has $d (list $e) }}\nc: {{ uniq (list $d $e) | len }}\n`),
      { timeoutMs: 10_000 },
    );
    expect(r.text).toContain('a: true\nb: true\nc: 1\n');
  });
});

describe('CLI: a render that runs out of time', () => {
  it('is a template failure (exit 2), not a registry failure (exit 3)', async () => {
    const slow = goFunc([], () => {
      busy(30);
      return '';
    });
    const e = renderError(() =>
      renderChart(chart('{{ range until 100 }}{{ slow }}{{ end }}'), { timeoutMs: 50, funcs: { slow } }),
    );
    expect(isChartproofError(e, 'TIMEOUT')).toBe(true);
    const { io, err } = captureIo();
    const ctx = { args: [], values: {}, flags: { json: false }, io } as unknown as CommandContext;
    expect(reportRenderFailure(ctx, e, [])).toBe(2);
    expect(err()).toMatch(/^Error: .*deadline/);
  });
});
