import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  formatTemplateOutput,
  goPathMatch,
  goTrimSpace,
  INSTALL_ORDER,
  sortManifests,
  splitManifests,
} from '../../src/render/manifests.js';
import { expectThrowsCode } from '../helpers/expect-error.js';
import { describeVectors } from '../helpers/vectors.js';

describe('splitManifests (Helm v4.1.4)', () => {
  it('trims the file and each document (manifest_test.go)', () => {
    const file =
      '\n\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: finding-nemo,\n  annotations:\n    "helm.sh/hook": test\n';
    expect(splitManifests(file)).toEqual([
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: finding-nemo,\n  annotations:\n    "helm.sh/hook": test',
    ]);
  });

  it('splits at --- starting a line, whatever follows it', () => {
    expect(splitManifests('a: 1\n---\nb: 2\n---   \n\n  c: 3')).toEqual(['a: 1', 'b: 2', 'c: 3']);
    // `---foo` separates too (the regex needs no line end), and eats the whitespace after it.
    expect(splitManifests('a: 1\n---b: 2')).toEqual(['a: 1', 'b: 2']);
    // A separator's trailing whitespace consumes the next newline, so a second --- right after is content.
    expect(splitManifests('---\n---\nx: 1')).toEqual(['---\nx: 1']);
    // The newline must come right before ---: an indented --- is content.
    expect(splitManifests('a: 1\n  ---\nb: 2')).toEqual(['a: 1\n  ---\nb: 2']);
    expect(splitManifests('a: "x---y"')).toEqual(['a: "x---y"']);
    expect(splitManifests('\n---\n---\n')).toEqual(['---']);
    expect(splitManifests('a\n---\n \n---\nb')).toEqual(['a', '---\nb']);
  });

  it('matches the real Helm v4.1.4 on odd separators (output recorded from helm template)', () => {
    const files = new Map([
      ['sp/templates/a.yaml', '---\n---\nkind: A\n'],
      ['sp/templates/b.yaml', 'kind: B\n---b: 1\n'],
    ]);
    expect(formatTemplateOutput(sortManifests(files))).toBe(
      '---\n# Source: sp/templates/b.yaml\nb: 1\n---\n# Source: sp/templates/a.yaml\n---\nkind: A\n---\n# Source: sp/templates/b.yaml\nkind: B\n',
    );
  });

  it('handles hostile whitespace in linear time (no regex backtracking)', () => {
    const doc = `a: 1${' '.repeat(200_000)}\tb${'\n '.repeat(100_000)}`;
    expect(splitManifests(doc)).toEqual([`a: 1${' '.repeat(200_000)}\tb`]);
  });

  it('trims like Go: NEL yes, BOM no', () => {
    expect(goTrimSpace('\u0085 x \u00a0')).toBe('x');
    expect(goTrimSpace('\ufeffx')).toBe('\ufeffx');
    expect(goTrimSpace('\v\fx\u3000')).toBe('x');
  });
});

describe('sortManifests', () => {
  it('orders kinds by install order, unknown kinds last alphabetically, stable within a kind', () => {
    const kinds = [
      'IngressClass',
      'SecretList',
      'ClusterRole',
      'Zeta',
      'ConfigMap',
      'Alpha',
      'Namespace',
      'ConfigMap',
      'PriorityClass',
      'ValidatingWebhookConfiguration',
    ];
    const files = new Map(
      kinds.map((k, i) => [`c/templates/${String(i).padStart(2, '0')}.yaml`, `kind: ${k}\n`]),
    );
    const { manifests } = sortManifests(files);
    expect(manifests.map((m) => m.head.kind)).toEqual([
      'PriorityClass',
      'Namespace',
      'SecretList',
      'ConfigMap',
      'ConfigMap',
      'ClusterRole',
      'IngressClass',
      'ValidatingWebhookConfiguration',
      'Alpha',
      'Zeta',
    ]);
    const cms = manifests.filter((m) => m.head.kind === 'ConfigMap').map((m) => m.path);
    expect(cms).toEqual(['c/templates/04.yaml', 'c/templates/07.yaml']);
    expect(INSTALL_ORDER).toHaveLength(38);
  });

  it('keeps documents of one file in order and files in byte order of their paths', () => {
    const files = new Map([
      ['c/templates/b.yaml', 'kind: Service\nmetadata: {name: b1}\n---\nkind: Service\nmetadata: {name: b2}'],
      ['c/templates/a.yaml', 'kind: Service\nmetadata: {name: a1}'],
      ['c/templates/_helpers.tpl', 'kind: Service\nmetadata: {name: hidden}'],
      ['c/templates/blank.yaml', '  \n\n'],
      ['c/templates/B.yaml', 'kind: Service\nmetadata: {name: B}'],
    ]);
    expect(sortManifests(files).manifests.map((m) => m.head.name)).toEqual(['B', 'a1', 'b1', 'b2']);
  });

  it('separates hooks with events, weights and policies; drops unknown hook events', () => {
    const files = new Map([
      [
        'c/templates/hooks.yaml',
        [
          'kind: Job\nmetadata:\n  name: j\n  annotations:\n    helm.sh/hook: " Pre-Install ,post-upgrade"\n    helm.sh/hook-weight: "-5"\n    helm.sh/hook-delete-policy: before-hook-creation, Hook-Succeeded',
          'kind: Pod\nmetadata:\n  name: t\n  annotations:\n    helm.sh/hook: test-success\n    helm.sh/hook-weight: "x"',
          'kind: Pod\nmetadata:\n  name: u\n  annotations:\n    helm.sh/hook: pre-install,no-such-event',
          'kind: ConfigMap\nmetadata:\n  name: plain\n  annotations:\n    other: x',
        ].join('\n---\n'),
      ],
    ]);
    const { manifests, hooks } = sortManifests(files);
    expect(manifests.map((m) => m.head.name)).toEqual(['plain']);
    expect(hooks.map((h) => [h.head.name, h.events, h.weight, h.deletePolicies])).toEqual([
      ['t', ['test'], 0, []],
      ['j', ['pre-install', 'post-upgrade'], -5, ['before-hook-creation', 'hook-succeeded']],
    ]);
  });

  it('fails with Helm wording on invalid YAML and on a non-string kind', () => {
    expectThrowsCode(
      () => sortManifests(new Map([['c/templates/x.yaml', 'a: [1,\n']])),
      'TEMPLATE_OUTPUT_INVALID',
      /^YAML parse error on c\/templates\/x\.yaml: /,
    );
    expectThrowsCode(
      () => sortManifests(new Map([['c/templates/x.yaml', 'kind: 5\n']])),
      'TEMPLATE_OUTPUT_INVALID',
      /cannot unmarshal number into Go struct field SimpleHead\.kind of type string/,
    );
  });
});

