import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadChartDirectory } from '../../../src/chart/package.js';
import { ChartproofError } from '../../../src/errors.js';
import {
  capabilitiesValue,
  checkKubeVersion,
  defaultCapabilities,
  mergeUserValues,
  parseKubeVersion,
  prepareRender,
  releaseValue,
  validateAgainstSingleSchema,
  type Values,
} from '../../../src/render/values/index.js';
import { GoStruct } from '../../../src/render/template/value.js';
import { helmAvailable, runHelm } from '../../helpers/helm.js';

const tmp = mkdtempSync(join(tmpdir(), 'cp-schema-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function writeTree(root: string, files: Record<string, string>): string {
  for (const [p, text] of Object.entries(files)) {
    const f = join(root, p);
    mkdirSync(dirname(f), { recursive: true });
    writeFileSync(f, text);
  }
  return root;
}

const enc = new TextEncoder();

describe('parseKubeVersion (helm template --kube-version)', () => {
  it.each([
    ['1.29', 'v1.29', 'v1.29', '1', '29'],
    ['v1.33.4-gke.1245000', 'v1.33.4-gke.1245000', 'v1.33.4', '1', '33'],
    [' 1.30.1+x', 'v 1.30.1+x', 'v1.30.1', '1', '30'],
    ['1.20.0', 'v1.20.0', 'v1.20.0', '1', '20'],
  ])('%j', (input, version, normalized, major, minor) => {
    expect(parseKubeVersion(input)).toEqual({ version, normalizedVersion: normalized, major, minor });
  });
  it.each([
    ['1', `invalid kube version '1': illegal version string "1"`],
    ['x1', `invalid kube version 'x1': could not parse "x1" as version`],
    ['01.2', `invalid kube version '01.2': illegal zero-prefixed version component "01" in "01.2"`],
  ])('%j fails like Helm', (input, message) => {
    expect(() => parseKubeVersion(input)).toThrow(message);
  });
});

describe('kubeVersion constraint', () => {
  const chart = (kubeVersion: string) =>
    ({ metadata: { name: 'c', version: '1.0.0', apiVersion: 'v2', kubeVersion }, dependencies: [] }) as never;
  it('prerelease-aware Masterminds ranges against the normalised version', () => {
    const caps = defaultCapabilities({ kubeVersion: 'v1.33.4-gke.1245000' });
    expect(() => checkKubeVersion(chart('>=1.21.0-0'), caps)).not.toThrow();
    expect(() => checkKubeVersion(chart('>=1.34.0'), caps)).toThrow(
      'chart requires kubeVersion: >=1.34.0 which is incompatible with Kubernetes v1.33.4-gke.1245000',
    );
    expect(() =>
      checkKubeVersion(chart('<1.30'), defaultCapabilities({ kubeVersion: '1.29' })),
    ).not.toThrow();
  });
});

describe('render context values', () => {
  it('.Release is a Go map with an int Revision', () => {
    const r = releaseValue({ name: 'n', namespace: 'ns' });
    expect(Object.getPrototypeOf(r)).toBeNull();
    expect(r).toEqual({
      Name: 'n',
      Namespace: 'ns',
      IsUpgrade: false,
      IsInstall: true,
      Revision: 1n,
      Service: 'Helm',
    });
    expect(releaseValue({ name: 'n', namespace: 'ns', isUpgrade: true }).IsInstall).toBe(false);
  });
  it('.Capabilities exposes Helm field names, VersionSet.Has and GitVersion', () => {
    const caps = capabilitiesValue(defaultCapabilities({ kubeVersion: '1.24.0', apiVersions: ['x.io/v1'] }));
    expect(caps).toBeInstanceOf(GoStruct);
    expect(caps.fieldNames()).toEqual(['KubeVersion', 'APIVersions', 'HelmVersion']);
    const kv = caps.field('KubeVersion') as GoStruct;
    expect(kv.field('Version')).toBe('v1.24.0');
    expect(kv.fieldNames()).toEqual(['Version', 'normalizedVersion', 'Major', 'Minor']);
    expect((kv as unknown as { marshalJSON(): string }).marshalJSON()).toBe(
      '{"Version":"v1.24.0","Major":"1","Minor":"24"}',
    );
    expect(kv.method('GitVersion')?.call([], {} as never)).toBe('v1.24.0');
    const apis = caps.field('APIVersions') as string[];
    expect(apis.at(-1)).toBe('x.io/v1');
    const has = (
      apis as unknown as Record<symbol, { methods: Record<string, { call: (a: unknown[]) => unknown }> }>
    )[Symbol.for('chartproof.template.methods')]?.methods.Has;
    expect(has?.call(['policy/v1'])).toBe(true);
    expect(has?.call(['policy/v1/PodDisruptionBudget'])).toBe(false);
    const hv = caps.field('HelmVersion') as unknown as { marshalJSON(): string };
    expect(hv.marshalJSON()).toBe(
      '{"version":"v4.1.4","git_commit":"05fa37973dc9e42b76e1d2883494c87174b6074f","git_tree_state":"clean","go_version":"go1.25.9","kube_client_version":"v1.35"}',
    );
  });
});

const SCHEMA_CASES: [string, string, string[]][] = [
  ['type', '{"type":"object","properties":{"n":{"type":"integer"}}}', ['n=abc']],
  ['type float for integer', '{"type":"object","properties":{"n":{"type":"integer"}}}', ['n=1.5']],
  ['type union', '{"type":"object","properties":{"n":{"type":["string","null"]}}}', ['n=1']],
  ['enum one', '{"type":"object","properties":{"e":{"enum":["only"]}}}', ['e=x']],
  ['enum numbers', '{"type":"object","properties":{"e":{"enum":[1,2.5,true,null]}}}', ['e=x']],
  ['const', '{"type":"object","properties":{"c":{"const":"k"}}}', ['c=x']],
  ['required', '{"type":"object","required":["a"]}', ['b=1']],
  ['required two', '{"type":"object","required":["a","b"]}', ['c=1']],
  ['additionalProperties', '{"type":"object","properties":{"a":{}},"additionalProperties":false}', ['zz=1']],
  ['minimum', '{"type":"object","properties":{"m":{"minimum":3}}}', ['m=1']],
  ['exclusiveMaximum', '{"type":"object","properties":{"m":{"exclusiveMaximum":3}}}', ['m=3']],
  [
    'draft-04 exclusiveMinimum',
    '{"$schema":"http://json-schema.org/draft-04/schema#","type":"object","properties":{"m":{"minimum":3,"exclusiveMinimum":true}}}',
    ['m=3'],
  ],
  ['minLength', '{"type":"object","properties":{"s":{"minLength":5}}}', ['s=äb']],
  ['maxItems', '{"type":"object","properties":{"l":{"maxItems":1}}}', ['l={a,b}']],
  ['pattern', '{"type":"object","properties":{"p":{"pattern":"^[a-z]+$"}}}', ['p=A1']],
  [
    'nested',
    '{"type":"object","properties":{"a":{"type":"object","properties":{"b":{"type":"boolean"}}}}}',
    ['a.b=x'],
  ],
  [
    'array item',
    '{"type":"object","properties":{"l":{"type":"array","items":{"type":"string"}}}}',
    ['l[1]=2'],
  ],
  [
    'ref',
    '{"definitions":{"i":{"type":"integer"}},"type":"object","properties":{"r":{"$ref":"#/definitions/i"}}}',
    ['r=x'],
  ],
  ['uniqueItems', '{"type":"object","properties":{"u":{"uniqueItems":true}}}', ['u={a,a}']],
  ['false schema', '{"type":"object","properties":{"f":false}}', ['f=1']],
  ['not', '{"type":"object","properties":{"n":{"not":{"type":"string"}}}}', ['n=x']],
  [
    'anyOf',
    '{"type":"object","properties":{"a":{"anyOf":[{"type":"integer"},{"type":"boolean"}]}}}',
    ['a=x'],
  ],
  [
    'oneOf none',
    '{"type":"object","properties":{"a":{"oneOf":[{"type":"integer"},{"type":"boolean"}]}}}',
    ['a=x'],
  ],
  ['allOf', '{"type":"object","properties":{"a":{"allOf":[{"type":"integer"},{"minimum":3}]}}}', ['a=x']],
  [
    'allOf two causes',
    '{"type":"object","properties":{"a":{"allOf":[{"minimum":5},{"maximum":1}]}}}',
    ['a=3'],
  ],
  [
    'ref group',
    '{"type":"object","properties":{"a":{"$ref":"#/$defs/x"}},"$defs":{"x":{"type":"object","required":["q"],"properties":{"p":{"type":"integer"}}}}}',
    ['a.p=x'],
  ],
  ['propertyNames', '{"type":"object","propertyNames":{"maxLength":2}}', ['abc=x']],
  ['dependencies', '{"type":"object","dependencies":{"a":["b"]}}', ['a=x']],
  ['enum objects', '{"type":"object","properties":{"a":{"enum":[{"x":1},"y"]}}}', ['a=x']],
  [
    'oneOf both',
    '{"type":"object","properties":{"a":{"oneOf":[{"type":"string"},{"minLength":1}]}}}',
    ['a=x'],
  ],
  [
    'nested anyOf',
    '{"type":"object","properties":{"a":{"type":"object","properties":{"b":{"anyOf":[{"type":"integer"},{"type":"boolean"}]}}}}}',
    ['a.b=x'],
  ],
  [
    'draft-07 ipv4',
    '{"$schema":"http://json-schema.org/draft-07/schema#","properties":{"a":{"format":"ipv4"}}}',
    ['a=1.2.3'],
  ],
  [
    'draft-07 email',
    '{"$schema":"http://json-schema.org/draft-07/schema#","properties":{"a":{"format":"email"}}}',
    ['a=x'],
  ],
  [
    'draft-07 hostname',
    '{"$schema":"http://json-schema.org/draft-07/schema#","properties":{"a":{"format":"hostname"}}}',
    ['a=-x'],
  ],
  [
    'draft-07 date-time',
    '{"$schema":"http://json-schema.org/draft-07/schema#","properties":{"a":{"format":"date-time"}}}',
    ['a=x'],
  ],
  [
    'draft-07 uri',
    '{"$schema":"http://json-schema.org/draft-07/schema#","properties":{"a":{"format":"uri"}}}',
    ['a=x'],
  ],
  [
    'draft-07 uuid',
    '{"$schema":"http://json-schema.org/draft-07/schema#","properties":{"a":{"format":"uuid"}}}',
    ['a=x-y'],
  ],
  ['escaped pointer', '{"type":"object","properties":{"a/b~c":{"type":"integer"}}}', ['a/b~c=x']],
];

describe('values.schema.json errors match the real Helm v4.1.4', () => {
  const run = helmAvailable('schema differential tests');
  it.skipIf(!run).each(SCHEMA_CASES)('%s', async (name, schema, set) => {
    const dir = writeTree(join(tmp, name.replace(/\W+/g, '-')), {
      'Chart.yaml': 'apiVersion: v2\nname: sc\nversion: 0.1.0\n',
      'values.schema.json': schema,
      'templates/cm.yaml': 'x: 1\n',
    });
    const args = ['template', 'r', dir];
    for (const s of set) args.push('--set', s);
    const helm = runHelm(args);
    const { chart } = await loadChartDirectory(dir);
    let err: unknown;
    try {
      prepareRender(chart, {
        release: { name: 'r', namespace: 'default' },
        userValues: mergeUserValues({ values: set }),
      });
    } catch (e) {
      err = e;
    }
    expect(helm.status).toBe(1);
    expect(err).toBeInstanceOf(ChartproofError);
    expect((err as ChartproofError).code).toBe('VALUES_INVALID');
    expect(`Error: ${(err as Error).message}\n`).toBe(helm.stderr.replace(/^level=.*\n/gm, ''));
  });

  it.skipIf(!run)('subchart schemas see their scoped values; non-map values are reported', async () => {
    const dir = writeTree(join(tmp, 'subschema'), {
      'Chart.yaml':
        'apiVersion: v2\nname: top\nversion: 0.1.0\ndependencies:\n- {name: sub, version: 0.1.0, repository: ""}\n',
      'charts/sub/Chart.yaml': 'apiVersion: v2\nname: sub\nversion: 0.1.0\n',
      'charts/sub/values.schema.json':
        '{"type":"object","properties":{"port":{"type":"integer"}},"required":["port"]}',
      'charts/sub/values.yaml': 'port: 80\n',
    });
    for (const set of [['sub.port=x'], ['sub.port=null']]) {
      const args = ['template', 'r', dir];
      for (const s of set) args.push('--set', s);
      const helm = runHelm(args);
      const { chart } = await loadChartDirectory(dir);
      let err: unknown;
      try {
        prepareRender(chart, {
          release: { name: 'r', namespace: 'd' },
          userValues: mergeUserValues({ values: set }),
        });
      } catch (e) {
        err = e;
      }
      expect(`Error: ${(err as Error).message}\n`).toBe(helm.stderr.replace(/^level=.*\n/gm, ''));
    }
  });
});

describe('validateAgainstSingleSchema', () => {
  it('never fetches remote references', () => {
    const schema = enc.encode('{"$ref":"https://example.invalid/schema.json"}');
    const out = validateAgainstSingleSchema({} as Values, schema);
    expect(out).toMatch(/never fetches/);
  });
  it('unresolved urn: references are permissive, as in Helm', () => {
    const schema = enc.encode('{"type":"object","properties":{"a":{"$ref":"urn:example:thing"}}}');
    expect(validateAgainstSingleSchema({ a: 'x' } as unknown as Values, schema)).toBeUndefined();
  });
  it('bounds schema size and depth', () => {
    expect(() => validateAgainstSingleSchema({} as Values, enc.encode('{}'), { maxSchemaBytes: 1 })).toThrow(
      ChartproofError,
    );
    const deep = `${'{"not":'.repeat(300)}{}${'}'.repeat(300)}`;
    expect(() => validateAgainstSingleSchema({} as Values, enc.encode(deep))).toThrow(ChartproofError);
  });
  it('a valid document passes and int64 counts as integer', () => {
    const schema = enc.encode('{"type":"object","properties":{"n":{"type":"integer"}}}');
    expect(validateAgainstSingleSchema({ n: 5n } as unknown as Values, schema)).toBeUndefined();
  });
});
