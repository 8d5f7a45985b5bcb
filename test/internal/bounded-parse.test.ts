import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isCollection, isPair, parseAllDocuments, Parser, YAMLParseError } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ChartproofError } from '../../src/errors.js';
import {
  assertJsonDepth,
  assertYamlDepth,
  DEFAULT_MAX_DEPTH,
  parseAllYamlDocumentsBounded,
  parseJsonBounded,
  parseYamlBounded,
  parseYamlDocumentBounded,
} from '../../src/internal/bounded-parse.js';

const opts = { what: 'doc', source: 'local' as const };

function depthError(fn: () => unknown): ChartproofError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ChartproofError);
  expect((err as ChartproofError).code).toBe('DEPTH_LIMIT_EXCEEDED');
  return err as ChartproofError;
}

/** The bound the YAML scan computes for `src`. */
function yamlEstimate(src: string): number {
  return assertYamlDepth(src, { what: 'x', maxDepth: Number.MAX_SAFE_INTEGER }).depth;
}

/** The nesting the yaml package really builds: its CST and its document nodes. */
function actualDepth(src: string): number {
  let max = 0;
  const walkNode = (n: unknown, d: number): void => {
    if (!isCollection(n)) return;
    max = Math.max(max, d + 1);
    for (const item of n.items as unknown[]) {
      if (isPair(item)) {
        walkNode(item.key, d + 1);
        walkNode(item.value, d + 1);
      } else walkNode(item, d + 1);
    }
  };
  for (const doc of parseAllDocuments(src, { version: '1.1', merge: true }) as Array<{
    contents: unknown;
  }>)
    walkNode(doc.contents, 0);
  const walkCst = (t: unknown, d: number): void => {
    if (!t || typeof t !== 'object') return;
    if (Array.isArray(t)) {
      for (const x of t) walkCst(x, d);
      return;
    }
    const tok = t as Record<string, unknown>;
    const nested = tok.type === 'block-map' || tok.type === 'block-seq' || tok.type === 'flow-collection';
    const dd = nested ? d + 1 : d;
    if (nested) max = Math.max(max, dd);
    for (const k of ['items', 'key', 'value', 'start', 'sep', 'end']) if (tok[k]) walkCst(tok[k], dd);
  };
  for (const tok of new Parser().parse(src)) walkCst(tok, 0);
  return max;
}

describe('JSON depth bound', () => {
  it('accepts the bound and refuses one level more, with the typed error and source', () => {
    const at = `${'['.repeat(DEFAULT_MAX_DEPTH)}${']'.repeat(DEFAULT_MAX_DEPTH)}`;
    expect(parseJsonBounded(at, opts)).toBeInstanceOf(Array);
    const err = depthError(() => parseJsonBounded(`[${at}]`, opts));
    expect(err.source).toBe('local');
    expect(err.message).toMatch(/doc nests deeper than 128 levels/);
    depthError(() => assertJsonDepth('{"a":{"b":[{}]}}', { what: 'x', maxDepth: 3 }));
    expect(() => assertJsonDepth('{"a":{"b":[{}]}}', { what: 'x', maxDepth: 4 })).not.toThrow();
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ s: `${'['.repeat(500)}\\"${'{'.repeat(500)}"`, t: ['\\', '"[['] });
    expect(() => assertJsonDepth(text, opts)).not.toThrow();
    expect(parseJsonBounded(text, opts)).toEqual(JSON.parse(text));
  });

  it('leaves syntax errors to JSON.parse', () => {
    expect(() => parseJsonBounded('{"a":', opts)).toThrow(SyntaxError);
  });
});

