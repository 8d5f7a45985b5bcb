/**
 * Mirroring a chart with its images survives a kill: the real CLI process is killed
 * (SIGKILL) right after its first image is tagged, between two real docker-registry
 * instances; the target then has no chart tag (the chart is tagged after all its images),
 * and a re-run skips the image already there, copies the rest and finishes the chart.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushChart } from '../../src/chart/oci.js';
import { applyMirror } from '../../src/mirror/apply.js';
import { mirrorHostSettings, parseMirrorSpec } from '../../src/mirror/spec.js';
import { RegistryClient } from '../../src/oci/client.js';
import { makeChartArchive } from '../helpers/chart-repo.js';
import { imageIndex } from '../helpers/content.js';
import { type StartedRegistry, startDockerRegistry } from '../helpers/docker-registry.js';
import { requireTool } from '../helpers/services.js';

const missing = requireTool('docker-registry');

const TEMPLATE = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
{{- range $name, $img := .Values.images }}
        - name: {{ $name }}
          image: {{ $img.repository }}:{{ $img.tag }}
{{- end }}
`;

describe.skipIf(missing)('mirror with images: killed mid-run, resumed (docker-registry)', () => {
  let upstream: StartedRegistry;
  let internal: StartedRegistry;
  let client: RegistryClient;
  let work: string;
  let cli: string;
  let cliDir: string | undefined;
  const names = ['one', 'two', 'three'];

  beforeAll(async () => {
    [upstream, internal] = await Promise.all([startDockerRegistry('plain'), startDockerRegistry('plain')]);
    work = mkdtempSync(join(tmpdir(), 'cp-mirror-kill-'));
    client = new RegistryClient({ plainHttp: true });
    const values: string[] = ['images:'];
    for (const name of names) {
      // 6 MiB per platform layer: big enough that the kill lands while the run goes on.
      const img = imageIndex(`team/${name}`, { layerBytes: 6 * 1024 * 1024 });
      const repo = client.repository(`${upstream.host}/team/${name}`);
      for (const p of img.parts) await repo.push(p.desc, p.data);
      await repo.pushManifest(img.index.data, { tags: ['1.0'] });
      values.push(`  ${name}: {repository: ${upstream.host}/team/${name}, tag: "1.0"}`);
    }
    const archive = await makeChartArchive('web', '1.0.0', {
      'templates/deploy.yaml': TEMPLATE,
      'values.yaml': `${values.join('\n')}\n`,
    });
    await pushChart(
      client,
      archive,
      { name: 'web', version: '1.0.0', apiVersion: 'v2' },
      `oci://${upstream.host}/charts`,
    );
    // The CLI, bundled from source as it would run from dist/ (inside the repository, so
    // that its dependencies resolve from node_modules).
    const cache = join(process.cwd(), 'node_modules', '.cache');
    mkdirSync(cache, { recursive: true });
    cliDir = mkdtempSync(join(cache, 'cp-kill-cli-'));
    cli = join(cliDir, 'cli.mjs');
    await build({
      entryPoints: [join(process.cwd(), 'src/cli/bin.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: cli,
      packages: 'external',
      logLevel: 'error',
    });
  });

  afterAll(async () => {
    await client?.close();
    await Promise.all([upstream?.stop(), internal?.stop()]);
    if (work) rmSync(work, { recursive: true, force: true });
    if (cliDir) rmSync(cliDir, { recursive: true, force: true });
  });

  it('leaves no chart tag before its images; the re-run completes with the same digests', async () => {
    const specValue = {
      target: { registry: internal.host, prefix: 'mirror', plainHttp: true },
      images: { concurrency: 1, hosts: { [upstream.host]: { plainHttp: true } } },
      charts: [
        { name: 'web', source: `oci://${upstream.host}/charts/web`, versions: ['1.0.0'], plainHttp: true },
      ],
    };
    const specFile = join(work, 'spec.json');
    writeFileSync(specFile, JSON.stringify(specValue));
    const { killed, stderr } = await new Promise<{ killed: boolean; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [cli, 'mirror', 'apply', '--config', specFile], {
        cwd: process.cwd(),
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, HOME: work },
      });
      let err = '';
      let killed = false;
      child.stderr.on('data', (c: Buffer) => {
        err += c.toString();
        if (!killed && /: image \S+@sha256:/.test(err)) {
          killed = child.kill('SIGKILL');
        }
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.on('error', reject);
      child.on('close', () => {
        clearTimeout(timer);
        resolve({ killed, stderr: err });
      });
    });
    expect(killed, stderr).toBe(true);
    const chartRepo = client.repository(`${internal.host}/mirror/web`);
    const tagsAfterKill = await chartRepo.tags().catch(() => [] as string[]);
    expect(tagsAfterKill).not.toContain('1.0.0');

    const spec = parseMirrorSpec(specValue);
    const resumed = new RegistryClient({ hosts: mirrorHostSettings(spec) });
    try {
      const report = await applyMirror(spec, { client: resumed });
      const r = report.results[0]!;
      expect(r.status, r.reason).toBe('copied');
      const statuses = r.images!.map((i) => i.status);
      expect(statuses).toContain('skipped'); // the image tagged before the kill
      expect(statuses.filter((s) => s === 'copied' || s === 'skipped')).toHaveLength(names.length);
      for (const name of names) {
        const up = await client.repository(`${upstream.host}/team/${name}`).resolve('1.0');
        const mine = await client.repository(`${internal.host}/mirror/images/team/${name}`).resolve('1.0');
        expect(mine.digest).toBe(up.digest);
      }
      expect(await chartRepo.tags()).toContain('1.0.0');
    } finally {
      await resumed.close();
    }
  });
});
