import { describe, expect, it } from 'vitest';
import { ChartproofError } from '../../../src/errors.js';
import { parseValuesYaml, splitYamlDocuments } from '../../../src/render/values/index.js';
import { goJson, typesLine } from './go-json.js';
import { YAML_CASES } from './helm-yaml.cases.js';

describe('values files read like Helm v4.1.4 (recorded oracle)', () => {
  it.each(YAML_CASES.map((c) => [JSON.stringify(c.text), c] as const))('%s', (_name, c) => {
    if (c.error !== undefined) {
      let err: unknown;
      try {
        parseValuesYaml(c.text, 'v.yaml');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ChartproofError);
      expect((err as ChartproofError).code).toBe('VALUES_INVALID');
      expect(`Error: ${(err as Error).message}`).toBe(c.error);
      return;
    }
    const v = parseValuesYaml(c.text, 'v.yaml');
    expect(goJson(v)).toBe(c.json);
    expect(typesLine(v)).toBe(c.types ?? '');
  });
});

describe('parseValuesYaml', () => {
  it('numbers are float64 JS numbers, never bigint', () => {
    const v = parseValuesYaml('a: 12\nb: [1, 2]\n');
    expect(typeof v.a).toBe('number');
    expect((v.b as unknown[]).every((x) => typeof x === 'number')).toBe(true);
  });
  it('maps are null-prototype objects', () => {
    const v = parseValuesYaml('a: {b: 1}\n');
    expect(Object.getPrototypeOf(v)).toBeNull();
    expect(Object.getPrototypeOf(v.a)).toBeNull();
  });
  it('without a name the error has no file prefix', () => {
    expect(() => parseValuesYaml('- a\n')).toThrow(/^cannot unmarshal yaml document: /);
  });
  it('bounds alias expansion (billion laughs)', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) {
      lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]`);
    }
    let err: unknown;
    try {
      parseValuesYaml(`${lines.join('\n')}\n`, 'bomb.yaml', { maxNodes: 100_000 });
    } catch (e) {
      err = e;
    }
    expect((err as ChartproofError).code).toBe('SIZE_LIMIT_EXCEEDED');
  });
  it('bounds nesting depth', () => {
    const text = `${'a:\n'.replace('a:', '')}${Array.from({ length: 60 }, (_, i) => `${'  '.repeat(i)}k:`).join('\n')} 1\n`;
    expect(() => parseValuesYaml(text, 'deep.yaml', { maxDepth: 50 })).toThrow(ChartproofError);
    expect(() => parseValuesYaml(text, 'deep.yaml', { maxDepth: 100 })).not.toThrow();
  });
  it('bounds input size', () => {
    expect(() => parseValuesYaml('a: 1\n'.repeat(100), 'big.yaml', { maxBytes: 10 })).toThrow(
      ChartproofError,
    );
  });
});

describe('splitYamlDocuments (k8s YAMLReader)', () => {
  it.each([
    ['a: 1\n---\nb: 2\n', ['a: 1\n', 'b: 2\n']],
    ['---\n---\n', []],
    ['--- # c\na: 1', ['a: 1']],
    ['a: 1\n  ---\n', ['a: 1\n  ---\n']],
  ] as const)('%j', (text, want) => {
    expect(splitYamlDocuments(text)).toEqual(want);
  });
});