describe('YAML depth bound', () => {
  it('refuses 4 MiB of [ after a key at once (not after gigabytes)', () => {
    const hostile = `a: ${'['.repeat(4 * 1024 * 1024)}`;
    const before = process.memoryUsage().heapUsed;
    depthError(() => assertYamlDepth(hostile, opts));
    // Nothing is built: the heap grows by far less than the document.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('refuses deep block nesting and deep flow mappings', () => {
    const block = Array.from({ length: 70 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n');
    depthError(() => assertYamlDepth(block, opts));
    depthError(() => assertYamlDepth(`- ${'- '.repeat(70)}x`, opts));
    depthError(() => assertYamlDepth(`${'{a: '.repeat(200)}1${'}'.repeat(200)}`, opts));
  });

  it('ignores brackets in quoted scalars, comments and block scalars', () => {
    const src = [
      `a: "${'['.repeat(300)}"`,
      `b: '${'{'.repeat(300)}'`,
      `# ${'['.repeat(300)}`,
      'c: |',
      `  ${'['.repeat(300)}`,
      `d: x${'['.repeat(300)}`,
      'e: [1, [2, {f: [3]}]]',
      '',
    ].join('\n');
    expect(yamlEstimate(src)).toBeLessThan(12);
    expect(parseYamlBounded(src, {}, opts)).toMatchObject({ e: [1, [2, { f: [3] }]] });
  });

  it('accepts legit deep-ish documents (depth 40 block, 60 flow)', () => {
    const block = `${Array.from({ length: 40 }, (_, i) => `${'  '.repeat(i)}k${i}:`).join('\n')} leaf\n`;
    let v = parseYamlBounded(block, {}, opts) as Record<string, unknown>;
    for (let i = 0; i < 39; i++) v = v[`k${i}`] as Record<string, unknown>;
    expect(v).toEqual({ k39: 'leaf' });
    const flow = `a: ${'['.repeat(60)}1${']'.repeat(60)}\n`;
    expect(parseYamlBounded(flow, {}, opts)).toHaveProperty('a');
  });

  it('over-estimates, never under-estimates, the nesting the yaml parser builds (seeded fuzz)', () => {
    const parts = [
      '[',
      ']',
      '{',
      '}',
      '- ',
      '-',
      '? ',
      ': ',
      ':',
      'a',
      'b ',
      '"',
      "'",
      ' #',
      '#',
      '|',
      '>',
      '|-\n',
      '&a ',
      '*a',
      '\n',
      '\n  ',
      '\n    ',
      '\n ',
      '  ',
      ',',
      '---\n',
      '...\n',
      '\t',
      '!t ',
      'x: ',
      '\n- ',
      '\n  - ',
      '\\',
      '"x"',
      "'y'",
      '%Y\n',
    ];
    let seed = 20261204;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const under: string[] = [];
    for (let k = 0; k < 1200; k++) {
      let s = '';
      const len = 5 + rnd(80);
      for (let i = 0; i < len; i++) s += parts[rnd(parts.length)];
      let actual: number;
      try {
        actual = actualDepth(s);
      } catch {
        continue;
      }
      if (yamlEstimate(s) < actual) under.push(s);
    }
    expect(under).toEqual([]);
  });

  it('follows aliases after parsing: deep chains and cycles are refused', () => {
    // Each anchor nests the previous one 30 levels deeper: static depth stays small.
    const lines = ['a0: &a0 1'];
    for (let i = 1; i <= 6; i++) lines.push(`a${i}: &a${i} ${'['.repeat(30)}*a${i - 1}${']'.repeat(30)}`);
    const chain = `${lines.join('\n')}\n`;
    expect(yamlEstimate(chain)).toBeLessThan(40);
    const err = depthError(() => parseYamlDocumentBounded(chain, { maxAliasCount: -1 }, opts));
    expect(err.message).toMatch(/once aliases are expanded/);
    const cycle = depthError(() => parseYamlDocumentBounded('a: &x [b, *x]\n', {}, opts));
    expect(cycle.message).toMatch(/cyclic/);
    // An alias names the latest anchor before it (an anchor counts from its node's start).
    const redefined = 'a: &x [1]\nb: *x\nc: &x {d: 2}\ne: *x\n';
    expect(parseYamlBounded(redefined, {}, opts)).toEqual({ a: [1], b: [1], c: { d: 2 }, e: { d: 2 } });
    depthError(() => parseYamlDocumentBounded('a: &x [1]\nb: &x {c: *x}\n', {}, opts));
    // Many aliases cost one walk (the yaml package resolves each alias with a full walk).
    const many = `base: &b {x: 1}\nlist:\n${'  - *b\n'.repeat(20_000)}`;
    expect(parseYamlDocumentBounded(many, {}, opts).errors).toEqual([]);
    expect(
      parseYamlBounded('base: &b {x: 1}\nuse: *b\nmerged:\n  <<: *b\n  y: 2\n', { merge: true }, opts),
    ).toEqual({
      base: { x: 1 },
      use: { x: 1 },
      merged: { x: 1, y: 2 },
    });
  });

  const VECTORS = join(process.cwd(), '..', 'shared', 'vectors', 'helm-render');
  const haveVectors = existsSync(VECTORS);
  if (!haveVectors) console.warn(`real-chart depth check skipped: ${VECTORS} not found`);
  it.skipIf(!haveVectors)('keeps real charts far below the bound (values.yaml, Chart.yaml, CRDs)', () => {
    const found: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        // Templates are not YAML until rendered; CRDs and values are.
        else if (/^(values\.yaml|Chart\.yaml|Chart\.lock)$/.test(name) || /crds?\/.*\.ya?ml$/.test(p))
          found.push(p);
      }
    };
    walk(VECTORS);
    expect(found.length).toBeGreaterThan(20);
    let deepest = 0;
    for (const f of found) {
      const src = readFileSync(f, 'utf8');
      if (src.length > 256 * 1024) continue; // keeps the test quick on a shared machine
      const estimate = yamlEstimate(src);
      deepest = Math.max(deepest, estimate);
      expect(estimate).toBeGreaterThanOrEqual(actualDepth(src));
    }
    // The deepest (a CRD) scans to about 60, values.yaml files to at most about 24.
    expect(deepest).toBeLessThanOrEqual(DEFAULT_MAX_DEPTH * 0.6);
  });
});

