/**
 * The values half of `helm template` against the helm-v4.1.4-realworld corpus: every
 * case's flags and values files go through mergeUserValues + prepareRender; error
 * cases that fail before rendering (schema, kubeVersion) must fail with Helm's exact
 * text, the others must pass (the capabilities probe's lists must match), and rendered
 * with the engine the output must equal Helm's byte for byte.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadChartDirectory } from '../../../src/chart/package.js';
import { renderTemplates } from '../../../src/render/engine.js';
import { helmFuncs } from '../../../src/render/funcs/index.js';
import { formatTemplateOutput, sortManifests } from '../../../src/render/manifests.js';
import {
  defaultCapabilities,
  HELM_DEFAULT_API_VERSIONS,
  mergeUserValues,
  prepareRender,
} from '../../../src/render/values/index.js';
import { shellWords } from '../../helpers/shell-words.js';

const DIR = join(process.cwd(), '..', 'shared', 'vectors', 'helm-render', 'helm-v4.1.4-realworld');
const have = existsSync(join(DIR, 'cases.tsv'));
if (!have) console.warn(`realworld values checks skipped: ${DIR} is absent`);

interface Case {
  id: string;
  chartDir: string;
  release: string;
  namespace: string;
  flags: string[];
  values: string[];
  expected: string;
}

function cases(): Case[] {
  if (!have) return [];
  const lines = readFileSync(join(DIR, 'cases.tsv'), 'utf8').trimEnd().split('\n').slice(1);
  return lines.map((l) => {
    const [id, chartDir, release, namespace, flags, values, expected] = l.split('\t') as string[];
    return {
      id: id as string,
      chartDir: chartDir as string,
      release: release as string,
      namespace: namespace as string,
      flags: shellWords(flags ?? ''),
      values: (values ?? '').split(' ').filter((x) => x !== ''),
      expected: expected as string,
    };
  });
}

/** Errors Helm raises in the values phase (before templates run). */
const VALUES_PHASE =
  /^Error: (values don't meet|chart requires kubeVersion|failed pars|invalid kube version)/;

describe.skipIf(!have)('helm-v4.1.4-realworld: values phase', () => {
  it.each(cases().map((c) => [c.id, c] as const))('%s', async (_id, c) => {
    const set: string[] = [];
    const setString: string[] = [];
    const setFile: string[] = [];
    const setJson: string[] = [];
    const apiVersions: string[] = [];
    let kubeVersion: string | undefined;
    for (let i = 0; i < c.flags.length; i++) {
      const f = c.flags[i];
      const next = () => c.flags[++i] as string;
      if (f === '--set') set.push(next());
      else if (f === '--set-string') setString.push(next());
      else if (f === '--set-file') setFile.push(next());
      else if (f === '--set-json') setJson.push(next());
      else if (f === '--kube-version') kubeVersion = next();
      else if (f === '--api-versions') apiVersions.push(...next().split(','));
      else if (f === '--show-only') next();
    }
    const userValues = mergeUserValues({
      valueFiles: c.values.map((p) => ({ name: p, text: readFileSync(join(DIR, p), 'utf8') })),
      values: set,
      stringValues: setString,
      fileValues: setFile,
      jsonValues: setJson,
      readFile: (p) => readFileSync(join(DIR, p), 'utf8'),
    });
    const { chart } = await loadChartDirectory(join(DIR, c.chartDir));
    const run = () =>
      prepareRender(chart, {
        release: { name: c.release, namespace: c.namespace },
        userValues,
        ...(kubeVersion !== undefined ? { kubeVersion } : {}),
        apiVersions,
      });
    const expected = readFileSync(join(DIR, c.expected), 'utf8');
    if (c.expected.endsWith('.err') && VALUES_PHASE.test(expected)) {
      let err: unknown;
      try {
        run();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(Error);
      const message = (err as Error).message;
      // Helm appends a hint after the kubeVersion error; schema errors end with a newline.
      const helmText = expected.startsWith('Error: chart requires kubeVersion')
        ? `Error: ${message}\n\nUse --debug flag to render out invalid YAML\n`
        : `Error: ${message}\n`;
      expect(helmText).toBe(expected);
      return;
    }
    const prepared = run();
    expect(prepared.chart.metadata.name).toBe(chart.metadata.name);
    if (c.expected.endsWith('.yaml')) {
      // With the engine: the whole `helm template` output must be byte-identical.
      const rendered = renderTemplates(prepared.chart, prepared.values, { funcs: helmFuncs() });
      const files = new Map([...rendered].filter(([k]) => !k.endsWith('/NOTES.txt')));
      const showOnly: string[] = [];
      c.flags.forEach((f, i) => {
        if (f === '--show-only') showOnly.push(c.flags[i + 1] as string);
      });
      const crds = c.flags.includes('--include-crds')
        ? chart.files
            .filter((f) => f.name.startsWith('crds/'))
            .map((f) => ({
              path: `${chart.metadata.name}/${f.name}`,
              content: new TextDecoder().decode(f.data),
            }))
        : [];
      const out = formatTemplateOutput(sortManifests(files), {
        crds,
        showOnly,
        skipTests: c.flags.includes('--skip-tests'),
        noHooks: c.flags.includes('--no-hooks'),
      });
      expect(out).toBe(expected);
    }
    if (c.id.startsWith('capabilities-probe')) {
      const listed = /apiVersions: \|\n((?: {4}- .*\n)+)/.exec(expected)?.[1] ?? '';
      const want = listed
        .trimEnd()
        .split('\n')
        .map((l) => l.replace(/^ {4}- /, ''));
      expect(prepared.capabilities.apiVersions).toEqual(want);
      expect(want.length).toBe(HELM_DEFAULT_API_VERSIONS.length + apiVersions.length);
      const kv = /kubeVersionString: "\{(\S+) (\S+) (\S+) (\S+)\}"/.exec(expected);
      const k = prepared.capabilities.kubeVersion;
      expect([k.version, k.normalizedVersion, k.major, k.minor]).toEqual(kv?.slice(1));
    }
  });
});

describe('defaultCapabilities', () => {
  it('Helm v4.1.4 release build defaults', () => {
    const c = defaultCapabilities();
    expect(c.kubeVersion).toEqual({
      version: 'v1.35.0',
      normalizedVersion: 'v1.35.0',
      major: '1',
      minor: '35',
    });
    expect(c.apiVersions).toHaveLength(57);
    expect(c.helmVersion.version).toBe('v4.1.4');
  });
});
