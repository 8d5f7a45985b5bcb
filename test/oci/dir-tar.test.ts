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
