import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAllCommands } from '../../src/cli/commands.js';
import { GLOBAL_OPTIONS } from '../../src/cli/main.js';

const read = (path: string) => readFileSync(join(process.cwd(), path), 'utf8');

/** The string literals of `export type ErrorCode = … ;` in src/errors.ts. */
function errorCodeUnion(): string[] {
  const src = read('src/errors.ts');
  const start = src.indexOf('export type ErrorCode =');
  expect(start).toBeGreaterThan(-1);
  const body = src.slice(start, src.indexOf(';', start));
  const codes = [...body.matchAll(/'([A-Z][A-Z0-9_]*)'/g)].map((m) => m[1]!);
  expect(codes.length).toBeGreaterThan(30);
  return codes;
}

/** Codes the CLI's JSON error object uses that are not ErrorCodes. */
const CLI_CODES = new Set(['USAGE', 'INTERNAL']);

/** Code-like names in the first cell of the page's table rows (where codes are defined). */
function tableCodes(doc: string): string[] {
  const out: string[] = [];
  for (const line of doc.split('\n')) {
    if (!line.startsWith('| `')) continue;
    const cell = line.slice(1, line.indexOf('|', 1));
    for (const m of cell.matchAll(/`([A-Z][A-Z0-9_]+)`/g)) out.push(m[1]!);
  }
  return out;
}

describe('docs agree with the code', () => {
  it('docs/errors.md lists exactly the ErrorCode union', () => {
    const codes = errorCodeUnion();
    const doc = read('docs/errors.md');
    const documented = new Set([...doc.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!));
    const undocumented = codes.filter((c) => !documented.has(c));
    expect(undocumented, 'codes missing from docs/errors.md').toEqual([]);
    const unknown = tableCodes(doc).filter((c) => !codes.includes(c) && !CLI_CODES.has(c));
    expect(unknown, 'docs/errors.md names codes the union does not have').toEqual([]);
  });

  it('docs/cli.md documents every command, global flag and command flag', async () => {
    const doc = read('docs/cli.md');
    const missing: string[] = [];
    const documented = (flag: string, o: { short?: string }) =>
      doc.includes(`--${flag}`) || (o.short !== undefined && doc.includes(`-${o.short} `));
    for (const [name, o] of Object.entries(GLOBAL_OPTIONS))
      if (!documented(name, o as { short?: string })) missing.push(`--${name}`);
    for (const [name, command] of Object.entries(await loadAllCommands())) {
      if (!new RegExp(`\`${name}[ \`]`).test(doc)) missing.push(name);
      for (const [flag, o] of Object.entries(command.options ?? {}))
        if (!documented(flag, o)) missing.push(`${name} --${flag}`);
    }
    expect(missing).toEqual([]);
  });

  it('docs/cli.md states the exit codes the CLI uses', () => {
    const doc = read('docs/cli.md');
    for (const line of ['**0** success', '**1** verification', '**2** usage', '**3** registry'])
      expect(doc).toContain(line);
  });
});
