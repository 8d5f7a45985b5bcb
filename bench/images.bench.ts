/**
 * Mirroring the images of a chart (issue 13): several multi-platform images with layers
 * of 10–100 MiB of random bytes (base layers shared between images), on a source
 * `docker-registry`, mirrored into a second one by chartproof (`applyMirror` with
 * `images: true`, in a fresh Node process on the built `dist/`) and by a
 * `skopeo copy --all --preserve-digests` loop, in the same run. Prints throughput (ours
 * vs skopeo, target at least 1.0×) and chartproof's peak RSS for layers of 10 MiB and of
 * up to 100 MiB (target: flat, within +32 MiB). Asserts only correctness: every image
 * at both destinations has the source's digests.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushChart } from '../src/chart/oci.js';
import { type MirrorSpec, parseMirrorSpec } from '../src/mirror/spec.js';
import { type Descriptor, digestOf, MediaType, RegistryClient, type Repository } from '../src/oci/index.js';
import { makeChartArchive } from '../test/helpers/chart-repo.js';
import { type StartedRegistry, startDockerRegistry } from '../test/helpers/docker-registry.js';
import { makeTempDir, removeDir, requireTool } from '../test/helpers/services.js';
import { skopeoCopy } from '../test/helpers/skopeo.js';
import { FloorCopier, reportFloor } from './floor.js';

const execFileP = promisify(execFile);
const missing = requireTool('docker-registry') ?? requireTool('skopeo');
const MIB = 1024 * 1024;
const PLATFORMS = ['linux/amd64', 'linux/arm64'] as const;
/** Images copied at once by chartproof (the mirror's `images.concurrency` default). */
const IMAGE_CONCURRENCY = 2;
/** Peak RSS with the large layers may exceed the small layers' by this much and still be "flat". */
const FLAT_TOLERANCE = 32 * MIB;

/**
 * A set of images: one per entry of `apps`, each an OCI index of two platform
 * manifests whose layers are a base layer of `base` bytes (one per platform, shared by
 * every image of the set, as base images are) and an application layer of its own.
 */
interface SetShape {
  name: string;
  base: number;
  apps: number[];
}

/** The throughput set: layers of 10–100 MiB, 470 MiB of distinct blobs, 4 images. */
const LARGE: SetShape = { name: 'large', base: 50 * MIB, apps: [10, 25, 50, 100].map((n) => n * MIB) };
/** The same shape with every layer 10 MiB (100 MiB of blobs), for the memory comparison. */
const SMALL: SetShape = { name: 'small', base: 10 * MIB, apps: [10, 10, 10, 10].map((n) => n * MIB) };

interface SyntheticImage {
  /** Repository path at the source, e.g. `bench/large-app-0`. */
  path: string;
  tag: string;
  index: Descriptor;
}

interface ImageSet {
  shape: SetShape;
  images: SyntheticImage[];
  /** Bytes of the distinct blobs and manifests a full copy of the set writes. */
  bytes: number;
  largestLayer: number;
  /** The chart whose templates deploy the set's images. */
  chart: { name: string; version: string; source: string };
}

/** One measured run of chartproof in its own process. */
/** CPU (ms) of the source and the destination registry during one run. */
interface RegistryCpu {
  src: number;
  dst: number;
}

interface OursRun {
  /** Wall time seen from here, Node start and module loading included (as skopeo's). */
  wallMs: number;
  /** CPU of the whole process (all threads, start to exit), measured as skopeo's. */
  processCpuMs: number;
  /** Time of the mirroring itself, inside the process. */
  ms: number;
  cpuMs: number;
  baseline: number;
  peak: number;
  requests: Record<string, number>;
  retries: number;
  /** CPU by thread at exit (ms): `main`, `v8` (V8's helper threads: JIT compiles, GC) and `other` (threads already gone, e.g. the hashing thread; the rest). */
  threads?: { main: number; v8: number; other: number };
  summary?: {
    copied: number;
    skipped: number;
    refused: number;
    failed: number;
    images?: Record<string, number>;
  };
  imageStatuses?: string[];
}

/**
 * chartproof's side, run in a fresh Node process on the built library (`dist/`, what the
 * CLI loads) so its peak RSS is the mirroring process's alone. Mode `apply`:
 * `applyMirror` with a spec whose chart deploys the images and `images: true` (render,
 * plan, copy with a shared mount cache, overlay). Mode `copy`: the images alone, each
 * through `copy()` with referrers, cosign tags and a shared `BlobMountCache`,
 * `IMAGE_CONCURRENCY` at a time (what the mirror does per chart version, without the
 * chart). Prints JSON.
 */
