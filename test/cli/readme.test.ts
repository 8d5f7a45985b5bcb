import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { MemoryRegistry } from '../../src/testing/index.js';
import { captureIo } from '../helpers/cli-io.js';
import { seedTestChart } from '../helpers/registry.js';

/** The README's CLI example block. */
function readmeCliLines(): string[] {
  const readme = readFileSync(join(process.cwd(), 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## CLI\n'));
  const block = /```sh\n([\s\S]*?)```/.exec(section);
  expect(block, 'README has a ```sh block under ## CLI').not.toBeNull();
  return block![1]!.split('\n').filter((l) => l.trim() !== '');
}

/**
 * One README command as argv: `COSIGN_PASSWORD=… chartproof a b` → env + [a, b], with
 * the example registry and key files swapped for the test's.
 */
function commandOf(text: string, host: string, dir: string) {
  const env: Record<string, string> = { HOME: dir };
  const words = text.trim().split(/\s+/);
  while (/^[A-Z_]+=/.test(words[0]!)) {
    const [name] = words.shift()!.split('=');
    env[name!] = 'readme-password';
  }
  expect(words.shift()).toBe('chartproof');
  const args = words.map((w) =>
    w
      .replace('registry.example', host)
      .replace(/^cosign\.(key|pub)$/, (_m, ext: string) => join(dir, `cosign.${ext}`)),
  );
  if (args[0] === 'keygen') args.push('--output-key-prefix', join(dir, 'cosign'));
  return { env, args: ['--plain-http', ...args] };
}

describe('README: the sign → verify sequence runs as typed', () => {
  let registry: MemoryRegistry;
  let server: { host: string; close(): Promise<void> };
  let dir: string;
  let digest: string;

  beforeAll(async () => {
    registry = new MemoryRegistry();
    server = await registry.listen();
    dir = mkdtempSync(join(tmpdir(), 'cp-readme-'));
    digest = (await seedTestChart(registry.repository('charts/podinfo'), 'podinfo', '6.5.0')).digest;
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keygen, sign --key and verify --key succeed and verify prints the pinned reference', async () => {
    const lines = readmeCliLines();
    const signLine = lines.find((l) => l.includes('chartproof keygen'));
    const verifyLine = lines.find((l) => /chartproof verify --key/.test(l));
    expect(signLine).toBeDefined();
    expect(verifyLine).toBeDefined();
    const steps = [...signLine!.split('&&'), verifyLine!];
    let last = { out: '', err: '' };
    for (const step of steps) {
      const { env, args } = commandOf(step, server.host, dir);
      const c = captureIo('', env);
      const code = await run(args, c.io);
      expect(code, `${step}\n${c.err()}`).toBe(0);
      last = { out: c.out(), err: c.err() };
    }
    const result = JSON.parse(last.out);
    // No serialised bytes (objects keyed "0", "1", …) in the documented result.
    const bytesLike = (v: unknown): boolean =>
      typeof v === 'object' &&
      v !== null &&
      (Array.isArray(v)
        ? v.some(bytesLike)
        : (Object.keys(v).length > 0 && Object.keys(v).every((k) => /^\d+$/.test(k))) ||
          Object.values(v).some(bytesLike));
    expect(bytesLike(result)).toBe(false);
    expect(result.pinned).toBe(`${server.host}/charts/podinfo@${digest}`);
    expect(last.err).toContain(`Verification for ${server.host}/charts/podinfo:6.5.0 --`);
  });

  it('without --insecure-ignore-tlog a key-signed chart does not verify (as the README says)', async () => {
    const verifyLine = readmeCliLines().find((l) => /chartproof verify --key/.test(l))!;
    const { env, args } = commandOf(verifyLine.replace(' --insecure-ignore-tlog', ''), server.host, dir);
    const without = captureIo('', env);
    expect(await run(args, without.io)).not.toBe(0);
    // Another key: a verification failure (exit 1).
    const other = captureIo('', { ...env, COSIGN_PASSWORD: 'x' });
    expect(await run(['keygen', '--output-key-prefix', join(dir, 'other')], other.io)).toBe(0);
    const wrong = commandOf(verifyLine.replace('cosign.pub', join(dir, 'other.pub')), server.host, dir);
    const c = captureIo('', env);
    expect(await run([...wrong.args.slice(0, 1), '--json', ...wrong.args.slice(1)], c.io)).toBe(1);
    // A failed verify --json names the digest, never a pinned reference, and the error is JSON on stderr.
    const body = JSON.parse(c.out());
    expect(body.digest).toBe(digest);
    expect(body.pinned).toBeUndefined();
    expect(c.out()).not.toContain(`"${server.host}/charts/podinfo@${digest}"`);
    expect(JSON.parse(c.err().trim().split('\n').at(-1)!).error).toMatchObject({ exitCode: 1 });
  });
});
