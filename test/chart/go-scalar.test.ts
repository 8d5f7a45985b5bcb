import { describe, expect, it } from 'vitest';
import { formatGoFloat32, goScalarToString, resolveGoScalar } from '../../src/chart/go-scalar.js';
import { parseChartMetadata } from '../../src/chart/metadata.js';
import { parseLock } from '../../src/chart/metadata.js';
import { ChartproofError } from '../../src/errors.js';

// Every row was checked against the real Helm v4.1.4 (`helm show chart` of a Chart.yaml
// with `appVersion: <yaml>`); the integration suite repeats a sample of them live.
const HELM_APP_VERSIONS: [yaml: string, helm: string | undefined][] = [
  ['1.10', '1.1'],
  ['1.0', '1'],
  ['012', '10'],
  ['-012', '-10'],
  ['0x1F', '31'],
  ['0X1f', '31'],
  ['+0x10', '16'],
  ['1e3', '1000'],
  ['.5', '0.5'],
  ['+12', '12'],
  ['08', '8'],
  ['0o17', '15'],
  ['0b101', '5'],
  ['0B11', '3'],
  ['-0b11', '-3'],
  ['1_000', '1000'],
  ['1__0', '10'],
  ['1:30', '1:30'],
  ['yes', 'true'],
  ['on', 'true'],
  ['n', 'false'],
  ['true', 'true'],
  ['Null', undefined],
  ['~', undefined],
  ['.inf', '+Inf'],
  ['-.inf', '-Inf'],
  ['.nan', 'NaN'],
  ['2024-01-01', '2024-01-01'],
  ['12345678901234567890', '12345678901234567890'],
  ['99999999999999999999', '1e+20'],
  ['3.14159265358979', '3.1415927'],
  ['1e6', '1e+06'],
  ['100000', '100000'],
  ['0.0001', '0.0001'],
  ['0.00001', '1e-05'],
  ['1234567.0', '1.234567e+06'],
  ['16777217.0', '1.6777216e+07'],
  ['"1.10"', '1.10'],
  ['!!str 1.10', '1.10'],
  ['!!float 1', '1'],
  ['0.1e-1', '0.01'],
  ['1.', '1'],
  ['-1.5e+300', '-Inf'],
  ['0x', '0x'],
  ['1e', '1e'],
  ['1.2.3', '1.2.3'],
];

describe('Chart.yaml scalars read as Helm reads them', () => {
  it.each(HELM_APP_VERSIONS)('appVersion: %s → %s', (yaml, helm) => {
    const m = parseChartMetadata(`apiVersion: v2\nname: c\nversion: 0.1.0\nappVersion: ${yaml}\n`);
    expect(m.appVersion).toBe(helm);
  });

  it('converts numbers in every string field: lists, maintainers, annotations and their keys, dependencies', () => {
    const m = parseChartMetadata(
      'apiVersion: v2\nname: c1\nversion: 0.1.0\nannotations:\n  1.10: a\n  yes: b\n  .inf: c\n  0x10: d\n  k: 1.50\n' +
        'keywords: [1.10, on]\nmaintainers:\n  - name: 1.0\n    Email: 0x10\n' +
        'dependencies:\n  - name: d\n    version: 1.10\n    repository: 0x1\n    tags: [1.0]\n    enabled: true\n    Alias: al\n',
    );
    // What `helm show chart` prints for the same file.
    expect(m.annotations).toEqual({ '1.1': 'a', true: 'b', '.inf': 'c', '16': 'd', k: '1.5' });
    expect(m.keywords).toEqual(['1.1', 'true']);
    expect(m.maintainers).toEqual([{ name: '1', email: '16' }]);
    expect(m.dependencies).toEqual([
      { name: 'd', version: '1.1', repository: '1', tags: ['1'], enabled: true, alias: 'al' },
    ]);
    expect(m.version).toBe('0.1.0');
  });

  it('matches keys to fields case-insensitively, the last in sorted key order winning (encoding/json)', () => {
    expect(parseChartMetadata('apiVersion: v2\nname: c\nversion: 0.1.0\nAppVersion: 1.10\n').appVersion).toBe(
      '1.1',
    );
    // "APPVERSION" sorts before "appVersion", so appVersion is decoded last and wins.
    const m = parseChartMetadata(
      'apiVersion: v2\nname: c\nversion: 0.1.0\nappVersion: 2.0\nAPPVERSION: 3.0\n',
    );
    expect(m.appVersion).toBe('2');
    const merged = parseChartMetadata(
      'apiVersion: v2\nname: c\nversion: 0.1.0\nannotations: {a: x, c: 1}\nAnnotations: {b: w, c: 2}\n',
    );
    expect(merged.annotations).toEqual({ a: 'x', b: 'w', c: '1' });
  });

  it('validates the converted version (version: 1.0 is "1", a valid lenient semver)', () => {
    expect(parseChartMetadata('apiVersion: v2\nname: c\nversion: 1.0\n').version).toBe('1');
  });

  it('rejects a tagged scalar of the wrong type, as go-yaml does', () => {
    expect(() =>
      parseChartMetadata('apiVersion: v2\nname: c\nversion: 0.1.0\nappVersion: !!int yes\n'),
    ).toThrow(ChartproofError);
  });

  it('converts Chart.lock dependency versions but keeps `generated` as written', () => {
    const lock = parseLock(
      'dependencies:\n- name: a\n  repository: https://x\n  version: 1.10\ndigest: sha256:00\ngenerated: 2024-01-01T00:00:00Z\n',
      'Chart.lock',
    );
    expect(lock.dependencies[0]!.version).toBe('1.1');
    expect(lock.generated).toBe('2024-01-01T00:00:00Z');
  });
});

