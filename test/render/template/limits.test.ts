import { describe, expect, it } from 'vitest';
import { isChartproofError } from '../../../src/errors.js';
import {
  type FuncMap,
  goFunc,
  parseTemplates,
  RenderLimitError,
  TemplateError,
} from '../../../src/render/template/index.js';

// Hostile templates must end in typed errors, never in a stack overflow, an endless
// loop or unbounded memory.

const include: FuncMap = {
  include: goFunc(['string', 'any'], ([name, data], ctx) => ctx.executeTemplate(name as string, data!)),
};

function limitOf(fn: () => unknown): RenderLimitError {
  try {
    fn();
  } catch (e) {
    if (e instanceof RenderLimitError) return e;
    throw e;
  }
  throw new Error('expected a RenderLimitError');
}

describe('render limits', () => {
  it('stops a template that calls itself', () => {
    const set = parseTemplates([
      { name: 't', text: '{{define "r"}}x{{template "r" .}}{{end}}{{template "r" .}}' },
    ]);
    const e = limitOf(() => set.execute('t', null));
    expect(e.code).toBe('RENDER_LIMIT');
    expect(e.limit).toBe('maxDepth');
    expect(limitOf(() => set.execute('t', null, { maxDepth: 10 })).message).toBe(
      'template calls nested deeper than 10',
    );
  });

  it('turns JavaScript stack exhaustion into RENDER_LIMIT when maxDepth is set too high', () => {
    const set = parseTemplates(
      [{ name: 't', text: '{{define "r"}}{{include "r" .}}{{end}}{{include "r" .}}' }],
      {
        funcs: include,
      },
    );
    const e = limitOf(() => set.execute('t', null, { maxDepth: 1_000_000 }));
    expect(isChartproofError(e, 'RENDER_LIMIT')).toBe(true);
  });

  it('stops include recursion through functions', () => {
    const set = parseTemplates(
      [{ name: 't', text: '{{define "r"}}{{include "r" .}}{{end}}{{include "r" .}}' }],
      {
        funcs: include,
      },
    );
    expect(limitOf(() => set.execute('t', null, { maxDepth: 50 })).message).toBe(
      'template calls nested deeper than 50',
    );
  });

  it('bounds the total output, including nested buffers', () => {
    const set = parseTemplates([{ name: 't', text: '{{range 100000000}}0123456789{{end}}' }]);
    const e = limitOf(() => set.execute('t', null, { maxOutput: 1_000_000 }));
    expect(e.limit).toBe('maxOutput');
    const nested = parseTemplates(
      [
        {
          name: 't',
          text: '{{define "x"}}{{range 1000}}0123456789{{end}}{{end}}{{range 1000}}{{$s := include "x" .}}{{end}}',
        },
      ],
      { funcs: include },
    );
    expect(limitOf(() => nested.execute('t', null, { maxOutput: 100_000 })).limit).toBe('maxOutput');
    expect(
      parseTemplates([{ name: 't', text: '{{range 10}}ab{{end}}' }]).execute('t', null, { maxOutput: 20 }),
    ).toBe('ab'.repeat(10));
  });

  it('counts strings returned by functions, so variables cannot grow memory without bound', () => {
    const set = parseTemplates([
      { name: 't', text: '{{$s := "x"}}{{range 64}}{{$s = printf "%s%s" $s $s}}{{end}}{{len $s}}' },
    ]);
    expect(limitOf(() => set.execute('t', null, { maxOutput: 1_000_000 })).limit).toBe('maxOutput');
    const small = parseTemplates([
      { name: 't', text: '{{$s := "x"}}{{range 3}}{{$s = printf "%s%s" $s $s}}{{end}}{{$s}}' },
    ]);
    expect(small.execute('t', null)).toBe('xxxxxxxx');
  });

  it('stops endless work even without a deadline (maxSteps)', () => {
    const set = parseTemplates([{ name: 't', text: '{{range 9223372036854775807}}{{end}}' }]);
    const e = limitOf(() => set.execute('t', null, { maxSteps: 200_000 }));
    expect(e.limit).toBe('maxSteps');
    expect(e.message).toBe('template execution exceeded 200000 steps');
  });

  it('honours a deadline inside a long range over an int', () => {
    const set = parseTemplates([{ name: 't', text: '{{range 1000000000000}}{{end}}' }]);
    const started = Date.now();
    let err: unknown;
    try {
      set.execute('t', null, { timeoutMs: 50 });
    } catch (e) {
      err = e;
    }
    expect(isChartproofError(err, 'TIMEOUT')).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('honours an abort signal, rejecting with its reason', () => {
    const ac = new AbortController();
    const funcs: FuncMap = {
      stop: goFunc([], () => {
        ac.abort(new Error('stop now'));
        return '';
      }),
    };
    const set = parseTemplates([{ name: 't', text: '{{stop}}{{range 1000000000000}}{{end}}' }], { funcs });
    expect(() => set.execute('t', null, { signal: ac.signal })).toThrow('stop now');
    expect(() => set.execute('t', null, { signal: AbortSignal.abort(new Error('early')) })).toThrow('early');
  });

  it('bounds parenthesised expressions and control nesting at parse time', () => {
    const parens = (n: number) => `{{${'('.repeat(n)}1${')'.repeat(n)}}}`;
    expect(parseTemplates([{ name: 't', text: parens(100) }]).execute('t', null)).toBe('1');
    expect(limitOf(() => parseTemplates([{ name: 't', text: parens(100_000) }])).limit).toBe('maxParenDepth');
    const ifs = (n: number) => '{{if 1}}'.repeat(n) + 'x' + '{{end}}'.repeat(n);
    expect(parseTemplates([{ name: 't', text: ifs(200) }]).execute('t', null)).toBe('x');
    expect(limitOf(() => parseTemplates([{ name: 't', text: ifs(100_000) }])).limit).toBe('maxNesting');
    // Above the configured limit but within Go's own bound of 10000: still typed.
    expect(
      limitOf(() => parseTemplates([{ name: 't', text: parens(10) }], { parseLimits: { maxParenDepth: 5 } }))
        .code,
    ).toBe('RENDER_LIMIT');
  });

  it("reports Go's own parse limit message when configured like Go", () => {
    const text = `{{${'('.repeat(10001)}1${')'.repeat(10001)}}}`;
    let err: unknown;
    try {
      parseTemplates([{ name: 't', text }], { parseLimits: { maxParenDepth: 10000 } });
    } catch (e) {
      err = e;
    }
    // Either Go's message, or the JS stack ran out first: both are typed.
    expect(err instanceof TemplateError || err instanceof RenderLimitError).toBe(true);
    if (err instanceof TemplateError)
      expect(err.message).toBe('template: t:1: max expression depth exceeded');
  });

  it('survives an else-if chain of a few hundred branches', () => {
    const n = 300;
    let text = '{{if eq . 0}}0';
    for (let i = 1; i < n; i++) text += `{{else if eq . ${i}}}${i}`;
    text += '{{end}}';
    expect(parseTemplates([{ name: 't', text }]).execute('t', BigInt(n - 1))).toBe(String(n - 1));
  });
});
