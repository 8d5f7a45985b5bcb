import { describe, expect, it } from 'vitest';
import { compareYamlKeys, isAmbiguousYamlString, marshalGoYaml } from '../../src/chart/go-yaml.js';

describe('compareYamlKeys (yaml.v2 keyList.Less)', () => {
  it('puts non-letters before letters and compares digit runs numerically', () => {
    expect(['b10', 'b9', 'Z', 'a', '1', '_x', 'a01', 'a1'].sort(compareYamlKeys)).toEqual([
      '_x', // no digit run counts as 0
      '1',
      'Z',
      'a',
      'a1',
      'a01',
      'b9',
      'b10',
    ]);
    expect(compareYamlKeys('x', 'x')).toBe(0);
  });
});

describe('isAmbiguousYamlString (yaml.v2 resolve)', () => {
  it('flags what would resolve to null, bool, number, timestamp or merge', () => {
    for (const s of [
      '',
      '~',
      'null',
      'yes',
      'N',
      'off',
      '.inf',
      '-.Inf',
      '.5',
      '1_000',
      '1_',
      '0x1F',
      '0o17',
    ])
      expect(isAmbiguousYamlString(s), s).toBe(true);
    for (const s of [
      '007',
      '08',
      '1e3',
      '-1.5',
      '1:30',
      '2021-05-02',
      '2021-5-2T1:2:3Z',
      '2021-05-02 15:07:22',
      '0b-1', // ParseInt("-1", 2) in yaml.v2's 0b fallback
      '1e+20',
      '-0',
    ])
      expect(isAmbiguousYamlString(s), s).toBe(true);
  });

  it('leaves strings Go would write plain', () => {
    for (const s of [
      'x',
      '+inf',
      '0x1p3',
      '-',
      '.',
      '2021-13-01',
      '2021-02-30',
      '2021-05-02T15:07:22',
      'v1.0',
      '<<', // '<' has no resolve hint: Helm writes `<<: <<` plain
      '1e999', // out of float64 range: a string
      '.5e999',
      '+Inf',
      'NaN',
      '0x',
    ])
      expect(isAmbiguousYamlString(s), s).toBe(false);
  });
});

describe('marshalGoYaml', () => {
  it('formats numbers like strconv.FormatFloat(f, g, -1, 64)', () => {
    expect(marshalGoYaml({ a: 1, b: 0.5, c: 0.00001, d: 1234567.5, e: 123456.5 })).toBe(
      'a: 1\nb: 0.5\nc: 1e-05\nd: 1.2345675e+06\ne: 123456.5\n',
    );
  });

  it('handles empty and non-mapping documents and drops undefined members', () => {
    expect(marshalGoYaml({})).toBe('{}\n');
    expect(marshalGoYaml({ a: undefined })).toBe('{}\n');
    expect(marshalGoYaml({ a: { b: undefined }, c: 1 })).toBe('a: {}\nc: 1\n');
    expect(marshalGoYaml([])).toBe('[]\n');
    expect(marshalGoYaml(['a', { b: 'true' }])).toBe('- a\n- b: "true"\n');
    expect(marshalGoYaml('yes')).toBe('"yes"\n');
  });

  // Verified against `helm package` (v4.1.4): yaml.v2's is_printable stops at U+FFFF.
  it('double-quotes characters outside the Basic Multilingual Plane with \\U escapes', () => {
    expect(marshalGoYaml({ description: 'emoji \u{1F600} here' })).toBe(
      'description: "emoji \\U0001F600 here"\n',
    );
    expect(marshalGoYaml({ k: ['é multi \u{1F600}', 'x\u00e9y'] })).toBe(
      'k:\n- "é multi \\U0001F600"\n- xéy\n',
    );
    expect(marshalGoYaml({ '\u{10FFFF}': 'a' })).toBe('"\\U0010FFFF": a\n');
  });

  it('double-quotes NEL instead of writing a literal block', () => {
    expect(marshalGoYaml({ a: 'x\u0085y' })).toBe('a: "x\\Ny"\n');
    expect(marshalGoYaml({ a: 'x\ny\u{1F600}' })).toBe('a: "x\\ny\\U0001F600"\n');
  });

  it('writes multi-line keys double-quoted, never as literal blocks', () => {
    expect(marshalGoYaml({ 'a\nb': 'x' })).toBe('"a\\nb": x\n');
  });
});
