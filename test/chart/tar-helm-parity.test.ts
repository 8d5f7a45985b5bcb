// Hostile tar headers on which tar-stream and Go's archive/tar (Helm's reader) used to
// disagree. Each case was run through `helm template` (Helm v4.1.4); the expectations
// are Helm's reading, or a refusal where chartproof cannot read it the same way.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadChartArchive } from '../../src/chart/load.js';
import { ChartproofError } from '../../src/errors.js';

interface HeaderOptions {
  size?: number;
  typeflag?: string;
  mode?: number;
  magic?: string;
  version?: string;
  prefix?: string;
  /** Raw bytes written at an offset before the checksum is computed. */
  raw?: [number, string][];
}

const octal = (value: number, width: number) => `${value.toString(8).padStart(width - 1, '0')}\0`;

function header(name: string, o: HeaderOptions = {}): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 'latin1');
  b.write(octal(o.mode ?? 0o644, 8), 100, 'latin1');
  b.write(octal(0, 8), 108, 'latin1');
  b.write(octal(0, 8), 116, 'latin1');
  b.write(octal(o.size ?? 0, 12), 124, 'latin1');
  b.write(octal(1_700_000_000, 12), 136, 'latin1');
  b.write(o.typeflag ?? '0', 156, 'latin1');
  b.write(o.magic ?? 'ustar\0', 257, 'latin1');
  b.write(o.version ?? '00', 263, 'latin1');
  if (o.prefix) b.write(o.prefix, 345, 'latin1');
  for (const [offset, text] of o.raw ?? []) b.write(text, offset, 'latin1');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

const padded = (data: Buffer) => Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);

function file(name: string, text: string, o: HeaderOptions = {}): Buffer {
  const data = Buffer.from(text);
  return Buffer.concat([header(name, { ...o, size: data.length }), padded(data)]);
}

function pax(records: [string, string][], typeflag = 'x'): Buffer {
  let body = '';
  for (const [k, v] of records) {
    const line = ` ${k}=${v}\n`;
    let n = line.length + 1;
    while (String(n).length + line.length !== n) n++;
    body += `${n}${line}`;
  }
  return file('chart/PaxHeaders/x', body, { typeflag });
}

function longName(name: string): Buffer {
  return file('././@LongLink', `${name}\0`, { typeflag: 'L', magic: 'ustar ', version: ' \0' });
}

const EOA = Buffer.alloc(1024);
const CHART = 'apiVersion: v2\nname: chart\nversion: 0.1.0\n';
const TEMPLATE = 'kind: ConfigMap\n';
const base = () => [file('chart/Chart.yaml', CHART)];
const tgz = (...parts: Buffer[]) => new Uint8Array(gzipSync(Buffer.concat(parts)));

const names = async (archive: Uint8Array) => {
  const chart = await loadChartArchive(archive);
  return {
    templates: chart.templates.map((t) => t.name),
    files: chart.files.map((f) => f.name),
    values: chart.values,
  };
};

async function refused(archive: Uint8Array, message: RegExp): Promise<void> {
  const err = await loadChartArchive(archive).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ChartproofError);
  expect((err as ChartproofError).code).toBe('CHART_INVALID');
  expect((err as ChartproofError).message).toMatch(message);
}

describe("tar headers read as Helm's Go reader reads them", () => {
  it('ignores entries after the end-of-archive blocks, as Helm does', async () => {
    const archive = tgz(
      ...base(),
      EOA,
      file('chart/values.yaml', 'image: trusted\n'),
      file('chart/templates/b.yaml', TEMPLATE),
      EOA,
    );
    expect(await names(archive)).toEqual({ templates: [], files: [], values: {} });
    // Trailing garbage after the end of the archive is never read by Helm either.
    expect((await names(tgz(...base(), EOA, Buffer.alloc(700, 0x61)))).files).toEqual([]);
  });

  it('refuses a header after a single zero block (Go: invalid header)', async () => {
    await refused(
      tgz(...base(), Buffer.alloc(512), file('chart/templates/z.yaml', TEMPLATE), EOA),
      /zero block/,
    );
  });

  it('does not apply a PAX global header to later entries (Go skips it)', async () => {
    const archive = tgz(
      ...base(),
      pax([['path', 'chart/README.md']], 'g'),
      pax([['mtime', '1700000000']]),
      file('chart/templates/evil.yaml', TEMPLATE),
      EOA,
    );
    expect(await names(archive)).toEqual({ templates: ['templates/evil.yaml'], files: [], values: {} });
  });

  it('refuses a GNU long name and a PAX path on one entry (Go takes the long name)', async () => {
    for (const ext of [
      [longName('chart/templates/evil.yaml'), pax([['path', 'chart/README.md']])],
      [pax([['path', 'chart/README.md']]), longName('chart/templates/evil.yaml')],
    ]) {
      await refused(tgz(...base(), ...ext, file('chart/x', TEMPLATE), EOA), /read differently by Helm/);
    }
  });

  it('refuses PAX GNU sparse files (Go renames them to GNU.sparse.name)', async () => {
    const body = Buffer.concat([padded(Buffer.from(`1\n0\n${TEMPLATE.length}\n`)), Buffer.from(TEMPLATE)]);
    const archive = tgz(
      ...base(),
      pax([
        ['GNU.sparse.major', '1'],
        ['GNU.sparse.minor', '0'],
        ['GNU.sparse.name', 'chart/templates/sparse.yaml'],
        ['GNU.sparse.realsize', String(TEMPLATE.length)],
      ]),
      header('chart/README.md', { size: body.length }),
      padded(body),
      EOA,
    );
    await refused(archive, /sparse files are not supported/);
  });

  it('refuses a STAR header whose 131-byte prefix runs into the time fields', async () => {
    const prefix = `c/${'./'.repeat(60)}templates`;
    expect(prefix).toHaveLength(131);
    const archive = tgz(
      ...base(),
      file('star.yaml', TEMPLATE, {
        prefix,
        raw: [
          [476, '00000000000\0'],
          [508, 'tar\0'],
        ],
      }),
      EOA,
    );
    // Helm reads templates/star.yaml; tar-stream read templates00000000000/star.yaml.
    await refused(archive, /STAR prefix/);
  });

  it('refuses an old-GNU header whose prefix Go would use', async () => {
    const archive = tgz(
      ...base(),
      file('chart/g.yaml', TEMPLATE, { magic: 'ustar ', version: ' \0', prefix: 'c/templates' }),
      EOA,
    );
    // Helm reads templates/chart/g.yaml; tar-stream read g.yaml.
    await refused(archive, /GNU header with a prefix/);
  });

  it('skips what Go calls a directory: mode 040000, or type NUL with a trailing slash', async () => {
    const archive = tgz(
      ...base(),
      file('chart/templates/dm.yaml', TEMPLATE, { mode: 0o40644 }),
      header('chart/templates/', { typeflag: '\0' }),
      file('chart/templates/ok.yaml', TEMPLATE),
      EOA,
    );
    expect(await names(archive)).toEqual({ templates: ['templates/ok.yaml'], files: [], values: {} });
    // With data, such a directory is framed differently by the two readers: refused.
    await refused(
      tgz(...base(), file('chart/templates/d/', TEMPLATE, { typeflag: '\0' }), EOA),
      /read differently by Helm|invalid tar header/,
    );
  });
});
