import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { captureIo } from '../helpers/cli-io.js';
import { describeVectors } from '../helpers/vectors.js';

const REALWORLD = join(process.cwd(), '..', 'shared', 'vectors', 'helm-render', 'helm-v4.1.4-realworld');
const ok = existsSync(join(REALWORLD, 'cases.tsv'));
if (!ok) console.warn(`images CLI skipped: ${REALWORLD} not found`);

/** Docker normalisation, written independently of src/workloads for the comparison. */
function normalise(ref: string): string {
  let name = ref;
  let digest = '';
  const at = name.indexOf('@');
  if (at >= 0) [name, digest] = [name.slice(0, at), name.slice(at)];
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  if (slash < 0 || !(first.includes('.') || first.includes(':') || first === 'localhost')) {
    name = `docker.io/${slash < 0 ? `library/${name}` : name}`;
  }
  // Docker Hub's official images live under library/ (docker.io/redis = docker.io/library/redis).
  if (name.startsWith('docker.io/') && !name.slice('docker.io/'.length).includes('/')) {
    name = `docker.io/library/${name.slice('docker.io/'.length)}`;
  }
  if (!/:[^/]+$/.test(name) && digest === '') name += ':latest';
  return name + digest;
}

describeVectors(ok)('chartproof images on real charts', () => {
  it.each([
    ['podinfo-features', 'charts/podinfo-6.14.1', 'values/podinfo/features.yaml'],
    ['nginx-features', 'charts/nginx-22.1.1', 'values/nginx/features.yaml'],
    ['metrics-server-features', 'charts/metrics-server-3.13.1', 'values/metrics-server/features.yaml'],
  ])('%s: every image: line of the golden, normalised, sorted, once', async (id, chart, values) => {
    const golden = readFileSync(join(REALWORLD, 'expected', `${id}.yaml`), 'utf8');
    const want = [
      ...new Set(
        [...golden.matchAll(/^\s*(?:- )?image: ["']?([^"'\s]+)["']?\s*$/gm)].map((m) =>
          normalise(m[1] as string),
        ),
      ),
    ].sort();
    expect(want.length).toBeGreaterThan(0);
    const cap = captureIo();
    const code = await run(
      [
        'images',
        'x',
        join(REALWORLD, chart),
        '--kube-version',
        '1.31.0',
        '--skip-tests',
        '-f',
        join(REALWORLD, values),
      ],
      cap.io,
    );
    expect(cap.err()).toBe('');
    expect(code).toBe(0);
    expect(cap.out().trimEnd().split('\n')).toEqual(want);
  });

  it('--json says where each image runs', async () => {
    const cap = captureIo();
    const code = await run(
      [
        '--json',
        'images',
        'web',
        join(REALWORLD, 'charts/nginx-22.1.1'),
        '--kube-version',
        '1.31.0',
        '--set',
        'tls.enabled=false',
      ],
      cap.io,
    );
    expect(code).toBe(0);
    const out = JSON.parse(cap.out()) as {
      images: { kind: string; container?: string; normalized: string }[];
    };
    expect(out.images.some((i) => i.kind === 'Deployment' && i.container === 'nginx')).toBe(true);
  });

  it('a render failure prints Helm\u2019s error and exits 2', async () => {
    const cap = captureIo();
    const code = await run(
      [
        'images',
        'x',
        join(REALWORLD, 'charts/external-dns-1.21.1'),
        '--kube-version',
        '1.31.0',
        '--set',
        'policy=delete-all',
      ],
      cap.io,
    );
    expect(code).toBe(2);
    expect(cap.err()).toMatch(/^Error: values don't meet the specifications of the schema/);
  });
});