describe('YAML duplicate keys', () => {
  it("refuses a repeated key as yaml's own check does, with its code and the position", () => {
    for (const [src, line] of [
      ['a: 1\nb: 2\na: 3\n', 3],
      ['x:\n  k: 1\n  k: 2\n', 3],
      ['{a: 1, a: 2}\n', 1],
      ['- {1: x, 1: y}\n', 1],
    ] as const) {
      let err: unknown;
      try {
        parseYamlBounded(src, {}, opts);
      } catch (e) {
        err = e;
      }
      expect(err, src).toBeInstanceOf(YAMLParseError);
      expect((err as YAMLParseError).code).toBe('DUPLICATE_KEY');
      expect((err as Error).message).toMatch(new RegExp(`^Map keys must be unique at line ${line},`));
    }
    // A caller that lets the last key win, and keys that only look alike, still parse.
    expect(parseYamlBounded('a: 1\na: 2\n', { uniqueKeys: false }, opts)).toEqual({ a: 2 });
    expect(parseYamlBounded('"1": a\n1: b\n', {}, opts)).toEqual({ 1: 'b' });
    const docs = parseAllYamlDocumentsBounded('a: 1\n---\na: 1\na: 2\n', {}, opts);
    expect(docs.map((d) => d.errors.map((e) => e.code))).toEqual([[], ['DUPLICATE_KEY']]);
  });

  it('checks a map of 100 000 keys in one pass (yaml compares each key with all earlier ones)', () => {
    const keys = Array.from({ length: 100_000 }, (_, i) => `k${i}: ${i}`);
    const value = parseYamlBounded(`${keys.join('\n')}\n`, {}, { ...opts, maxNodes: 1_000_000 }) as Record<
      string,
      number
    >;
    expect(Object.keys(value)).toHaveLength(100_000);
    expect(() =>
      parseYamlBounded(`${keys.join('\n')}\nk7: 0\n`, {}, { ...opts, maxNodes: 1_000_000 }),
    ).toThrow(/Map keys must be unique at line 100001,/);
  });
});
