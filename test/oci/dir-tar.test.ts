import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { packDirectory, unpackTar } from '../../src/oci/dir-tar.js';
import { expectChartproofError } from '../helpers/expect-error.js';
import { header, pax, rawTar } from '../helpers/tar-blocks.js';

const root = mkdtempSync(join(tmpdir(), 'cp-dirtar-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `d${n++}`);

/** A tar built entry by entry, for hostile cases. */
async function tarOf(
  entries: Array<{
    name: string;
    type?: tar.Header['type'];
    body?: string;
    linkname?: string;
    size?: number;
  }>,
): Promise<string> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  for (const e of entries) {
    const header: Partial<tar.Header> & { name: string } = {
      name: e.name,
      type: e.type ?? 'file',
      mode: 0o644,
    };
    if (e.linkname) header.linkname = e.linkname;
    pack.entry(header as tar.Header, e.body ?? '');
  }
  pack.finalize();
  await done;
  const file = join(root, `t${n++}.tar`);
  writeFileSync(file, Buffer.concat(chunks));
  return file;
}

describe('directory tar (air-gap transport)', () => {
  it('packs reproducibly and unpacks the same tree', async () => {
    const src = fresh();
    mkdirSync(join(src, 'b', 'blobs', 'sha256'), { recursive: true });
    writeFileSync(join(src, 'a.json'), '{"a":1}');
    writeFileSync(join(src, 'b', 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    writeFileSync(join(src, 'b', 'blobs', 'sha256', 'ff'), Buffer.alloc(70_000, 7));
    const t1 = join(root, 'one.tar');
    const t2 = join(root, 'two.tar');
    await packDirectory(src, t1);
    await packDirectory(src, t2);
    expect(readFileSync(t1).equals(readFileSync(t2))).toBe(true);
    const out = fresh();
    await unpackTar(t1, out);
    expect(readFileSync(join(out, 'a.json'), 'utf8')).toBe('{"a":1}');
    expect(readFileSync(join(out, 'b', 'blobs', 'sha256', 'ff')).equals(Buffer.alloc(70_000, 7))).toBe(true);
    expect(readdirSync(out).sort()).toEqual(['a.json', 'b']);
  });

  it('refuses links and special files when packing', async () => {
    const src = fresh();
    mkdirSync(src);
    symlinkSync('/etc/passwd', join(src, 'link'));
    await expectChartproofError(
      packDirectory(src, join(root, 'never.tar')),
      'INVALID_ARGUMENT',
      /not a regular/,
    );
    expect(readdirSync(root).some((f) => f.startsWith('never.tar'))).toBe(false);
  });

  it.each([
    ['a parent-directory path', [{ name: '../escape', body: 'x' }], /unsafe path/],
    ['an absolute path', [{ name: '/tmp/abs', body: 'x' }], /unsafe path/],
    ['a symlink', [{ name: 'l', type: 'symlink' as const, linkname: '/etc/passwd' }], /is a symlink/],
    ['a hard link', [{ name: 'h', type: 'link' as const, linkname: 'a' }], /is a link/],
    [
      'a duplicate entry',
      [
        { name: 'a', body: '1' },
        { name: 'a', body: '2' },
      ],
      /duplicate entry/,
    ],
    ['a drive-letter path', [{ name: 'C:/x', body: 'x' }], /unsafe path/],
    [
      'an entry inside a file',
      [
        { name: 'a', body: '1' },
        { name: 'a/b', body: '2' },
      ],
      /"a\/b" is inside "a", which is a file/,
    ],
    [
      'a file where an earlier entry made a directory',
      [
        { name: 'a/b', body: '1' },
        { name: 'a', body: '2' },
      ],
      /"a" is a file where another entry has a directory/,
    ],
  ])('refuses %s when unpacking, writing nothing outside the target', async (_what, entries, message) => {
    const file = await tarOf(entries);
    const out = fresh();
    await expectChartproofError(unpackTar(file, out), 'INVALID_ARGUMENT', message);
    expect(readdirSync(root).includes('escape')).toBe(false);
  });

  it('bounds entries and sizes, and refuses what is not a tar or a non-empty target', async () => {
    const many = await tarOf([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
    await expectChartproofError(unpackTar(many, fresh(), { maxEntries: 2 }), 'SIZE_LIMIT_EXCEEDED');
    const big = await tarOf([{ name: 'a', body: 'x'.repeat(100) }]);
    await expectChartproofError(unpackTar(big, fresh(), { maxFileBytes: 99 }), 'SIZE_LIMIT_EXCEEDED');
    const notTar = join(root, 'not.tar');
    writeFileSync(notTar, 'this is not a tar file at all '.repeat(40));
    await expectChartproofError(unpackTar(notTar, fresh()), 'INVALID_ARGUMENT', /not a readable tar/);
    await expectChartproofError(unpackTar(join(root, 'missing.tar'), fresh()), 'NOT_FOUND');
    const busy = fresh();
    mkdirSync(busy);
    writeFileSync(join(busy, 'x'), '');
    await expectChartproofError(unpackTar(big, busy), 'INVALID_ARGUMENT', /not empty/);
  });
});

describe('unpacking hostile and re-packed tars', () => {
  const write = (buf: Buffer) => {
    const file = join(root, `raw${n++}.tar`);
    writeFileSync(file, buf);
    return file;
  };

  it('stops a 100 100-entry tar at the entry cap before writing anything', async () => {
    // Header-only entries (empty files): 100 100 × 512 bytes, validated without extracting.
    // One template header, its name's digits and checksum patched per entry.
    const count = 100_100;
    const template = header('f/000000', 0);
    const digitsAt = 2;
    // The byte sum without the checksum field (which counts as eight spaces).
    const base = template.reduce((a, b) => a + b, 0) - template.subarray(148, 156).reduce((a, b) => a + b, 0);
    const buf = Buffer.alloc((count + 2) * 512);
    for (let i = 0; i < count; i++) {
      const at = i * 512;
      template.copy(buf, at);
      const digits = String(i).padStart(6, '0');
      buf.write(digits, at + digitsAt, 'latin1');
      let sum = base + 8 * 0x20 - 6 * 0x30;
      for (let k = 0; k < 6; k++) sum += digits.charCodeAt(k);
      buf.write(`${sum.toString(8).padStart(6, '0')}\0 `, at + 148, 'latin1');
    }
    const file = write(buf);
    const out = fresh();
    await expectChartproofError(unpackTar(file, out), 'SIZE_LIMIT_EXCEEDED', /more than 100000 entries/);
    expect(readdirSync(out)).toEqual([]);
  });

  it('refuses 1 TiB declared sizes (base-256 and PAX) and oversized extension headers before allocating', async () => {
    const tib = 1024n ** 4n;
    for (const buf of [
      rawTar([{ name: 'big', size: tib }]),
      rawTar([
        { name: 'PaxHeader', type: 'x', body: pax({ size: String(tib) }) },
        { name: 'big', size: 0 },
      ]),
    ]) {
      const out = fresh();
      await expectChartproofError(
        unpackTar(write(buf), out),
        'SIZE_LIMIT_EXCEEDED',
        /declares 1099511627776 bytes/,
      );
      expect(readdirSync(out)).toEqual([]);
    }
    const hugePax = Buffer.concat([header('PaxHeader', 1024 ** 3, 'x'), Buffer.alloc(1024)]);
    await expectChartproofError(unpackTar(write(hugePax), fresh()), 'SIZE_LIMIT_EXCEEDED', /PAX header/);
    const longName = Buffer.concat([header('././@LongLink', 1024 ** 3, 'L'), Buffer.alloc(1024)]);
    await expectChartproofError(unpackTar(write(longName), fresh()), 'SIZE_LIMIT_EXCEEDED', /long-name/);
    // A declared size past the end of the file is a truncated tar, whatever the limit.
    const truncated = rawTar([{ name: 'a', size: 4096 }]);
    await expectChartproofError(unpackTar(write(truncated), fresh()), 'INVALID_ARGUMENT', /truncated/);
  });

  it('accepts ./ prefixes (with the ./ entry itself), PAX paths and GNU long names', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(120)}`;
    const file = write(
      rawTar([
        { name: './', type: '5' },
        { name: './a/', type: '5' },
        { name: './a/b', body: 'bee' },
        { name: 'PaxHeader', type: 'x', body: pax({ path: `./${long}` }) },
        { name: 'ignored', body: 'pax' },
        { name: '././@LongLink', type: 'L', body: `./gnu/${long}\0` },
        { name: 'truncated-name', body: 'gnu' },
      ]),
    );
    const out = fresh();
    await unpackTar(file, out);
    expect(readFileSync(join(out, 'a', 'b'), 'utf8')).toBe('bee');
    expect(readFileSync(join(out, long), 'utf8')).toBe('pax');
    expect(readFileSync(join(out, 'gnu', long), 'utf8')).toBe('gnu');
  });

  it.each([
    ['./../escape', [{ name: './../escape', body: 'x' }], /unsafe path/],
    ['a/../../escape', [{ name: 'a/../../escape', body: 'x' }], /unsafe path/],
    ['a file named ./', [{ name: './', body: 'x' }], /unsafe path/],
    [
      'a duplicate after normalising',
      [
        { name: 'a', body: '1' },
        { name: './a', body: '2' },
      ],
      /duplicate entry/,
    ],
    ['a FIFO entry', [{ name: './p', type: '6' }], /is a fifo/],
    ['a device entry', [{ name: './d', type: '3' }], /is a character-device/],
  ])('still refuses %s, writing nothing', async (_what, entries, message) => {
    const out = fresh();
    await expectChartproofError(unpackTar(write(rawTar(entries)), out), 'INVALID_ARGUMENT', message);
    expect(readdirSync(out)).toEqual([]);
    expect(readdirSync(root).includes('escape')).toBe(false);
  });

  it('refuses a FIFO as the tar file without blocking on it', async () => {
    const fifo = join(root, `fifo${n++}.tar`);
    execFileSync('mkfifo', [fifo]);
    await expectChartproofError(unpackTar(fifo, fresh()), 'INVALID_ARGUMENT', /not a regular file/);
  });

  const hasTar = (() => {
    try {
      execFileSync('tar', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      console.warn('system tar re-pack test skipped: no tar on PATH');
      return false;
    }
  })();
  it.skipIf(!hasTar)(
    'unpacks what the system tar packs from inside the directory (tar -cf x.tar .)',
    async () => {
      const src = fresh();
      mkdirSync(join(src, 'nginx', 'blobs', 'sha256'), { recursive: true });
      writeFileSync(join(src, 'chartproof-mirror.json'), '{}');
      writeFileSync(join(src, 'nginx', 'blobs', 'sha256', 'a'.repeat(64)), Buffer.alloc(3000, 1));
      for (const format of ['gnu', 'posix', 'ustar']) {
        const file = join(root, `retar-${format}-${n++}.tar`);
        execFileSync('tar', [`--format=${format}`, '-cf', file, '.'], { cwd: src });
        const listing = execFileSync('tar', ['-tf', file]).toString();
        expect(listing.split('\n')).toContain('./');
        const out = fresh();
        await unpackTar(file, out);
        expect(readdirSync(out).sort()).toEqual(['chartproof-mirror.json', 'nginx']);
        expect(readFileSync(join(out, 'nginx', 'blobs', 'sha256', 'a'.repeat(64))).length).toBe(3000);
      }
    },
  );
});
