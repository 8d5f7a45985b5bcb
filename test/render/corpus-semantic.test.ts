/**
 * `chartproof template` against the remaining sets of the shared render corpus
 * (../shared/vectors/helm-render, see its MANIFEST.md):
 *
 * - `otel-helm-charts`: the upstream goldens (Helm v4.0.5, `--output-dir` layout), compared
 *   file by file after the upstream normalisation (`perl -0777 -pe
 *   's/[ \t\n]+(?=\n---\n)//g; s/[ \t\n]+\z/\n/'`), ignoring lines that contain
 *   `checksum/config` or `helm.sh/chart` (as upstream `diff -r -I … -I …`).
 * - `kong-2.52.0` and `ingress-nginx-4.15.1`: their goldens are helm-chartsnap snapshots
 *   (re-serialised YAML) or sed+kustomize output, so the oracle is the real Helm v4.1.4
 *   run on the same chart and flags in the same test, compared byte for byte on stdout.
 *   Kong's `genCA`/`genSignedCert`/`randAlphaNum` fields are masked first, in the
 *   documents and at the paths listed by `charts/kong/ci/.chartsnap.yaml`. The same
 *   output is then also compared with the chartsnap snapshot (kong: 33, ingress-nginx:
 *   the chartsnap case) as parsed documents in order, masked the same way; v3 (kyaml)
 *   snapshots drop `key: null` entries, so both sides drop them there. The static-deploy
 *   goldens (sed + kustomize) are not compared: only their `helm template` step is.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { run } from '../../src/cli/main.js';
import { captureIo } from '../helpers/cli-io.js';
import { helmAvailable, runHelm } from '../helpers/helm.js';
import { shellWords } from '../helpers/shell-words.js';
import { describeVectors } from '../helpers/vectors.js';

const CORPUS = join(process.cwd(), '..', 'shared', 'vectors', 'helm-render');

function rows(dir: string): string[][] {
  return readFileSync(join(dir, 'cases.tsv'), 'utf8')
    .trimEnd()
    .split('\n')
    .slice(1)
    .map((l) => l.split('\t'));
}

function present(dir: string, suite: string): boolean {
  const ok = existsSync(join(dir, 'cases.tsv'));
  if (!ok) console.warn(`${suite} skipped: ${dir} not found (clone shared/ beside the repo)`);
  return ok;
}

/** Files under `dir`, relative, sorted. */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  if (existsSync(dir)) walk(dir);
  return out.sort();
}

/** The otel Makefile's perl normalisation, then drops the lines `diff -I` ignores. */
function otelNormalise(text: string): string {
  return text
    .replace(/[ \t\n]+(?=\n---\n)/g, '')
    .replace(/[ \t\n]+$/, '\n')
    .split('\n')
    .filter((l) => !l.includes('checksum/config') && !l.includes('helm.sh/chart'))
    .join('\n');
}

// ---------------------------------------------------------------------------------------
// otel-helm-charts: upstream goldens, --output-dir layout
// ---------------------------------------------------------------------------------------
const OTEL = join(CORPUS, 'otel-helm-charts');
describe('otelNormalise', () => {
  it('trims blanks before separators and at the end, drops ignored lines', () => {
    expect(otelNormalise('---\na: 1  \n\n\n---\nb: 2\n  helm.sh/chart: x\n\n\n')).toBe(
      '---\na: 1\n---\nb: 2\n',
    );
  });
});

