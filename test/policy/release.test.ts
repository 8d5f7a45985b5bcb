import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeReleaseSecret, parseReleaseSecretName, ReleaseSecretError } from '../../src/policy/release.js';
import { describeVectors } from '../helpers/vectors.js';

const VECTORS = join(process.cwd(), '..', 'shared', 'vectors', 'helm-release');
const available = existsSync(join(VECTORS, 'README.md'));
if (!available) console.warn(`release Secret vector tests skipped: not found at ${VECTORS}`);
const read = (f: string) => readFileSync(join(VECTORS, f), 'utf8');

/** A release Secret as Helm writes it: base64(base64(gzip(json))). */
function secretOf(release: unknown, opts: { name?: string; gzip?: boolean; raw?: Buffer } = {}) {
  const json = Buffer.from(JSON.stringify(release));
  const body = opts.raw ?? (opts.gzip === false ? json : gzipSync(json, { level: 9 }));
  const helm = body.toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'helm.sh/release.v1',
    metadata: {
      name: opts.name ?? 'sh.helm.release.v1.app.v2',
      namespace: 'prod',
      labels: { owner: 'helm' },
    },
    data: { release: Buffer.from(helm).toString('base64') },
  };
}

const release = (extra: Record<string, unknown> = {}) => ({
  name: 'app',
  namespace: 'prod',
  version: 2,
  info: { status: 'deployed' },
  chart: {
    metadata: { name: 'app', version: '1.0.0', apiVersion: 'v2' },
    values: { replicas: 1 },
    templates: [{ name: 'templates/cm.yaml', data: Buffer.from('kind: ConfigMap\n').toString('base64') }],
    files: [{ name: 'README.md', data: Buffer.from('hi').toString('base64') }],
  },
  config: { replicas: 3 },
  manifest: '---\nkind: ConfigMap\n',
  ...extra,
});

async function refused(p: Promise<unknown>): Promise<ReleaseSecretError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ReleaseSecretError);
    return e as ReleaseSecretError;
  }
  throw new Error('expected a ReleaseSecretError');
}

describeVectors(available)('decodeReleaseSecret on the shared vectors (README.md outcomes)', () => {
  it('nginx: Helm 3 release of bitnami nginx 9.5.13', async () => {
    const r = await decodeReleaseSecret(JSON.parse(read('sh.helm.release.v1.nginx.v1.secret.json')));
    expect(r).toMatchObject({ name: 'nginx', namespace: 'stefantest', revision: 1, status: 'deployed' });
    expect(r.chart).toMatchObject({ name: 'nginx', version: '9.5.13' });
    expect(r.chart.metadata).toMatchObject({ apiVersion: 'v2', appVersion: '1.21.4' });
    expect(r.chart.templates).toHaveLength(14);
    expect(r.chart.files).toHaveLength(4);
    expect((r.chart.lock!.dependencies as { name: string; version: string }[])[0]).toMatchObject({
      name: 'common',
      version: '1.10.1',
    });
    expect(r.config).toEqual({ foo: 'bar' });
    expect(r.hooks).toEqual([]);
    const decoded = JSON.parse(read('sh.helm.release.v1.nginx.v1.decoded.json'));
    expect(r.manifest).toBe(decoded.manifest);
    expect(r.chart.values).toEqual(decoded.chart.values);
    const t0 = decoded.chart.templates[0];
    expect(r.chart.templates[0]!.name).toBe(t0.name);
    expect(Buffer.from(r.chart.templates[0]!.data).toString('base64')).toBe(t0.data);
    // The .b64 file is the verbatim data.release value.
    expect(read('sapcc_helm-v3-nginx.release.b64').trim()).toBe(
      JSON.parse(read('sh.helm.release.v1.nginx.v1.secret.json')).data.release,
    );
  });

  it('example: chart example 1.0.0 with a hook, no config', async () => {
    const r = await decodeReleaseSecret(JSON.parse(read('sh.helm.release.v1.example.v1.secret.json')));
    expect(r).toMatchObject({ name: 'example', namespace: 'default', revision: 1, status: 'deployed' });
    expect(r.chart).toMatchObject({ name: 'example', version: '1.0.0' });
    expect(r.chart.templates).toHaveLength(1);
    expect(r.hooks).toHaveLength(1);
    expect((r.hooks[0] as { kind: string }).kind).toBe('ConfigMap');
    expect((r.chart.lock!.dependencies as { name: string }[]).map((d) => d.name)).toEqual(['owner-info']);
    expect(r.config).toEqual({});
  });

  it('demo: the synthetic Helm-4-shaped release decodes to its decoded.json', async () => {
    const r = await decodeReleaseSecret(
      JSON.parse(read('sh.helm.release.v1.demo.v1.synthetic-v4.secret.json')),
    );
    const decoded = JSON.parse(read('sh.helm.release.v1.demo.v1.synthetic-v4.decoded.json'));
    expect(r).toMatchObject({ name: 'demo', namespace: 'default', revision: 1, status: decoded.info.status });
    expect(r.chart.metadata).toEqual(decoded.chart.metadata);
    expect(r.chart.values).toEqual(decoded.chart.values);
    expect(r.config).toEqual(decoded.config ?? {});
    expect(r.labels.owner).toBe('helm');
  });
});