const CHILD = `
const [dist, mode, argJson] = process.argv.slice(1);
const arg = JSON.parse(argJson);
const trace = arg.trace ? (line) => process.stderr.write(performance.now().toFixed(0).padStart(6) + ' ms ' + line + '\\n') : undefined;
trace?.('started');
const { applyMirror, mirrorHostSettings, parseMirrorSpec } = await import(new URL('mirror.js', dist).href);
const { BlobMountCache, copy, RegistryClient } = await import(new URL('oci.js', dist).href);
trace?.('loaded');
const requests = {};
let retries = 0;
const onEvent = (e) => {
  if (e.type === 'request') requests[e.method] = (requests[e.method] ?? 0) + 1;
  if (e.type === 'retry') retries++;
  if (e.type === 'request' || e.type === 'response') trace?.(e.type + ' ' + e.method + ' ' + e.url + (e.status ? ' ' + e.status : ''));
};
const spec = mode === 'apply' ? parseMirrorSpec(arg.spec) : undefined;
const client = new RegistryClient(spec ? { hosts: mirrorHostSettings(spec), onEvent } : { plainHttp: true, onEvent });
globalThis.gc?.();
const baseline = process.memoryUsage.rss();
let lastGc = performance.now();
// Peak RSS is the kernel's high-water mark (maxRSS below), not sampled: sampling every
// few ms costs the measured process over 100 ms of CPU per run.
const timer = arg.gcEveryMs
  ? setInterval(() => {
      if (performance.now() - lastGc >= arg.gcEveryMs) {
        globalThis.gc();
        lastGc = performance.now();
      }
    }, 5)
  : undefined;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let out = {};
if (spec) {
  const report = await applyMirror(spec, {
    client,
    onEvent: trace && ((e) => trace('mirror ' + e.step + ' ' + e.name + '@' + e.version + ' ' + (e.detail ?? ''))),
  });
  out = {
    summary: report.summary,
    imageStatuses: report.results.flatMap((r) => (r.images ?? []).map((i) => i.status + (i.reason ? ': ' + i.reason : ''))),
    reasons: report.results.map((r) => r.reason).filter(Boolean),
  };
} else {
  const mountCache = new BlobMountCache();
  const queue = [...arg.images];
  await Promise.all(
    Array.from({ length: arg.concurrency }, async () => {
      for (let img = queue.shift(); img; img = queue.shift()) {
        const src = client.repository(arg.src + '/' + img.path);
        const dst = client.repository(arg.dst + '/' + img.path);
        await copy(src, img.tag, dst, img.tag, { referrers: true, cosignTags: true, mountCache });
      }
    }),
  );
}
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
if (timer) clearInterval(timer);
await client.close();
const maxRss = process.resourceUsage().maxRSS * 1024;
// CPU by thread (Linux /proc, ticks of 10 ms): utime + stime are fields 14 and 15.
let threads;
try {
  const { readdirSync, readFileSync } = await import('node:fs');
  const ticks = (stat) => {
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  };
  const total = ticks(readFileSync('/proc/self/stat', 'utf8'));
  threads = { main: 0, v8: 0, other: 0 };
  for (const t of readdirSync('/proc/self/task')) {
    const stat = readFileSync('/proc/self/task/' + t + '/stat', 'utf8');
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    if (Number(t) === process.pid) threads.main += ticks(stat);
    else if (name === 'V8Worker') threads.v8 += ticks(stat);
  }
  threads.other = Math.max(0, total - threads.main - threads.v8);
} catch {}
process.stdout.write(
  JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, baseline, peak: maxRss, requests, retries, threads, ...out }),
);
`;

type OursMode = (
  | { kind: 'apply'; spec: MirrorSpec }
  | { kind: 'copy'; src: string; dst: string; images: Array<{ path: string; tag: string }> }
) & {
  /** Force a full GC this often in the child (live memory rather than RSS as run). */
  gcEveryMs?: number | undefined;
};

/**
 * Mirrors the images of a chart with chartproof in a fresh Node process (see CHILD):
 * `applyMirror` (the product; the headline) or the `copy()` loop it is built on (for
 * reference).
 */
