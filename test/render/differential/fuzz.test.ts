/**
 * Differential fuzzing: random charts (test/render/differential/generator.ts, fixed
 * seed) rendered by the real Helm v4.1.4 and by `chartproof template`; stdout must be
 * byte-identical, and a failing case must fail with the same error text.
 *
 * Each batch is one chart: one values.yaml, one set of `--set`/`--set-string`/
 * `--set-json` flags, and one template file per case (`templates/cNNNN.yaml`, a YAML
 * document holding the case's output in a block scalar), so a single `helm template`
 * run checks hundreds of cases; the outputs are compared file by file, which pins a
 * difference to its case. Cases that chartproof fails on are found first in-process
 * (`renderChart` on a one-template copy of the chart) and run one chart each, since Go
 * stops rendering at the first error.
 *
 * Knobs for exploring: CP_FUZZ_SEED, CP_FUZZ_BATCHES, CP_FUZZ_CASES (cases per batch),
 * CP_FUZZ_ERRORS (error cases checked per batch). Failures are also written to
 * $TMPDIR/chartproof-fuzz-failures.json.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { loadChartDirectory } from '../../../src/chart/package.js';
import { run } from '../../../src/cli/main.js';
import { renderChart } from '../../../src/render/render.js';
import { captureIo } from '../../helpers/cli-io.js';
import { helmAvailable, helmBinary, helmHome } from '../../helpers/helm.js';
import { describeVectors } from '../../helpers/vectors.js';
import { type GeneratedCase, generateCase, generateValues, Rng } from './generator.js';

const HAVE_HELM = helmAvailable('differential fuzzing vs helm');
const SEED = Number(process.env.CP_FUZZ_SEED ?? 20261204);
const BATCHES = Number(process.env.CP_FUZZ_BATCHES ?? 5);
const CASES = Number(process.env.CP_FUZZ_CASES ?? 800);
const MAX_ERRORS = Number(process.env.CP_FUZZ_ERRORS ?? 8);
const KUBE = ['--kube-version', '1.31.0', '--namespace', 'fuzz-ns'];
const CHART_YAML = 'apiVersion: v2\nname: fz\nversion: 0.1.0\nappVersion: "1.0"\n';

export interface Disagreement {
  batch: number;
  id: string;
  source: string;
  valuesYaml: string;
  flags: string[];
  helm: string;
  chartproof: string;
}

/** Splits `helm template` output into file → document text. */
export function splitBySource(out: string): Map<string, string> {
  const m = new Map<string, string>();
  const re = /^---\n# Source: (\S+)\n/gm;
  const heads = [...out.matchAll(re)];
  heads.forEach((h, i) => {
    const start = (h.index ?? 0) + h[0].length;
    const end = i + 1 < heads.length ? (heads[i + 1]?.index ?? out.length) : out.length;
    const name = h[1] as string;
    m.set(name, (m.get(name) ?? '') + out.slice(start, end));
  });
  return m;
}

function writeChart(dir: string, valuesYaml: string, cases: readonly GeneratedCase[]): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'templates'), { recursive: true });
  writeFileSync(join(dir, 'Chart.yaml'), CHART_YAML);
  writeFileSync(join(dir, 'values.yaml'), valuesYaml);
  for (const c of cases) writeFileSync(join(dir, 'templates', `${c.id}.yaml`), c.source);
}

async function chartproof(dir: string, flags: string[]): Promise<{ code: number; out: string; err: string }> {
  const cap = captureIo();
  const code = await run(['template', 'fz-rel', dir, ...KUBE, ...flags], cap.io);
  return { code, out: cap.out(), err: cap.err() };
}

/** `helm template` in its own process (as runHelm, but asynchronous so Helm and chartproof overlap). */
function helm(dir: string, flags: string[], home: string) {
  const bin = helmBinary().path as string;
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
  };
  return new Promise<{ status: number; stdout: string; stderr: string; error: string }>((resolve, reject) => {
    const p = spawn(bin, ['template', 'fz-rel', dir, ...KUBE, ...flags], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (c: Buffer) => out.push(c));
    p.stderr.on('data', (c: Buffer) => err.push(c));
    p.on('error', reject);
    p.on('close', (code) => {
      const stderr = Buffer.concat(err).toString('utf8');
      const from = stderr.indexOf('Error: ');
      resolve({
        status: code ?? -1,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr,
        error: from >= 0 ? stderr.slice(from) : stderr,
      });
    });
  });
}