describe('resolveGoScalar (go-yaml v2 resolve)', () => {
  it('types ints, uints, floats, bools, nulls, timestamps and strings', () => {
    expect(resolveGoScalar('9223372036854775807')).toEqual({ kind: 'int', value: 9223372036854775807n });
    expect(resolveGoScalar('-9223372036854775808')).toEqual({ kind: 'int', value: -9223372036854775808n });
    expect(resolveGoScalar('-9223372036854775809').kind).toBe('float');
    expect(resolveGoScalar('18446744073709551615')).toEqual({ kind: 'int', value: 18446744073709551615n });
    expect(resolveGoScalar('0b-101')).toEqual({ kind: 'int', value: -5n });
    expect(resolveGoScalar('.5_0')).toEqual({ kind: 'float', value: 0.5 });
    expect(resolveGoScalar('._5').kind).toBe('str');
    expect(resolveGoScalar('1e400').kind).toBe('str');
    expect(resolveGoScalar('2021-5-2T1:2:3Z').kind).toBe('timestamp');
    expect(resolveGoScalar('<<').kind).toBe('str');
    expect(resolveGoScalar('')).toEqual({ kind: 'null' });
    expect(resolveGoScalar('Yes')).toEqual({ kind: 'bool', value: true });
    expect(resolveGoScalar('yES').kind).toBe('str');
  });

  it('renders what sigs.k8s.io/yaml hands to a string field', () => {
    expect(goScalarToString(resolveGoScalar('-0.0'))).toBe('-0');
    expect(goScalarToString(resolveGoScalar('-0'))).toBe('0');
    expect(goScalarToString(resolveGoScalar('~'))).toBeUndefined();
  });
});

describe('formatGoFloat32 (strconv.FormatFloat(f, g, -1, 32))', () => {
  it.each<[number, string]>([
    [1.1, '1.1'],
    [0.1, '0.1'],
    [1 / 3, '0.33333334'],
    [123456, '123456'],
    [1e6, '1e+06'],
    [1.5e-5, '1.5e-05'],
    [3.4028234663852886e38, '3.4028235e+38'],
    [1e39, '+Inf'],
    [1.401298464324817e-45, '1e-45'],
    [16777216, '1.6777216e+07'],
    [0.3, '0.3'],
    [2 ** -20, '9.536743e-07'],
  ])('%d → %s', (f, s) => {
    expect(formatGoFloat32(f)).toBe(s);
  });

  it('round-trips random float32 values with the fewest digits', () => {
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 2000; i++) {
      const f = Math.fround((rand() - 0.5) * 10 ** Math.floor(rand() * 60 - 30));
      const s = formatGoFloat32(f);
      expect(Math.fround(Number(s)), s).toBe(f);
      const digits = s.replace(/^-/, '').replace(/e.*$/, '').replace('.', '').replace(/^0+/, '');
      // One digit fewer never round-trips (shortest representation).
      if (digits.length > 1) {
        const p = digits.length - 1;
        expect(Math.fround(Number(f.toPrecision(p))) === f, `${s} could be shorter`).toBe(false);
      }
    }
  });
});