describe('goPathMatch (filepath.Match)', () => {
  it.each([
    ['templates/*.yaml', 'templates/a.yaml', true],
    ['templates/*', 'templates/sub/a.yaml', false],
    ['templates/*/a.yaml', 'templates/sub/a.yaml', true],
    ['templates/?.yaml', 'templates/a.yaml', true],
    ['templates/[a-c].yaml', 'templates/b.yaml', true],
    ['templates/[^a-c].yaml', 'templates/b.yaml', false],
    ['templates/\\*.yaml', 'templates/*.yaml', true],
    ['templates/\\*.yaml', 'templates/a.yaml', false],
    ['templates/[', 'templates/a', false],
    ['charts/sub/templates/*', 'charts/sub/templates/cm.yaml', true],
    ['*', 'a/b', false],
  ])('%s vs %s → %s', (p, n, want) => {
    expect(goPathMatch(p, n)).toBe(want);
  });
});

const REALWORLD = join(process.cwd(), '..', 'shared', 'vectors', 'helm-render', 'helm-v4.1.4-realworld');
const realworldOk = existsSync(join(REALWORLD, 'cases.tsv'));
if (!realworldOk) console.warn(`render corpus round trip skipped: ${REALWORLD} not found`);

describeVectors(realworldOk)('helm template output round trip on the Helm v4.1.4 real-world goldens', () => {
  const rows = readFileSync(join(REALWORLD, 'cases.tsv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split('\t'))
    .filter(
      ([, , , , flags, , expected]) =>
        expected?.endsWith('.yaml') && !/--show-only|--include-crds/.test(flags ?? ''),
    );

  it('has cases to check', () => {
    expect(rows.length).toBeGreaterThanOrEqual(15);
  });

  it.each(rows.map((r) => [r[0] as string, r[6] as string]))('%s', (_id, expected) => {
    const golden = readFileSync(join(REALWORLD, expected), 'utf8');
    // Regroup the golden's documents by their source file, in order, then sort and print again.
    const files = new Map<string, string[]>();
    for (const doc of splitManifests(golden)) {
      const m = /^# Source: ([^\n]+)\n/.exec(doc);
      if (!m) throw new Error(`document without a Source line: ${doc.slice(0, 80)}`);
      const path = m[1] as string;
      files.set(path, [...(files.get(path) ?? []), doc.slice(m[0].length)]);
    }
    const sorted = sortManifests(new Map([...files].map(([p, docs]) => [p, docs.join('\n---\n')])));
    expect(formatTemplateOutput(sorted)).toBe(golden);
  });

  it('selects with --show-only and refuses an unknown template with Helm text', () => {
    const golden = readFileSync(join(REALWORLD, 'expected', 'metrics-server-defaults.yaml'), 'utf8');
    const files = new Map<string, string>();
    for (const doc of splitManifests(golden)) {
      const m = /^# Source: ([^\n]+)\n/.exec(doc) as RegExpExecArray;
      files.set(
        m[1] as string,
        [files.get(m[1] as string), doc.slice(m[0].length)].filter(Boolean).join('\n---\n'),
      );
    }
    const sorted = sortManifests(files);
    const only = formatTemplateOutput(sorted, { showOnly: ['templates/apiservice.yaml'] });
    expect(only.startsWith('---\n# Source: metrics-server/templates/apiservice.yaml\n')).toBe(true);
    expect(only.match(/^---$/gm)).toHaveLength(1);
    const err = readFileSync(join(REALWORLD, 'expected', 'blackbox-err-show-only-missing.err'), 'utf8');
    expectThrowsCode(
      () => formatTemplateOutput(sorted, { showOnly: ['templates/nope.yaml'] }),
      'TEMPLATE_NOT_FOUND',
      new RegExp(
        `^${err
          .replace(/^Error: /, '')
          .trim()
          .replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`,
      ),
    );
  });
});
