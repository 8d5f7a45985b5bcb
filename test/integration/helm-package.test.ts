/**
 * Packaging and Chart.yaml parity with the real Helm v4.1.4: the same chart directory
 * packaged by both gives the same uncompressed tar stream byte for byte (PAX headers
 * included), and Chart.yaml scalars are read the way Helm reads them.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseChartMetadata } from '../../src/chart/metadata.js';
import { packageChart } from '../../src/chart/package.js';
import { helmAvailable, helmHome } from '../helpers/helm.js';
import { helmOk, writeTree } from '../helpers/helm-peer.js';

const HAVE_HELM = helmAvailable('helm package parity');

describe.skipIf(!HAVE_HELM)('helm package parity (Helm v4.1.4)', () => {
  let root: string;
  let home: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'cp-helm-pkg-'));
    home = helmHome();
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });

  /** Packages `files` as a chart with Helm and with chartproof; returns both tar streams. */
  async function both(name: string, files: Record<string, string>): Promise<{ helm: Buffer; ours: Buffer }> {
    const dir = join(root, name, 'src', name);
    writeTree(dir, files);
    const helmOut = join(root, name, 'helm');
    helmOk(['package', dir, '-d', helmOut], { home });
    const helmTgz = readFileSync(
      join(helmOut, `${name}-${/version: (\S+)/.exec(files['Chart.yaml']!)![1]}.tgz`),
    );
    const ours = await packageChart(dir, { destination: join(root, name, 'ours') });
    return { helm: gunzipSync(helmTgz), ours: gunzipSync(readFileSync(ours.path)) };
  }

  it('writes the same tar stream for non-ASCII and long names (PAX), emoji and 1.10 in Chart.yaml', async () => {
    const long = 'x'.repeat(120);
    const { helm, ours } = await both('paxchart', {
      'Chart.yaml':
        'apiVersion: v2\nname: paxchart\nversion: 0.1.0\nappVersion: 1.10\n' +
        'description: "emoji \\U0001F600 here, NEL\\Nend"\nkeywords: [0x1F, .5, yes]\n',
      'values.yaml': 'replicas: 1\n',
      'templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n',
      'files/héllo wörld.txt': 'hi\n',
      'files/ünïcødé/日本語.txt': 'jp\n',
      [`files/${long}.txt`]: 'long\n',
      [`files/${'d'.repeat(60)}/${'e'.repeat(60)}/split.txt`]: 'split\n',
      [`files/${'ü'.repeat(60)}/x.txt`]: 'wide\n',
    });
    expect(helm.includes(Buffer.from('PaxHeaders.0'))).toBe(true); // the case under test happened
    expect(ours.length).toBe(helm.length);
    expect(ours.equals(helm)).toBe(true);
  });

  it('reads Chart.yaml scalars as `helm show chart` does', () => {
    const cases = [
      '1.10',
      '012',
      '0x1F',
      '1e3',
      '.5',
      '+12',
      'yes',
      '1_000',
      '3.14159265358979',
      '1e6',
      '"1.10"',
    ];
    for (const [i, value] of cases.entries()) {
      const dir = join(root, 'show', String(i));
      writeTree(dir, { 'Chart.yaml': `apiVersion: v2\nname: c\nversion: 0.1.0\nappVersion: ${value}\n` });
      const shown = helmOk(['show', 'chart', dir], { home }).stdout;
      const helmValue = /^appVersion: (.*)$/m.exec(shown)![1]!.replace(/^"(.*)"$/, '$1');
      const ours = parseChartMetadata(readFileSync(join(dir, 'Chart.yaml'))).appVersion;
      expect(ours, `appVersion: ${value}`).toBe(helmValue);
    }
  });
});