async function mirrorImagesOurs(mode: OursMode): Promise<OursRun> {
  const dist = `${pathToFileURL(join(process.cwd(), 'dist')).href}/`;
  const arg = {
    gcEveryMs: mode.gcEveryMs ?? 0,
    // CHARTPROOF_BENCH_TRACE=1: the child prints a timeline (loading, mirror steps, requests) to stderr.
    trace: process.env.CHARTPROOF_BENCH_TRACE === '1',
    ...(mode.kind === 'apply'
      ? { spec: mode.spec }
      : { src: mode.src, dst: mode.dst, images: mode.images, concurrency: IMAGE_CONCURRENCY }),
  };
  const t = performance.now();
  const cpuBefore = childrenCpuMs();
  const { stdout, stderr } = await execFileP(
    process.execPath,
    [
      // Only the live-memory runs force collections: the timed runs start Node as a
      // program would (V8's helper threads used ~0.8 s of CPU per run here with
      // --expose-gc, ~0.6 s without).
      ...(arg.gcEveryMs > 0 ? ['--expose-gc'] : []),
      // e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile chartproof's side.
      ...(process.env.CHARTPROOF_BENCH_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? []),
      '--input-type=module',
      '-e',
      CHILD,
      dist,
      mode.kind,
      JSON.stringify(arg),
    ],
    { encoding: 'utf8', timeout: 300_000, maxBuffer: 16 * MIB },
  );
  const wallMs = performance.now() - t;
  const processCpuMs = childrenCpuMs() - cpuBefore;
  if (arg.trace) console.log(`chartproof (${mode.kind}) timeline, wall ${wallMs.toFixed(0)} ms:\n${stderr}`);
  return { wallMs, processCpuMs, ...(JSON.parse(stdout) as Omit<OursRun, 'wallMs' | 'processCpuMs'>) };
}

/** The median of a non-empty list (the mean of the middle two for an even count). */
function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * User + system CPU of this process's children that have exited and been waited for
 * (`cutime` + `cstime` of /proc/self/stat, in ticks of 10 ms): the same measure for a
 * chartproof child and a skopeo one. The registries, still running, are not in it.
 */
