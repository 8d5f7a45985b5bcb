import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { helmAvailable, helmBinary } from '../../helpers/helm.js';
import { EXEC_ERRORS, INCLUDE_CASES, MORE_INCLUDE_CASES, VALUES_YAML } from './helm-oracle.cases.js';

const ALL_INCLUDE = [...INCLUDE_CASES, ...MORE_INCLUDE_CASES];

// Re-records the oracle cases with the real Helm v4.1.4 binary, so the expectations in
// helm-oracle.cases.ts stay reproducible (the engine itself is checked against them in
// helm-oracle.test.ts).

const enabled = helmAvailable('helm-oracle.live');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function chart(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'cp-oracle-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'c', 'templates'), { recursive: true });
  writeFileSync(join(dir, 'c', 'Chart.yaml'), 'apiVersion: v2\nname: c\nversion: 0.1.0\n');
  writeFileSync(join(dir, 'c', 'values.yaml'), VALUES_YAML);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 'c', 'templates', name), text);
  return join(dir, 'c');
}

function helm(dir: string) {
  return spawnSync(helmBinary().path!, ['template', dir], { encoding: 'utf8', timeout: 60_000 });
}

describe.skipIf(!enabled)('oracle cases still match Helm v4.1.4', () => {
  it('include cases', () => {
    const files: Record<string, string> = {};
    ALL_INCLUDE.forEach(([text], i) => {
      files[`_c${i}.tpl`] = `{{- define "case${i}" -}}${text}{{- end -}}`;
      files[`t${i}.yaml`] = `v: {{ include "case${i}" .Values | toJson }}\n`;
    });
    const r = helm(chart(files));
    expect(r.stderr).toBe('');
    const got = new Map<number, string>();
    for (const m of r.stdout.matchAll(/# Source: c\/templates\/t(\d+)\.yaml\nv: (.*)\n/g))
      got.set(Number(m[1]), JSON.parse(m[2]!) as string);
    ALL_INCLUDE.forEach(([, expected], i) => {
      expect(got.get(i)).toBe(expected);
    });
  });

  it('a sample of execution errors', () => {
    for (const [text, message] of EXEC_ERRORS.slice(0, 6)) {
      const r = helm(chart({ 't.yaml': text }));
      const err = r.stderr
        .replace(/\n\nUse --debug.*$/s, '')
        .replace(/^Error: /, '')
        .trim();
      const m = /^(\S+:\d+:\d+)\n {2}executing (".*?") at <(.*)>:\n {4}([\s\S]*)$/.exec(err);
      const folded = m ? `template: ${m[1]}: executing ${m[2]} at <${m[3]}>: ${m[4]}` : err;
      expect(folded).toBe(message);
    }
  });
});