/** Helm's coalescing warnings (`level=INFO msg="warning: …"` log lines) as plain messages. */
export function helmWarnings(stderr: string): string[] {
  const out: string[] = [];
  for (const m of stderr.matchAll(/^level=\w+ msg=("(?:[^"\\]|\\.)*")$/gm))
    out.push(JSON.parse(m[1] as string) as string);
  return out;
}

/**
 * Differences documented in docs/rendering.md ("Known differences"), counted but not
 * failed: the value model has one integer type, so Go's `int64` (integers from `--set`,
 * results of `add`/`mul`/`int64`/…) is named `int` by `%T`/`typeOf`/`kindOf` and in
 * error texts (the generator does not branch on `kindIs "int64"`); strings are JS
 * strings, so cutting a UTF-8 sequence gives U+FFFD. Anything else that differs fails.
 */
function knownDifference(helm: string, chartproof: string): string | undefined {
  const int = (s: string) => s.replaceAll('int64', 'int');
  if (int(helm) === int(chartproof)) return 'int64 named int';
  // The same behind b64enc: one differing run of base64 characters that decodes (at
  // some alignment, since text may precede it) to texts equal up to int64/int.
  let i = 0;
  while (i < helm.length && i < chartproof.length && helm[i] === chartproof[i]) i++;
  const isB64 = (ch: string | undefined) => ch !== undefined && /[A-Za-z0-9+/=]/.test(ch);
  let start = i;
  while (start > 0 && isB64(helm[start - 1])) start--;
  const run = (t: string) => {
    let e = start;
    while (isB64(t[e])) e++;
    return t.slice(start, e);
  };
  const [hr, cr] = [run(helm), run(chartproof)];
  if (hr.length > 0 && helm.slice(start + hr.length) === chartproof.slice(start + cr.length)) {
    const dec = (t: string) => int(Buffer.from(t, 'base64').toString('latin1'));
    for (let k = 0; k < 4; k++) if (dec(hr.slice(k)) === dec(cr.slice(k))) return 'int64 named int';
  }
  // Byte slicing through a UTF-8 sequence (trunc/substr): Go emits invalid UTF-8, which
  // Helm's YAML parse then rejects; chartproof's JS strings hold U+FFFD instead.
  if (/invalid (leading|trailing) UTF-8 octet/.test(helm) || chartproof.includes('\uFFFD'))
    return 'UTF-8 byte slicing';
  return undefined;
}

const failingCase = (text: string) => /fz\/templates\/(c\d+)\.yaml/.exec(text)?.[1];

// describeVectors: a skipped suite's body (temp directories) never runs.
describeVectors(HAVE_HELM)('differential fuzzing: chartproof template = helm template v4.1.4', () => {
  const root = mkdtempSync(join(tmpdir(), 'cp-fuzz-'));
  const home = helmHome();
  const disagreements: Disagreement[] = [];
  let checked = 0;
  let errorsChecked = 0;
  const known = new Map<string, number>();
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
    console.log(
      `differential fuzzing: seed ${SEED}, ${checked} cases compared (${errorsChecked} error cases), ${disagreements.length} disagreements; known differences: ${JSON.stringify(Object.fromEntries(known))}`,
    );
  });

  for (let b = 0; b < BATCHES; b++) {
    it(`batch ${b} (seed ${SEED}, ${CASES} cases)`, { timeout: 300_000 }, async () => {
      const rng = new Rng(SEED + b * 7919);
      const values = generateValues(rng);
      const cases: GeneratedCase[] = [];
      for (let i = 0; i < CASES; i++)
        cases.push(generateCase(rng, `c${String(i).padStart(4, '0')}`, values.refs));
      const byId = new Map(cases.map((c) => [c.id, c]));
      const found: Disagreement[] = [];
      const disagree = (id: string, h: string, cp: string) => {
        const k = knownDifference(h, cp);
        if (k) {
          known.set(k, (known.get(k) ?? 0) + 1);
          return;
        }
        found.push({
          batch: b,
          id,
          source: byId.get(id)?.source ?? '',
          valuesYaml: values.yaml,
          flags: values.flags,
          helm: h,
          chartproof: cp,
        });
      };

      // 1. Which cases fail in chartproof (in-process, one template each).
      const dir = join(root, `b${b}`);
      writeChart(dir, values.yaml, cases);
      const { chart } = await loadChartDirectory(dir);
      const opts = {
        releaseName: 'fz-rel',
        namespace: 'fuzz-ns',
        kubeVersion: '1.31.0',
        values: {
          values: flagValues(values.flags, '--set'),
          stringValues: flagValues(values.flags, '--set-string'),
          jsonValues: flagValues(values.flags, '--set-json'),
        },
      };
      // Values errors (none expected from the generator) would fail every case alike;
      // Helm's coalescing warnings come through `warn` (the CLI does not print them).
      const warnings: string[] = [];
      try {
        renderChart({ ...chart, templates: [] }, { ...opts, warn: (m) => warnings.push(m) });
      } catch {
        // A values error: the batch is one error case (Helm must fail alike).
        writeChart(dir, values.yaml, []);
        const hp = helm(dir, values.flags, home);
        const cp = await chartproof(dir, values.flags);
        const h = await hp;
        if (h.status === 0 || h.error !== cp.err) disagree('values', h.error, cp.err);
        checked++;
        errorsChecked++;
        disagreements.push(...found);
        expect(found.map((f) => f.id)).toEqual([]);
        return;
      }
      const t0 = Date.now();
      const failing = new Set<string>();
      for (const t of chart.templates) {
        try {
          renderChart({ ...chart, templates: [t] }, opts);
        } catch (e) {
          if (process.env.CP_FUZZ_DEBUG)
            console.log(`prescreen ${t.name}: ${(e as Error).message.split('\n').slice(-1)[0]}`);
          failing.add(t.name.slice('templates/'.length, -'.yaml'.length));
        }
      }

      const t1 = Date.now();
      // 2. The passing cases in one chart; a case Helm fails on is a disagreement, taken out.
      let good = cases.filter((c) => !failing.has(c.id));
      // The failing cases (step 3) start in Helm now, in parallel.
      const bad = cases.filter((c) => failing.has(c.id)).slice(0, MAX_ERRORS);
      const badHelm = bad.map((c) => {
        const d = join(root, `b${b}-${c.id}`);
        writeChart(d, values.yaml, [c]);
        return { c, d, h: helm(d, values.flags, home) };
      });
      for (let attempt = 0; attempt < 50; attempt++) {
        writeChart(dir, values.yaml, good);
        const hp = helm(dir, values.flags, home);
        const cp = await chartproof(dir, values.flags);
        const h = await hp;
        if (h.status !== 0 || cp.code !== 0) {
          const hId = h.status !== 0 ? failingCase(h.error) : undefined;
          const cId = cp.code !== 0 ? failingCase(cp.err) : undefined;
          const id = [hId, cId].filter((x): x is string => x !== undefined).sort()[0];
          if (id === undefined) {
            disagree('batch', h.error, cp.err);
            break;
          }
          // Both failing alike on a case the prescreen let through is agreement.
          if (!(hId === id && cId === id && h.error === cp.err)) {
            disagree(id, hId === id ? h.error : '(rendered)', cId === id ? cp.err : '(rendered)');
          }
          good = good.filter((c) => c.id !== id);
          continue;
        }
        const hs = splitBySource(h.stdout);
        const cs = splitBySource(cp.out);
        let caseDiffs = 0;
        for (const c of good) {
          const name = `fz/templates/${c.id}.yaml`;
          const hv = hs.get(name) ?? '';
          const cv = cs.get(name) ?? '';
          if (hv !== cv) {
            caseDiffs++;
            disagree(c.id, hv, cv);
          }
        }
        // Anything outside the per-case documents (order, separators) must match too.
        if (cp.out !== h.stdout && caseDiffs === 0) disagree('batch-output', h.stdout, cp.out);
        if (cp.err !== '') disagree('batch-stderr', h.stderr, cp.err);
        // Helm coalesces in Go map order (random): compare the warnings as sets.
        if (JSON.stringify(helmWarnings(h.stderr).sort()) !== JSON.stringify([...warnings].sort())) {
          disagree('batch-warnings', h.stderr, warnings.join('\n'));
        }
        checked += good.length;
        break;
      }

      const t2 = Date.now();
      // 3. Failing cases: one chart each, same error text.
      for (const { c, d, h: hp } of badHelm) {
        const cp = await chartproof(d, values.flags);
        const h = await hp;
        if (h.status === 0 || cp.code !== 2 || h.error !== cp.err) {
          disagree(c.id, h.status === 0 ? h.stdout : h.error, cp.err || cp.out);
        }
        errorsChecked++;
        checked++;
      }

      if (process.env.CP_FUZZ_TIMING) {
        console.log(
          `batch ${b}: prescreen ${t1 - t0} ms, batch ${t2 - t1} ms, ${bad.length} error cases ${Date.now() - t2} ms`,
        );
      }
      disagreements.push(...found);
      if (found.length > 0) {
        const file = join(tmpdir(), 'chartproof-fuzz-failures.json');
        writeFileSync(file, JSON.stringify(disagreements, null, 2));
        for (const f of found.slice(0, 10)) {
          console.log(
            `--- disagreement batch ${f.batch} case ${f.id}\nflags: ${JSON.stringify(f.flags)}\n--- source:\n${f.source}\n--- helm:\n${f.helm}\n--- chartproof:\n${f.chartproof}`,
          );
        }
        console.log(`(all disagreements with values: ${file})`);
      }
      expect(found.map((f) => f.id)).toEqual([]);
    });
  }
});

function flagValues(flags: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < flags.length - 1; i++) if (flags[i] === name) out.push(flags[i + 1] as string);
  return out;
}