function childrenCpuMs(): number {
  const fields = statFields(readFileSync('/proc/self/stat', 'utf8'));
  // Fields 16 and 17 of proc(5); the slice starts at field 3.
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

/** The fields of a /proc/…/stat line after the command name (field 3 onward). */
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * User + system CPU (fields 14 and 15) of a running process (ms; Linux /proc): here a
 * registry's, to see what a tool's run costs it. On a small machine the registries
 * share the cores with the client, so a client's throughput depends on this too.
 */
function processCpuMs(pid: number): number {
  const fields = statFields(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Why the separate-process run cannot happen (dist/ missing or older than image mirroring), else undefined. */
function distProblem(): string | undefined {
  const file = join(process.cwd(), 'dist', 'mirror.js');
  if (!existsSync(file)) return 'dist/mirror.js is missing (run `npm run bench`, which builds first)';
  if (!readFileSync(file, 'utf8').includes('copyImages'))
    return 'dist/mirror.js predates image mirroring (run `npm run bench`, which builds first)';
  return undefined;
}

/** A chart whose Deployment runs one container per image of the set (`{ repository, tag }` values). */
function chartFiles(host: string, images: SyntheticImage[]): Record<string, string> {
  const key = (i: number) => `app${i}`;
  const values = images
    .map((img, i) => `${key(i)}:\n  image:\n    repository: ${host}/${img.path}\n    tag: "${img.tag}"\n`)
    .join('');
  const containers = images
    .map((_, i) =>
      [
        `        - name: ${key(i)}`,
        `          image: "{{ .Values.${key(i)}.image.repository }}:{{ .Values.${key(i)}.image.tag }}"`,
        '          resources: { limits: { cpu: 100m, memory: 64Mi } }',
        '          securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false }',
      ].join('\n'),
    )
    .join('\n');
  return {
    'values.yaml': values,
    'templates/deployment.yaml': [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      '  name: {{ .Release.Name }}',
      'spec:',
      '  selector:',
      '    matchLabels: { app: images-bench }',
      '  template:',
      '    metadata: { labels: { app: images-bench } }',
      '    spec:',
      '      containers:',
      containers,
      '',
    ].join('\n'),
  };
}

/** Pushes one random blob (generated here, dropped after the push) and returns its descriptor. */
async function pushRandom(repo: Repository, size: number): Promise<Descriptor> {
  const data = randomBytes(size);
  const desc: Descriptor = { mediaType: MediaType.OciLayer, digest: digestOf(data), size };
  await repo.push(desc, data);
  return desc;
}

/** Creates the images of `shape` on the source registry, and a chart deploying them. */
async function pushImageSet(client: RegistryClient, host: string, shape: SetShape): Promise<ImageSet> {
  const images: SyntheticImage[] = [];
  const seen = new Map<string, number>();
  const count = (d: Descriptor) => seen.set(d.digest, d.size);
  const bases: Descriptor[] = [];
  for (let i = 0; i < shape.apps.length; i++) {
    const path = `bench/${shape.name}-app-${i}`;
    const repo = client.repository(`${host}/${path}`);
    const manifests: Descriptor[] = [];
    for (const [p, platform] of PLATFORMS.entries()) {
      const [os, architecture] = platform.split('/') as [string, string];
      // The base layer: uploaded once, mounted into the other images' repositories.
      if (i === 0) bases[p] = await pushRandom(repo, shape.base);
      else expect(await repo.mount(bases[p]!, `bench/${shape.name}-app-0`)).toBe(true);
      const base = bases[p]!;
      const app = await pushRandom(repo, shape.apps[i]!);
      const configBytes = new TextEncoder().encode(
        JSON.stringify({
          architecture,
          os,
          rootfs: { type: 'layers', diff_ids: [] },
          config: { Labels: { path } },
        }),
      );
      const config: Descriptor = {
        mediaType: MediaType.OciConfig,
        digest: digestOf(configBytes),
        size: configBytes.byteLength,
      };
      await repo.push(config, configBytes);
      const m = await repo.pushManifest(
        new TextEncoder().encode(
          JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers: [base, app] }),
        ),
      );
      for (const d of [base, app, config, m]) count(d);
      manifests.push({
        mediaType: m.mediaType,
        digest: m.digest,
        size: m.size,
        platform: { os, architecture },
      });
    }
    const index = await repo.pushManifest(
      new TextEncoder().encode(
        JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests }),
      ),
      { tags: ['1.0'] },
    );
    count(index);
    images.push({ path, tag: '1.0', index });
  }
  const chartName = `images-${shape.name}`;
  const archive = await makeChartArchive(chartName, '1.0.0', chartFiles(host, images));
  await pushChart(
    client,
    archive,
    { apiVersion: 'v2', name: chartName, version: '1.0.0' },
    `oci://${host}/charts`,
  );
  return {
    shape,
    images,
    bytes: [...seen.values()].reduce((a, b) => a + b, 0),
    largestLayer: Math.max(shape.base, ...shape.apps),
    chart: { name: chartName, version: '1.0.0', source: `oci://${host}/charts/${chartName}` },
  };
}

/** Checks that every image of `set` under `dstHost/prefix` is the source's: index, manifests and blobs. */
async function expectMirrored(client: RegistryClient, dstHost: string, prefix: string, set: ImageSet) {
  for (const img of set.images) {
    const dst = client.repository(`${dstHost}/${prefix}/${img.path}`);
    const { descriptor, bytes } = await dst.fetchManifest(img.tag);
    expect(descriptor.digest, `${prefix}/${img.path}:${img.tag}`).toBe(img.index.digest);
    const index = JSON.parse(new TextDecoder().decode(bytes)) as { manifests: Descriptor[] };
    expect(index.manifests).toHaveLength(PLATFORMS.length);
    for (const m of index.manifests) {
      const man = JSON.parse(new TextDecoder().decode((await dst.fetchManifest(m.digest)).bytes)) as {
        config: Descriptor;
        layers: Descriptor[];
      };
      for (const d of [man.config, ...man.layers])
        expect(await dst.exists(d), `${prefix}/${img.path} ${d.digest}`).toBe(true);
    }
  }
}

function mib(n: number): string {
  return (n / MIB).toFixed(1);
}

