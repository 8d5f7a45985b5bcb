import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ChartproofError } from '../../src/errors.js';
import { readFileBounded, readFileBoundedSync, readTextFileBounded } from '../../src/internal/read-file.js';
import { readCaFile } from '../../src/oci/transport/fetch.js';

const dir = mkdtempSync(join(tmpdir(), 'cp-read-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function failure(p: Promise<unknown>): Promise<ChartproofError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ChartproofError);
  return e as ChartproofError;
}

describe('readFileBounded', () => {
  describe('when the file fits', () => {
    it('returns every byte, up to exactly the bound', async () => {
      const path = join(dir, 'exact');
      const data = Buffer.alloc(200_000, 7); // more than one read
      writeFileSync(path, data);
      const got = await readFileBounded(path, { maxBytes: data.byteLength, what: 'test file' });
      expect(got.equals(data)).toBe(true);
    });

    it('reads text and an empty file', async () => {
      const text = join(dir, 'text');
      writeFileSync(text, 'a: 1\n');
      expect(await readTextFileBounded(text, { maxBytes: 10, what: 'values file' })).toBe('a: 1\n');
      const empty = join(dir, 'empty');
      writeFileSync(empty, '');
      expect((await readFileBounded(empty, { maxBytes: 10, what: 'x' })).byteLength).toBe(0);
    });
  });

  describe('when the file is larger than the bound', () => {
    it('refuses a regular file one byte over, naming it', async () => {
      const path = join(dir, 'over');
      writeFileSync(path, Buffer.alloc(11));
      const e = await failure(readFileBounded(path, { maxBytes: 10, what: 'values file' }));
      expect(e.code).toBe('SIZE_LIMIT_EXCEEDED');
      expect(e.source).toBe('local');
      expect(e.message).toBe(`values file ${path} is larger than 10 bytes`);
    });

    it('stops reading an endless device at the bound', async () => {
      const e = await failure(readFileBounded('/dev/zero', { maxBytes: 1024 * 1024, what: 'key' }));
      expect(e.code).toBe('SIZE_LIMIT_EXCEEDED');
    });

    it('stops reading a pipe whose writer never ends', async () => {
      const fifo = join(dir, 'fifo');
      await new Promise<void>((resolve, reject) => {
        const p = spawn('mkfifo', [fifo]);
        p.on('error', reject);
        p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`mkfifo exited ${code}`))));
      });
      const writer = spawn('sh', ['-c', `yes > '${fifo}'`], { stdio: 'ignore' });
      try {
        const e = await failure(readFileBounded(fifo, { maxBytes: 64 * 1024, what: 'values file' }));
        expect(e.code).toBe('SIZE_LIMIT_EXCEEDED');
      } finally {
        writer.kill();
      }
    });
  });

  describe('when the file cannot be read', () => {
    it('fails with IO, or NOT_FOUND when asked', async () => {
      const missing = join(dir, 'missing');
      const io = await failure(readFileBounded(missing, { maxBytes: 10, what: 'kubeconfig' }));
      expect(io.code).toBe('IO');
      expect(io.message).toContain(`cannot read kubeconfig ${missing}`);
      const nf = await failure(readFileBounded(missing, { maxBytes: 10, what: 'x', notFoundCode: true }));
      expect(nf.code).toBe('NOT_FOUND');
    });

    it('fails with IO on a directory', async () => {
      const e = await failure(readFileBounded(dir, { maxBytes: 10, what: 'values file' }));
      expect(e.code).toBe('IO');
    });
  });
});

describe('readFileBoundedSync and readCaFile', () => {
  function syncFailure(fn: () => unknown): ChartproofError {
    let e: unknown;
    try {
      fn();
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(ChartproofError);
    return e as ChartproofError;
  }

  it('reads a file up to the bound and refuses one byte more', () => {
    const path = join(dir, 'sync');
    writeFileSync(path, Buffer.alloc(100_000, 3));
    expect(readFileBoundedSync(path, { maxBytes: 100_000, what: 'x' }).byteLength).toBe(100_000);
    expect(syncFailure(() => readFileBoundedSync(path, { maxBytes: 99_999, what: 'x' })).code).toBe(
      'SIZE_LIMIT_EXCEEDED',
    );
  });

  it('readCaFile: a PEM file is returned; an endless, missing or non-PEM file fails typed', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, pem);
    expect(readCaFile(ca)).toBe(pem);
    const endless = syncFailure(() => readCaFile('/dev/zero'));
    expect(endless.code).toBe('SIZE_LIMIT_EXCEEDED');
    expect(endless.message).toBe('CA file /dev/zero is larger than 4194304 bytes');
    const missing = syncFailure(() => readCaFile(join(dir, 'absent.pem')));
    expect(missing.code).toBe('IO');
    expect(missing.message).toMatch(/^cannot read CA file /);
    const text = join(dir, 'not-pem');
    writeFileSync(text, 'hello');
    expect(syncFailure(() => readCaFile(text)).code).toBe('INVALID_ARGUMENT');
  });
});
