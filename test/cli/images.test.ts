import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { IMAGES_COMMAND } from '../../src/cli/images-command.js';
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
    // The help text names every key the entries carry.
    const keys = [...new Set(out.images.flatMap((i) => Object.keys(i)))];
    expect(keys).toContain('image');
    expect(keys.filter((k) => !new RegExp(`\\b${k}\\b`).test(IMAGES_COMMAND.help ?? ''))).toEqual([]);
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

describeVectors(ok)('chartproof images --prefix (values overlay)', () => {
  it('nginx with its features values: source -> target lines, overlay file, every image inside', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cp-images-overlay-'));
    try {
      const file = join(dir, 'values-internal.yaml');
      const cap = captureIo();
      const args = [
        'images',
        'web',
        join(REALWORLD, 'charts/nginx-22.1.1'),
        '-f',
        join(REALWORLD, 'values/nginx/features.yaml'),
      ];
      const code = await run([...args, '--prefix', 'registry.internal/mirror', '--overlay', file], cap.io);
      expect(cap.err()).toBe('');
      expect(code).toBe(0);
      const lines = cap.out().trim().split('\n');
      expect(lines.length).toBeGreaterThan(1);
      for (const l of lines) expect(l).toMatch(/^\S+ -> registry\.internal\/mirror\/\S+$/);
      // Rendering with the overlay (after the same -f file) lists only internal images.
      const after = captureIo();
      expect(await run([...args, '-f', file], after.io)).toBe(0);
      const images = after.out().trim().split('\n');
      expect(images.length).toBeGreaterThan(0);
      expect(images.filter((i) => !i.startsWith('registry.internal/mirror/'))).toEqual([]);
      expect(images.sort()).toEqual(lines.map((l) => l.split(' -> ')[1]).sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a chart whose test hooks hard-code images: exit 1, IMAGE_OVERLAY_INCOMPLETE in --json', async () => {
    const cap = captureIo();
    const code = await run(
      ['images', join(REALWORLD, 'charts/podinfo-6.14.1'), '--prefix', 'registry.internal/mirror', '--json'],
      cap.io,
    );
    expect(code).toBe(1);
    const err = JSON.parse(cap.err()) as { error: { code: string; message: string } };
    expect(err.error.code).toBe('IMAGE_OVERLAY_INCOMPLETE');
    expect(err.error.message).toContain('docker.io/curlimages/curl:7.69.0');
  });

  it('--overlay without --prefix is a usage error', async () => {
    const cap = captureIo();
    expect(
      await run(['images', join(REALWORLD, 'charts/podinfo-6.14.1'), '--overlay', '/tmp/x.yaml'], cap.io),
    ).toBe(2);
  });
});