describe.skipIf(missing !== undefined)(
  'image mirroring benchmark (docker-registry instances on loopback)',
  () => {
    let source: StartedRegistry;
    let target: StartedRegistry;
    /** A destination per round, so that no skopeo run can mount what an earlier one wrote. */
    let target2: StartedRegistry;
    let target3: StartedRegistry;
    let client: RegistryClient;
    let large: ImageSet;
    let small: ImageSet;
    /** CPU the source and destination registries spent during each timed run of the large set (ms), by tool. */
    const registryCpu = { ours: [] as RegistryCpu[], skopeo: [] as RegistryCpu[], cli: [] as RegistryCpu[] };
    /** Starts measuring the source's and `dst`'s CPU; the returned function reads what they used since. */
    const registriesCpu = (dst: StartedRegistry): (() => RegistryCpu) => {
      const src0 = processCpuMs(source.pid);
      const dst0 = processCpuMs(dst.pid);
      return () => ({ src: processCpuMs(source.pid) - src0, dst: processCpuMs(dst.pid) - dst0 });
    };

    beforeAll(async () => {
      [source, target, target2, target3] = await Promise.all([
        startDockerRegistry('plain'),
        startDockerRegistry('plain'),
        startDockerRegistry('plain'),
        startDockerRegistry('plain'),
      ]);
      client = new RegistryClient({ plainHttp: true });
      large = await pushImageSet(client, source.host, LARGE);
      small = await pushImageSet(client, source.host, SMALL);
    }, 180_000);

    afterAll(async () => {
      await client?.close();
      await Promise.all([source?.stop(), target?.stop(), target2?.stop(), target3?.stop()]);
    });

    function spec(set: ImageSet, registry: string, prefix: string): MirrorSpec {
      return parseMirrorSpec(specInput(set, registry, prefix));
    }

    function specInput(set: ImageSet, registry: string, prefix: string): Record<string, unknown> {
      return {
        target: { registry, prefix, plainHttp: true },
        charts: [
          {
            name: set.chart.name,
            source: set.chart.source,
            plainHttp: true,
            versions: [set.chart.version],
            images: true,
          },
        ],
      };
    }

    /**
     * The same mirror run through the program (`chartproof mirror apply --config`), as a
     * person runs it: the CLI's start and module loading included.
     */
    async function cliRun(set: ImageSet, dst: StartedRegistry, prefix: string) {
      const dir = await makeTempDir('chartproof-images-bench-');
      try {
        const config = join(dir, 'mirror.json');
        writeFileSync(config, JSON.stringify(specInput(set, dst.host, prefix)));
        const t = performance.now();
        const cpuBefore = childrenCpuMs();
        const registries = registriesCpu(dst);
        await execFileP(
          process.execPath,
          [
            ...(process.env.CHARTPROOF_BENCH_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? []),
            join(process.cwd(), 'dist', 'cli.js'),
            'mirror',
            'apply',
            '--config',
            config,
            '--no-progress',
          ],
          { encoding: 'utf8', timeout: 300_000, maxBuffer: 16 * MIB },
        );
        const wallMs = performance.now() - t;
        const cpuMs = childrenCpuMs() - cpuBefore;
        registryCpu.cli.push(registries());
        await expectMirrored(client, dst.host, `${prefix}/images`, set);
        return { wallMs, cpuMs };
      } finally {
        removeDir(dir);
      }
    }

    it('mirrors a chart’s images (layers of 10–100 MiB) at least as fast as skopeo copy --all, memory flat in layer size', async (ctx) => {
      const problem = distProblem();
      if (problem !== undefined) {
        console.log(`image mirroring benchmark skipped: ${problem}`);
        ctx.skip();
        return;
      }
      const skopeoCpu: number[] = [];

      const skopeoRun = async (dst: StartedRegistry, prefix: string) => {
        const t = performance.now();
        const cpuBefore = childrenCpuMs();
        const registries = registriesCpu(dst);
        for (const img of large.images) {
          await skopeoCopy(
            `docker://${source.host}/${img.path}:${img.tag}`,
            `docker://${dst.host}/${prefix}/${img.path}:${img.tag}`,
            {
              src: { tlsVerify: false },
              dest: { tlsVerify: false },
              extra: ['--all', '--preserve-digests'],
              timeoutMs: 180_000,
            },
          );
        }
        const ms = performance.now() - t;
        skopeoCpu.push(childrenCpuMs() - cpuBefore);
        registryCpu.skopeo.push(registries());
        await expectMirrored(client, dst.host, prefix, large);
        return ms;
      };
      const oursRun = async (set: ImageSet, dst: StartedRegistry, prefix: string, gcEveryMs?: number) => {
        const registries = registriesCpu(dst);
        const run = await mirrorImagesOurs({ kind: 'apply', spec: spec(set, dst.host, prefix), gcEveryMs });
        if (set === large && gcEveryMs === undefined) registryCpu.ours.push(registries());
        expect(run.summary, JSON.stringify(run)).toMatchObject({
          copied: 1,
          failed: 0,
          images: { copied: set.images.length, failed: 0 },
        });
        // applyMirror puts the images under `<prefix>/images/<source path>`.
        await expectMirrored(client, dst.host, `${prefix}/images`, set);
        return run;
      };

      // Warm-up, untimed: the small set through chartproof into each destination (the
      // first also gives its memory figure). A registry's first writes into a fresh
      // storage tree are slower (the Go process grows its heap, the tree its
      // directories), which would otherwise fall on whichever tool writes there first.
      const small1 = await oursRun(small, target, 'ours-small');
      await oursRun(small, target2, 'warm-small');
      await oursRun(small, target3, 'warm-small');

      // Three rounds, each with its own destination registry and fresh repositories:
      // `applyMirror`, the skopeo loop and the CLI, in an order that rotates (library,
      // skopeo, CLI | skopeo, CLI, library | CLI, library, skopeo), so that each of them
      // writes first, second and third into a registry once. The same code measured
      // first in a round or after two others differs by up to ~20 % here (the CLI at
      // 0.81x when its three runs came right after the warm-up, 1.07-1.09x when they came
      // after the rounds); a fixed order would hand that to one tool. The figure is the
      // median of each tool's three runs. A registry per round: skopeo (as root)
      // remembers where it wrote each blob (/var/lib/containers/cache) and would mount
      // an earlier run's blobs from the same registry instead of copying them.
      const oursRuns: OursRun[] = [];
      const skopeoRuns: number[] = [];
      const cliRuns: Array<{ wallMs: number; cpuMs: number }> = [];
      for (const [round, dst] of [target, target2, target3].entries()) {
        const turns = [
          async () => {
            oursRuns.push(await oursRun(large, dst, `ours-${round}`));
          },
          async () => {
            skopeoRuns.push(await skopeoRun(dst, `skopeo-${round}`));
          },
          async () => {
            cliRuns.push(await cliRun(large, dst, `cli-${round}`));
          },
        ];
        for (let i = 0; i < turns.length; i++) await turns[(i + round) % turns.length]!();
      }

      // The floor (bench/floor.ts on undici's request API, chartproof's default HTTP
      // stack: streamed, no verification, shared blobs mounted), as many images at once
      // as chartproof.
      const floor = new FloorCopier(16, 'request', { mountShared: true });
      const tFloor = performance.now();
      await floor
        .copyAll(
          large.images.map((img) => ({
            src: { host: source.host, repository: img.path, tag: img.tag },
            dst: { host: target2.host, repository: `floor/${img.path}`, tag: img.tag },
          })),
          IMAGE_CONCURRENCY,
        )
        .finally(() => floor.close());
      const floorMs = performance.now() - tFloor;
      await expectMirrored(client, target2.host, 'floor', large);

      // For reference: the images alone through `copy()` (no chart, render or overlay).
      const copyOnly = await mirrorImagesOurs({
        kind: 'copy',
        src: source.host,
        dst: `${target.host}/copy`,
        images: large.images.map(({ path, tag }) => ({ path, tag })),
      });
      await expectMirrored(client, target.host, 'copy', large);

      // Live memory: both sets again with a full GC every 25 ms in the child, so that the
      // peak shows what the copy holds rather than when V8 collects what it let go of.
      const smallGc = await oursRun(small, target2, 'ours-small-gc', 25);
      const largeGc = await oursRun(large, target, 'ours-large-gc', 25);

      const ours = median(oursRuns.map((r) => r.wallMs));
      const peer = median(skopeoRuns);
      const list = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' / ');
      const rate = (ms: number) => large.bytes / MIB / (ms / 1000);
      const ratio = rate(ours) / rate(peer);
      console.log(
        `${`mirror ${large.images.length} images, ${mib(large.bytes)} MiB (ratio ${ratio.toFixed(2)}x skopeo)`.padEnd(52)} chartproof ${rate(ours).toFixed(0).padStart(4)} MiB/s ${ours.toFixed(0).padStart(6)} ms | skopeo ${rate(peer).toFixed(0).padStart(4)} MiB/s ${peer.toFixed(0).padStart(6)} ms | target >= 1.0x ${ratio >= 1 ? 'MET' : 'MISSED'}`,
      );
      console.log(
        `${'  runs, medians above (chartproof; skopeo)'.padEnd(52)} ${list(oursRuns.map((r) => r.wallMs))} ms; ${list(skopeoRuns)} ms`,
      );
      console.log(
        `${'  chartproof inside its process (no Node start)'.padEnd(52)} ${median(oursRuns.map((r) => r.ms)).toFixed(0)} ms, Node CPU ${median(oursRuns.map((r) => r.cpuMs)).toFixed(0)} ms, ${oursRuns.reduce((n, r) => n + r.retries, 0)} retries, requests ${JSON.stringify(oursRuns[0]!.requests)}`,
      );
      console.log(
        `${'  CPU of the whole process, user + system'.padEnd(52)} chartproof ${median(oursRuns.map((r) => r.processCpuMs)).toFixed(0)} ms | skopeo ${median(skopeoCpu).toFixed(0)} ms (medians of ${skopeoCpu.length} runs)`,
      );
      const threads = oursRuns.flatMap((r) => (r.threads ? [r.threads] : []));
      if (threads.length > 0)
        console.log(
          `${'  chartproof CPU by thread (medians)'.padEnd(52)} main ${median(threads.map((t) => t.main)).toFixed(0)} ms | V8 helpers (JIT, GC) ${median(threads.map((t) => t.v8)).toFixed(0)} ms | other (hashing) ${median(threads.map((t) => t.other)).toFixed(0)} ms`,
        );
      console.log(
        `${"  registries' CPU, source + destination (medians)".padEnd(52)} ${(['ours', 'skopeo', 'cli'] as const).map((tool) => `${tool === 'ours' ? 'chartproof' : tool === 'cli' ? 'CLI' : tool} ${median(registryCpu[tool].map((r) => r.src)).toFixed(0)} + ${median(registryCpu[tool].map((r) => r.dst)).toFixed(0)} ms`).join(' | ')}`,
      );
      reportFloor(
        `  ${large.images.length} images, inside the process`,
        median(oursRuns.map((r) => r.ms)),
        floorMs,
        1.5,
      );
      console.log(
        `${'  floor throughput'.padEnd(52)} ${rate(floorMs).toFixed(0)} MiB/s, requests ${JSON.stringify(floor.requests)}, ${floor.retries} retries`,
      );
      const cli = median(cliRuns.map((r) => r.wallMs));
      console.log(
        `${`  through the CLI (chartproof mirror apply; ${(rate(cli) / rate(peer)).toFixed(2)}x)`.padEnd(52)} ${rate(cli).toFixed(0).padStart(4)} MiB/s ${cli.toFixed(0).padStart(6)} ms (${list(cliRuns.map((r) => r.wallMs))}), CPU ${median(cliRuns.map((r) => r.cpuMs)).toFixed(0)} ms`,
      );
      console.log(
        `${'  images through copy() alone (reference)'.padEnd(52)} ${rate(copyOnly.wallMs).toFixed(0)} MiB/s ${copyOnly.wallMs.toFixed(0)} ms (${copyOnly.ms.toFixed(0)} ms inside), Node CPU ${copyOnly.cpuMs.toFixed(0)} ms, ${copyOnly.retries} retries`,
      );

      // Memory: the large set's peak against the small set's (same images, same layer
      // count, layers up to 10× larger).
      const memoryLine = (label: string, s: OursRun, l: OursRun) => {
        const flat = l.peak <= s.peak + FLAT_TOLERANCE;
        console.log(
          `${label.padEnd(52)} ${mib(s.peak)} MiB (+${mib(s.peak - s.baseline)}) | ${mib(l.peak)} MiB (+${mib(l.peak - l.baseline)}) | target <= +${mib(FLAT_TOLERANCE)} MiB ${flat ? 'MET' : 'MISSED'}`,
        );
      };
      const largeAsRun = oursRuns.reduce((a, b) => (b.peak > a.peak ? b : a));
      memoryLine(
        `peak RSS, layers of ${mib(small.largestLayer)} | up to ${mib(large.largestLayer)} MiB`,
        small1,
        largeAsRun,
      );
      memoryLine('  same, with a GC every 25 ms (live memory)', smallGc, largeGc);
      console.log(
        `${'  images through copy() alone (reference)'.padEnd(52)} ${mib(copyOnly.peak)} MiB (+${mib(copyOnly.peak - copyOnly.baseline)})`,
      );
    });
  },
);
