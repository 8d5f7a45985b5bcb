import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SECRET_STDIN_BYTES, MAX_VALUES_STDIN_BYTES, readBounded } from '../../src/cli/io.js';
import { run } from '../../src/cli/main.js';
import { MAX_AUDIT_INPUT_BYTES } from '../../src/policy/index.js';
import { MemoryRegistry } from '../../src/testing/index.js';
import { captureIo } from '../helpers/cli-io.js';
import { expectChartproofError } from '../helpers/expect-error.js';

/** An endless standard input of `chunk`, counting how many chunks were taken and whether it was closed. */
function endless(chunk: Uint8Array) {
  const state = { pulled: 0, closed: false };
  const source = async function* () {
    try {
      for (;;) {
        state.pulled++;
        yield chunk;
      }
    } finally {
      state.closed = true;
    }
  };
  return { state, source };
}

describe('readBounded', () => {
  const limit = { maxBytes: 10, what: 'test input' };

  it('returns input up to the limit, as UTF-8 across chunk boundaries', async () => {
    const euro = Buffer.from('€', 'utf8'); // 3 bytes, split over two chunks
    const chunks = [Buffer.from('ab'), euro.subarray(0, 1), euro.subarray(1), 'cdefg'];
    expect(await readBounded(Readable.from(chunks), limit)).toBe('ab€cdefg');
  });

  it('fails with SIZE_LIMIT_EXCEEDED (local) one byte past the limit', async () => {
    const err = await expectChartproofError(
      readBounded(Readable.from([Buffer.from('0123456789x')]), limit),
      'SIZE_LIMIT_EXCEEDED',
    );
    expect(err.source).toBe('local');
    expect(err.message).toBe('standard input (test input) is larger than 10 bytes');
  });

  it('stops reading an endless source at the limit and closes it', async () => {
    const { state, source } = endless(new Uint8Array(4));
    await expectChartproofError(readBounded(source(), limit), 'SIZE_LIMIT_EXCEEDED');
    expect(state.pulled).toBe(3); // 4 + 4 + 4 > 10: the third chunk fails
    expect(state.closed).toBe(true);
  });

  it('destroys a Node stream (as process.stdin) instead of draining it', async () => {
    let reads = 0;
    const stream = new Readable({
      read() {
        reads++;
        this.push(Buffer.alloc(1024));
      },
    });
    await expectChartproofError(
      readBounded(stream, { maxBytes: 64 * 1024, what: 'x' }),
      'SIZE_LIMIT_EXCEEDED',
    );
    expect(stream.destroyed).toBe(true);
    expect(reads).toBeLessThan(100);
  });
});