describeVectors(present(OTEL, 'render corpus otel-helm-charts'))(
  'chartproof template --output-dir = otel-helm-charts goldens',
  () => {
    const all = rows(OTEL);
    const tmp = mkdtempSync(join(tmpdir(), 'cp-otel-'));
    afterAll(() => rmSync(tmp, { recursive: true, force: true }));

    it('has the documented 26 cases', () => {
      expect(all).toHaveLength(26);
    });

    // daemonset-and-deployment renders two values files into one `rendered/` dir
    // (union, second run overwriting): one case renders both, in cases.tsv order.
    const groups = new Map<string, string[][]>();
    for (const r of all) {
      const key = r[3] as string;
      groups.set(key, [...(groups.get(key) ?? []), r]);
    }
    it.each([...groups].map(([expected, rs]) => [expected.replace(/^charts\//, ''), rs]))(
      '%s',
      async (_id, rs) => {
        const out = join(tmp, String(_id).replace(/\//g, '_'));
        const chart = (rs[0] as string[])[1] as string;
        for (const r of rs) {
          const cap = captureIo();
          const code = await run(
            [
              'template',
              'example',
              join(OTEL, chart),
              '--namespace',
              'default',
              '--values',
              join(OTEL, r[2] as string),
              '--kube-version',
              '1.29',
              '--output-dir',
              out,
            ],
            cap.io,
          );
          expect(cap.err()).toBe('');
          expect(code).toBe(0);
        }
        const name = chart.split('/').pop() as string;
        const gotDir = join(out, name, 'templates');
        const wantDir = join(OTEL, (rs[0] as string[])[3] as string);
        expect(listFiles(wantDir).length).toBeGreaterThan(0);
        expect(listFiles(gotDir)).toEqual(listFiles(wantDir));
        for (const f of listFiles(wantDir)) {
          const got = otelNormalise(readFileSync(join(gotDir, f), 'utf8'));
          const want = otelNormalise(readFileSync(join(wantDir, f), 'utf8'));
          expect(`${f}\n${got}`).toBe(`${f}\n${want}`);
        }
      },
    );
  },
);

// ---------------------------------------------------------------------------------------
// kong + ingress-nginx: real Helm v4.1.4 as the oracle
// ---------------------------------------------------------------------------------------

interface DynamicField {
  apiVersion: string;
  kind: string;
  name: string;
  jsonPath: string[];
}

/**
 * Masks chartsnap dynamic fields in a `helm template` stdout, keeping every other byte:
 * in each matching document, the line holding the value at each JSON pointer (all of
 * them single-line scalars here) gets its value replaced by `###DYNAMIC_FIELD###`.
 */
function maskDynamic(stdout: string, fields: DynamicField[]): string {
  return stdout
    .split(/(?<=\n)(?=---\n)/)
    .map((docText) => {
      let obj: Record<string, unknown> | null;
      try {
        obj = parse(docText) as Record<string, unknown> | null;
      } catch {
        return docText;
      }
      if (!obj || typeof obj !== 'object') return docText;
      const meta = obj.metadata as { name?: unknown } | undefined;
      let text = docText;
      for (const f of fields) {
        if (obj.apiVersion !== f.apiVersion || obj.kind !== f.kind || meta?.name !== f.name) continue;
        for (const ptr of f.jsonPath) {
          const segs = ptr.split('/').slice(1);
          let v: unknown = obj;
          for (const s of segs)
            v = v && typeof v === 'object' ? (v as Record<string, unknown>)[s] : undefined;
          if (typeof v !== 'string' || v === '') continue;
          const key = segs[segs.length - 1] as string;
          const esc = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          // the first line `key: <value>` whose value is the dynamic one (quoted or not)
          const re = new RegExp(
            `^(\\s*(?:- )?${esc}: *)(["']?)${v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\2 *$`,
            'm',
          );
          text = text.replace(re, '$1###DYNAMIC_FIELD###');
        }
      }
      return text;
    })
    .join('');
}

describe('maskDynamic', () => {
  it('masks only the listed fields of the listed documents', () => {
    const s =
      '---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: a\ndata:\n  k: "abc"\n  j: abc\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: b\ndata:\n  k: abc\n';
    const masked = maskDynamic(s, [{ apiVersion: 'v1', kind: 'Secret', name: 'a', jsonPath: ['/data/k'] }]);
    expect(masked).toBe(s.replace('k: "abc"', 'k: ###DYNAMIC_FIELD###'));
  });
});

describe('chartsnapDocs', () => {
  it('parses documents, masks dynamic fields, drops nulls only when asked', () => {
    const f = [{ apiVersion: 'v1', kind: 'Secret', name: 'a', jsonPath: ['/data/k'] }];
    const s =
      '---\n# c\napiVersion: v1\nkind: Secret\nmetadata:\n  name: a\n  annotations: null\ndata:\n  k: x\n---\n';
    const masked = { apiVersion: 'v1', kind: 'Secret', data: { k: '###DYNAMIC_FIELD###' } };
    expect(chartsnapDocs(s, f, true)).toEqual([{ ...masked, metadata: { name: 'a' } }]);
    expect(chartsnapDocs(s, f, false)).toEqual([{ ...masked, metadata: { name: 'a', annotations: null } }]);
  });
});

function helmOracle(set: string, id: string, command: string, cwd: string, mask: (s: string) => string) {
  let words = shellWords(command.split('|')[0] as string);
  expect(words.slice(0, 2)).toEqual(['helm', 'template']);
  words = words.slice(2);
  const helm = runHelm(['template', ...words], { cwd });
  expect(helm.stderr, `${set} ${id}: helm failed`).toBe('');
  expect(helm.status).toBe(0);
  expect(helm.stdout).toContain('# Source: ');
  const argv = ['template'];
  for (const w of words) {
    if (w.startsWith('./charts/') || w.startsWith('charts/')) argv.push(join(cwd, w));
    else if (w.startsWith('--values=')) argv.push(`--values=${join(cwd, w.slice('--values='.length))}`);
    else if (/^(chartsnap|static-deploy)\//.test(w)) argv.push(join(cwd, w));
    else argv.push(w);
  }
  return (async () => {
    const cap = captureIo();
    const code = await run(argv, cap.io);
    expect(cap.err()).toBe('');
    expect(mask(cap.out())).toBe(mask(helm.stdout));
    expect(code).toBe(0);
    return cap.out();
  })();
}

/**
 * The documents of a YAML stream as plain data (empty documents dropped), with the
 * chartsnap dynamic fields set to `###DYNAMIC_FIELD###` — how helm-chartsnap compares.
 * YAML 1.1 scalars, as go-yaml (behind both snapshot formats) resolves them.
 */
function chartsnapDocs(text: string, fields: DynamicField[], dropNulls: boolean): unknown[] {
  const docs = parseAllDocuments(text.replace(/^# chartsnap: snapshot_version=v\d+\n/, ''), {
    version: '1.1',
    uniqueKeys: false, // go-yaml v2 (sigs.k8s.io/yaml, v2 snapshots) keeps the last duplicate
  });
  const out: unknown[] = [];
  for (const d of docs) {
    if (d.errors.length > 0) throw d.errors[0];
    const obj = d.toJS({ maxAliasCount: 100 }) as Record<string, unknown> | null;
    if (obj === null || obj === undefined) continue;
    const name = (obj.metadata as { name?: unknown } | undefined)?.name;
    for (const f of fields) {
      if (obj.apiVersion !== f.apiVersion || obj.kind !== f.kind || name !== f.name) continue;
      for (const ptr of f.jsonPath) {
        const segs = ptr.split('/').slice(1);
        let parent: unknown = obj;
        for (const s of segs.slice(0, -1))
          parent = parent && typeof parent === 'object' ? (parent as Record<string, unknown>)[s] : undefined;
        const last = segs[segs.length - 1] as string;
        if (parent && typeof parent === 'object' && last in (parent as object))
          (parent as Record<string, unknown>)[last] = '###DYNAMIC_FIELD###';
      }
    }
    out.push(dropNulls ? withoutNulls(obj) : obj);
  }
  return out;
}

/** v3 (kyaml) snapshots have no `key: null` map entries (v2 ones keep them): drop them. */
function withoutNulls(d: unknown): unknown {
  if (Array.isArray(d)) return d.map(withoutNulls);
  if (d && typeof d === 'object')
    return Object.fromEntries(
      Object.entries(d)
        .filter(([, v]) => v !== null)
        .map(([k, v]) => [k, withoutNulls(v)]),
    );
  return d;
}

/** JSON with sorted keys: a document's identity regardless of key order. */
function canonical(d: unknown): string {
  const sortKeys = (x: unknown): unknown =>
    Array.isArray(x)
      ? x.map(sortKeys)
      : x && typeof x === 'object'
        ? Object.fromEntries(
            Object.entries(x)
              .sort(([p], [q]) => (p < q ? -1 : p > q ? 1 : 0))
              .map(([k, v]) => [k, sortKeys(v)]),
          )
        : x;
  return JSON.stringify(sortKeys(d));
}

const KONG = join(CORPUS, 'kong-2.52.0');
/**
 * Snapshots whose document order differs from Helm v4.1.4 (= chartproof, checked above):
 * they put the cert-manager `Certificate`s before `ValidatingWebhookConfiguration`,
 * v4.1.4 puts the webhook first — presumably install-order drift of the unpinned Helm
 * that wrote them. Same documents, compared as a set only.
 */
const ORDER_DRIFT = new Set([
  'certificate-values',
  'certificates-enabled-values',
  'enterprise-manager-cert-values',
]);
const kongOk =
  present(KONG, 'render corpus kong-2.52.0') && helmAvailable('render corpus kong-2.52.0 vs Helm v4.1.4');
describeVectors(kongOk)('chartproof template = helm template v4.1.4 (kong-2.52.0 chartsnap cases)', () => {
  const all = rows(KONG);
  const cfg = parse(readFileSync(join(KONG, 'charts/kong/ci/.chartsnap.yaml'), 'utf8')) as {
    dynamicFields: DynamicField[];
  };
  it('has the documented 33 cases', () => {
    expect(all).toHaveLength(33);
  });
  it.each(all.map((r) => [r[0] as string, r]))('%s', async (id, r) => {
    const out = await helmOracle('kong', id, r[5] as string, KONG, (s) => maskDynamic(s, cfg.dynamicFields));
    // and the chartsnap snapshot, as documents in order (ORDER_DRIFT: as a set)
    const snap = readFileSync(join(KONG, r[4] as string), 'utf8');
    const format = r[1] as string;
    const got = chartsnapDocs(out, cfg.dynamicFields, format === 'v3');
    const want = chartsnapDocs(snap, cfg.dynamicFields, format === 'v3');
    expect(got.map(canonical).sort()).toEqual(want.map(canonical).sort());
    if (ORDER_DRIFT.has(id)) return;
    expect(got).toEqual(want);
  });
});

const NGINX = join(CORPUS, 'ingress-nginx-4.15.1');
const nginxOk =
  present(NGINX, 'render corpus ingress-nginx-4.15.1') &&
  helmAvailable('render corpus ingress-nginx-4.15.1 vs Helm v4.1.4');
describeVectors(nginxOk)('chartproof template = helm template v4.1.4 (ingress-nginx-4.15.1)', () => {
  const all = rows(NGINX);
  it('has the documented 10 cases', () => {
    expect(all).toHaveLength(10);
  });
  // static-*: the helm part of the pipeline (before `| sed … | kustomize build`).
  it.each(all.map((r) => [r[0] as string, r]))('%s', async (id, r) => {
    const out = await helmOracle('ingress-nginx', id, r[4] as string, NGINX, (s) => s);
    if (!id.startsWith('chartsnap-')) return;
    // and the chartsnap v3 snapshot, compared as documents in order
    const snap = readFileSync(join(NGINX, r[3] as string), 'utf8');
    expect(chartsnapDocs(out, [], true)).toEqual(chartsnapDocs(snap, [], true));
  });
});
