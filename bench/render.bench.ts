/**
 * Rendering benchmark: real-world charts from the shared render corpus rendered
 * in-process (`loadChartDirectory` + `renderChart`, warm, median of N), through the CLI
 * (`node dist/cli.js template`, its own process: wall time and peak RSS) and by the
 * real Helm v4.1.4 (`helm template`) with the same chart, values and flags. Prints the
 * ratios; no timed assertions (the targets: CLI within 1.5x of Helm on big
 * charts, in-process faster than Helm, CLI peak RSS under 200 MiB).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadChartDirectory } from '../src/chart/package.js';
import { renderChart } from '../src/render/render.js';
import { helmAvailable, helmBinary, helmHome } from '../test/helpers/helm.js';

const execFileP = promisify(execFile);
const CORPUS = join(process.cwd(), '..', 'shared', 'vectors', 'helm-render');
const RW = join(CORPUS, 'helm-v4.1.4-realworld');
const CLI = join(process.cwd(), 'dist', 'cli.js');
const ROUNDS = Number(process.env.CP_BENCH_ROUNDS ?? 7);

interface BenchChart {
  name: string;
  chart: string;
  values: string[];
  kubeVersion: string;
  apiVersions?: string[];
  namespace?: string;
  /** Extra flags for both (podinfo's test hooks have random names: --skip-tests). */
  flags?: string[];
}

const KONG_APIS = [
  'cert-manager.io/v1',
  'gateway.networking.k8s.io/v1',
  'gateway.networking.k8s.io/v1beta1',
  'gateway.networking.k8s.io/v1alpha2',
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy',
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding',
];

const CHARTS: BenchChart[] = [
  {
    name: 'podinfo',
    chart: join(RW, 'charts/podinfo-6.14.1'),
    values: [join(RW, 'values/podinfo/features.yaml')],
    kubeVersion: '1.31.0',
    flags: ['--skip-tests'],
  },
  {
    name: 'metrics-server',
    chart: join(RW, 'charts/metrics-server-3.13.1'),
    values: [join(RW, 'values/metrics-server/features.yaml')],
    kubeVersion: '1.31.0',
  },
  {
    name: 'external-dns',
    chart: join(RW, 'charts/external-dns-1.21.1'),
    values: [join(RW, 'charts/external-dns-1.21.1/ci/ci-values.yaml')],
    kubeVersion: '1.31.0',
  },
  {
    name: 'nginx+common',
    chart: join(RW, 'charts/nginx-22.1.1'),
    values: [join(RW, 'values/nginx/features.yaml')],
    kubeVersion: '1.31.0',
  },
  {
    name: 'blackbox',
    chart: join(RW, 'charts/prometheus-blackbox-exporter-11.17.2'),
    values: [join(RW, 'values/blackbox/features.yaml')],
    kubeVersion: '1.31.0',
    apiVersions: ['autoscaling.k8s.io/v1'],
  },
  {
    name: 'ingress-nginx',
    chart: join(CORPUS, 'ingress-nginx-4.15.1/charts/ingress-nginx'),
    values: [],
    kubeVersion: '1.31.0',
  },
  {
    name: 'kong+postgresql',
    chart: join(CORPUS, 'kong-2.52.0/charts/kong'),
    values: [join(CORPUS, 'kong-2.52.0/charts/kong/ci/certificate-values.yaml')],
    kubeVersion: '1.31.0',
    apiVersions: KONG_APIS,
  },
  {
    name: 'otel-collector',
    chart: join(CORPUS, 'otel-helm-charts/charts/opentelemetry-collector'),
    values: [
      join(
        CORPUS,
        'otel-helm-charts/charts/opentelemetry-collector/examples/daemonset-and-deployment/daemonset-values.yaml',
      ),
    ],
    kubeVersion: '1.29.0',
  },
];