describe('commands reading standard input are bounded', () => {
  let dir: string;
  let chart: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chartproof-stdin-'));
    chart = join(dir, 'chart');
    await mkdir(join(chart, 'templates'), { recursive: true });
    await writeFile(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: stdin\nversion: 0.1.0\n');
    await writeFile(
      join(chart, 'templates', 'cm.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  file: {{ .Values.file | quote }}\n',
    );
    await writeFile(join(dir, 'chart.tgz'), 'not a chart');
    await writeFile(join(dir, 'secret.asc'), 'not a key');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs with `--json` and returns the exit code and the error object. */
  async function failing(args: string[], stdin: Parameters<typeof captureIo>[0]) {
    const c = captureIo(stdin, { HOME: dir });
    const code = await run(['--json', ...args], c.io);
    return { code, error: JSON.parse(c.err()).error as Record<string, unknown>, out: c.out() };
  }

  it('login --password-stdin: a password past 64 KiB fails with exit 2 before any request', async () => {
    const big = 'p'.repeat(MAX_SECRET_STDIN_BYTES + 1);
    const r = await failing(['login', '127.0.0.1:1', '-u', 'ci', '--password-stdin'], big);
    expect(r.code).toBe(2);
    expect(r.error).toMatchObject({ code: 'SIZE_LIMIT_EXCEEDED', exitCode: 2, source: 'local' });
    expect(r.error.message).toBe(`standard input (password) is larger than ${MAX_SECRET_STDIN_BYTES} bytes`);
  });

  it('login --password-stdin: an endless stdin is not drained', async () => {
    const { state, source } = endless(new Uint8Array(1024).fill(0x70));
    const r = await failing(['login', '127.0.0.1:1', '-u', 'ci', '--password-stdin'], source);
    expect(r.error).toMatchObject({ code: 'SIZE_LIMIT_EXCEEDED', exitCode: 2 });
    expect(state.pulled).toBe(MAX_SECRET_STDIN_BYTES / 1024 + 1);
    expect(state.closed).toBe(true);
  });

  it('login --password-stdin: a normal password is read and logs in', async () => {
    const registry = new MemoryRegistry({ auth: { type: 'basic', username: 'ci', password: 'pa55' } });
    const server = await registry.listen();
    try {
      const config = join(dir, 'registry.json');
      const c = captureIo('pa55\n', { HOME: dir });
      const args = [
        '--plain-http',
        '--registry-config',
        config,
        'login',
        server.host,
        '-u',
        'ci',
        '--password-stdin',
      ];
      expect(await run(args, c.io)).toBe(0);
      expect(c.out()).toBe('Login Succeeded\n');
      const saved = JSON.parse(await readFile(config, 'utf8'));
      expect(Buffer.from(saved.auths[server.host].auth, 'base64').toString()).toBe('ci:pa55');
    } finally {
      await server.close();
    }
  });

  it('prov sign --passphrase-file -: bounded like a password', async () => {
    const args = [
      'prov',
      'sign',
      join(dir, 'chart.tgz'),
      '--key',
      join(dir, 'secret.asc'),
      '--passphrase-file',
      '-',
    ];
    const big = await failing(args, 'x'.repeat(MAX_SECRET_STDIN_BYTES + 1));
    expect(big.code).toBe(2);
    expect(big.error).toMatchObject({ code: 'SIZE_LIMIT_EXCEEDED', source: 'local' });
    expect(big.error.message).toMatch(/^standard input \(passphrase\) is larger than/);
    // A short passphrase is read; the command goes on to the (broken) chart.
    const small = await failing(args, 'secret\n');
    expect(small.error.code).not.toBe('SIZE_LIMIT_EXCEEDED');
  });

  it('template -f - and --set-file K=-: values from stdin are rendered', async () => {
    const c = captureIo('greeting: hello from stdin\n', { HOME: dir });
    expect(await run(['template', 'r', chart, '-f', '-'], c.io)).toBe(0);
    expect(c.out()).toContain('greeting: "hello from stdin"');
    const f = captureIo('file text', { HOME: dir });
    expect(await run(['template', 'r', chart, '--set-file', 'file=-'], f.io)).toBe(0);
    expect(f.out()).toContain('file: "file text"');
  });

  it('template -f - and --set-file K=-: stdin past the values-file limit fails with exit 2', async () => {
    const { state, source } = endless(new Uint8Array(1024 * 1024).fill(0x61));
    const r = await failing(['template', 'r', chart, '-f', '-'], source);
    expect(r.code).toBe(2);
    // `template` reports its own failures (Helm's wording), with the CLI's JSON error object.
    expect(r.error).toMatchObject({ code: 'SIZE_LIMIT_EXCEEDED', exitCode: 2, source: 'local' });
    expect(r.error.message).toBe(`standard input (values) is larger than ${MAX_VALUES_STDIN_BYTES} bytes`);
    expect(state.pulled).toBe(MAX_VALUES_STDIN_BYTES / (1024 * 1024) + 1);
    expect(r.out).toBe('');
    const s = endless(new Uint8Array(1024 * 1024).fill(0x61));
    const set = await failing(['template', 'r', chart, '--set-file', 'file=-'], s.source);
    expect(set.code).toBe(2);
    expect(set.error.code).toBe('SIZE_LIMIT_EXCEEDED');
    expect(set.error.message).toMatch(/^standard input \(--set-file value\) is larger than/);
  });

  it('template -f FILE and --set-file K=FILE: an endless file fails at the values-file limit, exit 2', async () => {
    const r = await failing(['template', 'r', chart, '-f', '/dev/zero'], '');
    expect(r.code).toBe(2);
    expect(r.error.code).toBe('SIZE_LIMIT_EXCEEDED');
    expect(r.error.message).toBe(`values file /dev/zero is larger than ${MAX_VALUES_STDIN_BYTES} bytes`);
    expect(r.out).toBe('');
    const set = await failing(['template', 'r', chart, '--set-file', 'file=/dev/zero'], '');
    expect(set.code).toBe(2);
    expect(set.error.message).toMatch(/^--set-file \/dev\/zero is larger than/);
  });

  it('prov sign --passphrase-file FILE: bounded like a password', async () => {
    const args = ['prov', 'sign', join(dir, 'chart.tgz'), '--key', join(dir, 'secret.asc')];
    const big = await failing([...args, '--passphrase-file', '/dev/zero'], '');
    expect(big.code).toBe(2);
    expect(big.error).toMatchObject({ code: 'SIZE_LIMIT_EXCEEDED', source: 'local' });
    expect(big.error.message).toBe(
      `passphrase file /dev/zero is larger than ${MAX_SECRET_STDIN_BYTES} bytes`,
    );
  });

  it('sign --key FILE: an endless key file fails with exit 2', async () => {
    const c = captureIo('', { HOME: dir, COSIGN_PASSWORD: '' });
    const code = await run(['--json', 'sign', '--key', '/dev/zero', 'registry.test/a:1'], c.io);
    const r = { code, error: JSON.parse(c.err()).error as Record<string, unknown> };
    expect(r.code).toBe(2);
    expect(r.error).toMatchObject({ code: 'SIZE_LIMIT_EXCEEDED', source: 'local' });
    expect(r.error.message).toMatch(/^key \/dev\/zero is larger than/);
  });

  it('audit --from -: stdin past the audit limit fails while reading, with exit 2', async () => {
    // The same 4 MiB chunk again and again: the reader keeps references, not copies.
    const { state, source } = endless(new Uint8Array(4 * 1024 * 1024).fill(0x20));
    const r = await failing(['audit', '--from', '-'], source);
    expect(r.code).toBe(2);
    expect(r.error).toMatchObject({ code: 'SIZE_LIMIT_EXCEEDED', source: 'local' });
    expect(r.error.message).toBe(
      `standard input (Secret list) is larger than ${MAX_AUDIT_INPUT_BYTES} bytes`,
    );
    expect(state.pulled).toBe(MAX_AUDIT_INPUT_BYTES / (4 * 1024 * 1024) + 1);
    expect(state.closed).toBe(true);
  });

  it('audit --from -: a small Secret list is read', async () => {
    const c = captureIo('{"kind":"List","apiVersion":"v1","items":[]}', { HOME: dir });
    expect(await run(['audit', '--from', '-'], c.io)).toBe(0);
    expect(c.out()).toMatch(/Audited 0 release\(s\)/);
  });
});