describe('decodeReleaseSecret', () => {
  it('decodes gzip and pre-compression (plain JSON) releases', async () => {
    for (const gzip of [true, false]) {
      const r = await decodeReleaseSecret(secretOf(release(), { gzip }));
      expect(r).toMatchObject({ name: 'app', namespace: 'prod', revision: 2, config: { replicas: 3 } });
      expect(new TextDecoder().decode(r.chart.templates[0]!.data)).toBe('kind: ConfigMap\n');
    }
    expect(parseReleaseSecretName('sh.helm.release.v1.my.app.v10')).toEqual({
      release: 'my.app',
      revision: 10,
    });
    expect(parseReleaseSecretName('sh.helm.release.v1.app.v0')).toBeUndefined();
  });

  it('refuses a release Helm would read differently: struct keys in another case, or twice (Go matches fields case-insensitively)', async () => {
    const good = JSON.stringify(release());
    const evilTemplates = JSON.stringify([{ name: 'templates/pod.yaml', data: 'a2luZDogUG9kCg==' }]);
    const cases: [string, string][] = [
      // Go fills `manifest` from "Manifest"; JSON.parse leaves it beside.
      ['another case', good.replace('"manifest":', '"Manifest":')],
      // U+017F folds to s in Go's matching.
      ['a Unicode fold', good.replace('"manifest":', '"manife\u017ft":')],
      // Two chart objects: Go merges them into one chart, JSON.parse keeps the last.
      ['a duplicate struct', good.replace('"chart":{', `"chart":{"templates":${evilTemplates}},"chart":{`)],
      [
        'a key in two cases in the chart',
        good.replace('"templates":', `"Templates":${evilTemplates},"templates":`),
      ],
      [
        'a hook field in another case',
        JSON.stringify(release({ hooks: [{ name: 'h', Manifest: 'kind: Pod' }] })),
      ],
    ];
    for (const [what, json] of cases) {
      const e = await refused(decodeReleaseSecret(secretOf({}, { raw: gzipSync(Buffer.from(json)) })));
      expect(e.code, what).toBe('RELEASE_INVALID');
      expect(e.message, what).toMatch(/the release JSON is ambiguous/);
    }
    // Maps keep their keys as written (Helm too): values keys in two cases are fine.
    const values = release({ config: { HTTP_PROXY: 'a', http_proxy: 'b' } });
    const r = await decodeReleaseSecret(secretOf(values));
    expect(r.config).toEqual({ HTTP_PROXY: 'a', http_proxy: 'b' });
  });

  it('refuses wrong types, names and shapes with RELEASE_INVALID', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ ...secretOf(release()), type: 'Opaque' }, /Secret type is "Opaque", not helm\.sh\/release\.v1/],
      [secretOf(release(), { name: 'my-secret' }), /is not sh\.helm\.release\.v1\.<release>\.v<revision>/],
      [
        secretOf(release(), { name: 'sh.helm.release.v1.other.v2' }),
        /the release is named "app", the Secret "other"/,
      ],
      [secretOf(release(), { name: 'sh.helm.release.v1.app.v3' }), /revision 2, the Secret 3/],
      [secretOf(release({ namespace: 'kube-system' })), /namespace "kube-system", the Secret in "prod"/],
      [secretOf(release({ chart: { metadata: { name: 'app' } } })), /no name or version/],
      [secretOf([1, 2]), /not a JSON object/],
      [{ ...secretOf(release()), data: {} }, /data\.release is missing/],
      [{ ...secretOf(release()), data: { release: '!!!!' } }, /not valid base64/],
      [secretOf(null, { raw: Buffer.from('{"name": ') }), /not JSON/],
      [secretOf(null, { raw: Buffer.from([0xff, 0xfe, 0x7b]) }), /not UTF-8/],
      [{ ...secretOf(release()), kind: 'ConfigMap' }, /not a Secret/],
    ];
    for (const [secret, message] of cases) {
      const e = await refused(decodeReleaseSecret(secret));
      expect(e.code, String(message)).toBe('RELEASE_INVALID');
      expect(e.message).toMatch(message);
    }
  });

  it('truncated gzip is refused', async () => {
    const gz = gzipSync(Buffer.from(JSON.stringify(release())));
    const e = await refused(decodeReleaseSecret(secretOf(null, { raw: gz.subarray(0, gz.length - 12) })));
    expect(e.code).toBe('RELEASE_INVALID');
    expect(e.message).toMatch(/not valid gzip/);
  });

  it('a gzip bomb stops at the cap', async () => {
    // 16 MiB of spaces inside a JSON string compress to ~16 KiB.
    const bomb = gzipSync(
      Buffer.concat([Buffer.from('{"name":"'), Buffer.alloc(16 * 1024 * 1024, 0x20), Buffer.from('"}')]),
    );
    expect(bomb.length).toBeLessThan(200 * 1024);
    const e = await refused(
      decodeReleaseSecret(secretOf(null, { raw: bomb }), { maxJsonBytes: 1024 * 1024 }),
    );
    expect(e.code).toBe('SIZE_LIMIT_EXCEEDED');
    expect(e.message).toMatch(/decompresses to more than 1048576 bytes/);
    const big = await refused(decodeReleaseSecret(secretOf(release()), { maxEncodedBytes: 100 }));
    expect(big.code).toBe('SIZE_LIMIT_EXCEEDED');
  });

  it('deep JSON is refused before it is parsed; file counts are bounded', async () => {
    const deep = Buffer.from(`{"name":"app","x":${'['.repeat(10_000)}${']'.repeat(10_000)}}`);
    const e = await refused(decodeReleaseSecret(secretOf(null, { raw: gzipSync(deep) })));
    expect(e.code).toBe('DEPTH_LIMIT_EXCEEDED');
    const many = await refused(decodeReleaseSecret(secretOf(release()), { maxFiles: 1 }));
    expect(many.code).toBe('SIZE_LIMIT_EXCEEDED');
  });
});