function args(c: BenchChart): string[] {
  return [
    'template',
    'bench',
    c.chart,
    '--namespace',
    c.namespace ?? 'default',
    '--kube-version',
    c.kubeVersion,
    ...c.values.flatMap((v) => ['--values', v]),
    ...(c.apiVersions ?? []).flatMap((a) => ['--api-versions', a]),
    ...(c.flags ?? []),
  ];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/**
 * Runs a command under /usr/bin/time: wall ms, CPU ms (user + system: less sensitive to
 * other load on a shared machine), peak RSS (KiB) and stdout.
 */
async function timed(cmd: string, argv: string[], env: NodeJS.ProcessEnv) {
  const t = performance.now();
  const r = await execFileP('/usr/bin/time', ['-f', '%U %S %M', cmd, ...argv], { env, maxBuffer: 256 << 20 });
  const ms = performance.now() - t;
  const [user, sys, rss] = (r.stderr.trim().split('\n').pop() ?? '').split(' ').map(Number);
  return { ms, cpuMs: ((user ?? 0) + (sys ?? 0)) * 1000, rssKiB: rss ?? 0, stdout: r.stdout };
}

/** Equal output, generated certificates and keys aside (kong's admission webhook uses genCA). */
function sameOutput(a: string, b: string): boolean {
  const mask = (s: string) =>
    s.replace(/^(\s*(?:tls\.crt|tls\.key|ca\.crt|caBundle)): \S+$/gm, '$1: <generated>');
  return mask(a) === mask(b);
}

const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const ok =
  existsSync(RW) && existsSync('/usr/bin/time') && existsSync(CLI) && helmAvailable('render benchmark');
if (!existsSync(CLI)) console.warn(`render benchmark skipped: ${CLI} missing (run tsup)`);
if (!existsSync(RW)) console.warn(`render benchmark skipped: ${RW} not found`);
if (!existsSync('/usr/bin/time'))
  console.warn('render benchmark skipped: /usr/bin/time not found (GNU time)');

describe.skipIf(!ok)('render benchmark (chartproof vs helm template v4.1.4)', () => {
  it('renders the real-world charts', async () => {
    const helm = helmBinary().path as string;
    const home = helmHome();
    const helmEnv = {
      PATH: process.env.PATH,
      HOME: home,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
    };
    const nodeEnv = { ...process.env, HOME: home };
    const rows: string[] = [];
    for (const c of CHARTS) {
      if (!existsSync(c.chart)) {
        console.warn(`render benchmark: ${c.name} skipped (${c.chart} not found)`);
        continue;
      }
      const opts = {
        releaseName: 'bench',
        namespace: c.namespace ?? 'default',
        kubeVersion: c.kubeVersion,
        ...(c.apiVersions ? { apiVersions: c.apiVersions } : {}),
        values: { valueFiles: c.values.map((v) => ({ name: v, text: readFileSync(v, 'utf8') })) },
      };
      const inProc: number[] = [];
      const inProcCpu: number[] = [];
      const renderOnly: number[] = [];
      const cli: number[] = [];
      const cliCpu: number[] = [];
      const peer: number[] = [];
      const peerCpu: number[] = [];
      let cliRss = 0;
      let helmRss = 0;
      let helmOut = '';
      let cliOut = '';
      let text = '';
      for (let round = 0; round < ROUNDS + 2; round++) {
        let t = performance.now();
        const cpu0 = cpuNow();
        const { chart } = await loadChartDirectory(c.chart);
        const t1 = performance.now();
        text = renderChart(chart, opts).text;
        const t2 = performance.now();
        const cpu = cpuNow() - cpu0;
        const h = await timed(helm, args(c), helmEnv);
        const p = await timed(process.execPath, [CLI, ...args(c)], nodeEnv);
        t = t2 - t;
        if (round < 2) continue; // warm-up
        inProc.push(t);
        inProcCpu.push(cpu);
        renderOnly.push(t2 - t1);
        peer.push(h.ms);
        peerCpu.push(h.cpuMs);
        cli.push(p.ms);
        cliCpu.push(p.cpuMs);
        cliRss = Math.max(cliRss, p.rssKiB);
        helmRss = Math.max(helmRss, h.rssKiB);
        helmOut = h.stdout;
        cliOut = p.stdout;
      }
      const hm = median(peer);
      const hc = median(peerCpu);
      const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;
      const row =
        `${c.name.padEnd(16)} ${(text.length / 1024).toFixed(0).padStart(4)} KiB` +
        ` | helm wall ${hm.toFixed(0)} ms cpu ${hc.toFixed(0)} ms rss ${mib(helmRss)}` +
        ` | in-process wall ${median(inProc).toFixed(0)} ms (${(median(inProc) / hm).toFixed(2)}x; render ${median(renderOnly).toFixed(0)} ms)` +
        ` cpu ${median(inProcCpu).toFixed(0)} ms (${(median(inProcCpu) / hc).toFixed(2)}x)` +
        ` | CLI wall ${median(cli).toFixed(0)} ms (${(median(cli) / hm).toFixed(2)}x) cpu ${median(cliCpu).toFixed(0)} ms (${(median(cliCpu) / hc).toFixed(2)}x) rss ${mib(cliRss)}` +
        ` | same output: ${sameOutput(cliOut, helmOut) ? 'yes' : 'NO'}`;
      console.log(row);
      rows.push(row);
    }
    expect(rows.length).toBeGreaterThan(0);
  });
});
