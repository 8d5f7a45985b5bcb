import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { POLICY_COMMAND } from '../../src/cli/policy-command.js';
import { exitCodeFor } from '../../src/cli/io.js';
import { run } from '../../src/cli/main.js';
import { captureIo } from '../helpers/cli-io.js';
import { commandContext } from '../helpers/cli-io.js';

async function config(format = 'legacy'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'policy-cli-'));
  const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
    type: 'spki',
    format: 'pem',
  });
  await writeFile(join(dir, 'cosign.pub'), pem);
  const file = join(dir, 'trust.yaml');
  await writeFile(
    file,
    `registries: [registry.internal.example]\nverify:\n  keys: [cosign.pub]\n  signatureFormat: ${format}\n`,
  );
  return file;
}

describe('chartproof policy kyverno', () => {
  it('prints the policies as YAML documents, warnings on stderr', async () => {
    const c = commandContext(['kyverno'], { config: await config('bundle'), kind: 'ClusterPolicy' });
    expect(await POLICY_COMMAND.run.call(POLICY_COMMAND, c.c)).toBe(0);
    const docs = parseAllDocuments(c.out()).map((d) => (d as { toJS(): { kind: string } }).toJS());
    expect(docs.map((d) => d.kind)).toEqual(['ClusterPolicy']);
    expect(c.err()).toMatch(/^Warning: kyverno#16664: /m);
    expect(c.err()).toMatch(/^Warning: kyverno#16854: /m);
  });

  it('--json: documents and warnings; default kind is ImageValidatingPolicy', async () => {
    const c = commandContext(['kyverno'], { config: await config() }, { json: true });
    expect(await POLICY_COMMAND.run.call(POLICY_COMMAND, c.c)).toBe(0);
    const out = JSON.parse(c.out()) as { documents: { kind: string }[]; warnings: unknown[] };
    expect(out.documents.map((d) => d.kind)).toEqual(['ValidatingPolicy', 'ImageValidatingPolicy']);
    expect(out.warnings).toEqual([]);
    expect(c.err()).toBe('');
  });

  it('usage and config errors exit 2', async () => {
    for (const [args, values] of [
      [[], { config: 'x' }],
      [['kyverno'], {}],
      [['kyverno'], { config: 'x', kind: 'Policy' }],
    ] as const) {
      const c = commandContext([...args], values);
      const e = await POLICY_COMMAND.run.call(POLICY_COMMAND, c.c).catch((x: unknown) => x);
      expect(exitCodeFor(e)).toBe(2);
    }
    const dir = await mkdtemp(join(tmpdir(), 'policy-cli-'));
    await writeFile(join(dir, 't.yaml'), 'registries: [r.example]\nverify: {}\n');
    const c = commandContext(['kyverno'], { config: join(dir, 't.yaml') });
    const e = await POLICY_COMMAND.run.call(POLICY_COMMAND, c.c).catch((x: unknown) => x);
    expect(String((e as Error).message)).toMatch(/t\.yaml: verify: needs at least one key/);
    expect(exitCodeFor(e)).toBe(2);
  });

  it('runs through the CLI entry point: chartproof policy kyverno --config F --kind ClusterPolicy', async () => {
    const cap = captureIo();
    const code = await run(
      ['policy', 'kyverno', '--config', await config(), '--kind', 'ClusterPolicy'],
      cap.io,
    );
    expect(code).toBe(0);
    expect(cap.out()).toMatch(/^apiVersion: kyverno\.io\/v1\nkind: ClusterPolicy\n/);
    const bad = captureIo();
    expect(await run(['policy', 'kyverno', '--config', '/nonexistent/trust.yaml'], bad.io)).toBe(2);
    expect(bad.err()).toMatch(/trust\.yaml/);
  });
});
