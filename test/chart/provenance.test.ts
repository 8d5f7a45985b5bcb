import { commandContext } from '../helpers/cli-io.js';
import { marshalGoYaml } from '../../src/chart/go-yaml.js';
import { HELM_VECTORS as VECTORS } from '../helpers/vectors.js';
import { expectChartproofError as rejects } from '../helpers/expect-error.js';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadChartArchive } from '../../src/chart/load.js';
import { provenanceMessageBlock, signProvenance, verifyProvenance } from '../../src/chart/provenance.js';
import { exitCodeFor } from '../../src/cli/io.js';
import { PROV_COMMAND } from '../../src/cli/prov-command.js';
import { ChartproofError } from '../../src/errors.js';

const HAVE_VECTORS = existsSync(join(VECTORS, 'MANIFEST.md'));
if (!HAVE_VECTORS)
  console.warn(
    `provenance vectors skipped (suites "Helm provenance vectors", "GnuPG interoperability", "chartproof prov"): ${VECTORS} not found (clone shared/ beside the repo)`,
  );
const HAVE_GPG = spawnSync('gpg', ['--version'], { stdio: 'ignore' }).status === 0;
if (!HAVE_GPG) console.warn('provenance gpg interop tests skipped: `gpg` is not installed');

const PROV = 'pkg/provenance/testdata';
const vector = (path: string): Uint8Array => new Uint8Array(readFileSync(join(VECTORS, path)));
const HELM_UID =
  'Helm Testing (This key should only be used for testing. DO NOT TRUST.) <helm-testing@helm.sh>';
const HELM_FPR = '5E615389B53CA37F0EE60BD3843BBF981FC18762';
const HASHTEST_SHA = 'c6841b3a895f1444a6738b5d04564a57e860ce42f8519c3be807fb6d9bee7888';
const SIGNTEST_SHA = 'e5ef611620fb97704d8751c16bab17fedb68883bfb0edc76f78a70e9173f9b55';

describe('marshalGoYaml (sigs.k8s.io/yaml style)', () => {
  it('sorts keys like yaml.v2, quotes ambiguous scalars and leaves sequences unindented', () => {
    const out = marshalGoYaml({
      version: '1.0',
      name: 'n',
      keywords: ['a: b', 'true', "it's", '007'],
      annotations: { b10: 'x', b9: 'y', Z: 'z' },
      maintainers: [{ name: 'me', email: 'me@example.com' }],
      deprecated: true,
      created: '2021-05-02T15:07:22Z',
    });
    expect(out).toBe(
      [
        'annotations:',
        '  Z: z',
        '  b9: "y"',
        '  b10: x',
        'created: "2021-05-02T15:07:22Z"',
        'deprecated: true',
        'keywords:',
        "- 'a: b'",
        '- "true"',
        "- it's",
        '- "007"',
        'maintainers:',
        '- email: me@example.com',
        '  name: me',
        'name: "n"',
        'version: "1.0"',
        '',
      ].join('\n'),
    );
  });

  it('folds long plain scalars past column 80 and writes multi-line text as a literal block', () => {
    const long = 'A chart whose description is long enough that yaml.v2 folds it onto a second line for sure';
    const out = marshalGoYaml({ description: long, notes: 'one\ntwo\n' });
    expect(out).toBe(
      'description: A chart whose description is long enough that yaml.v2 folds it onto a\n' +
        '  second line for sure\nnotes: |\n  one\n  two\n',
    );
  });
});

describe.skipIf(!HAVE_VECTORS)('Helm provenance vectors', () => {
  const pub = () => vector(`${PROV}/helm-test-key.pub`);
  const hashtest = () => vector(`${PROV}/hashtest-1.2.3.tgz`);

  it('builds the message block for hashtest byte-for-byte (msgblock.yaml)', async () => {
    const archive = hashtest();
    const chart = await loadChartArchive(archive);
    expect(chart.digest).toBe(`sha256:${HASHTEST_SHA}`);
    const block = provenanceMessageBlock(chart.metadata, 'hashtest-1.2.3.tgz', HASHTEST_SHA);
    expect(block).toBe(readFileSync(join(VECTORS, PROV, 'msgblock.yaml'), 'utf8'));
  });

  it('marshals metadata like the Chart.yaml files helm package re-marshalled (folded description)', async () => {
    const chart = await loadChartArchive(
      vector('pkg/action/testdata/charts/chart-with-compressed-dependencies-2.1.8.tgz'),
    );
    // The parent is a v1 chart whose loaded metadata also holds requirements.yaml.
    const mariadb = chart.dependencies.find((c) => c.metadata.name === 'mariadb')!;
    const block = provenanceMessageBlock(mariadb.metadata, 'x.tgz', '00');
    expect(block.split('\n...\n')[0]).toBe(new TextDecoder().decode(mariadb.chartYaml));
  });

  it('verifies msgblock.yaml.asc and hashtest-1.2.3.tgz.prov with helm-test-key.pub', async () => {
    for (const prov of ['msgblock.yaml.asc', 'hashtest-1.2.3.tgz.prov']) {
      const result = await verifyProvenance(hashtest(), vector(`${PROV}/${prov}`), pub(), {
        fileName: 'hashtest-1.2.3.tgz',
      });
      expect(result).toEqual({
        signedBy: HELM_UID,
        fingerprint: HELM_FPR,
        chartHash: `sha256:${HASHTEST_SHA}`,
        keyId: '843BBF981FC18762',
      });
    }
  });

  it('rejects the tampered message block', async () => {
    await rejects(
      verifyProvenance(hashtest(), vector(`${PROV}/msgblock.yaml.tampered`), pub()),
      'SIGNATURE_INVALID',
      /signature verification failed/,
    );
  });

  it('gives exactly the values helm verify prints for signtest (CRC24 line, no trailing newline)', async () => {
    const prov = vector('pkg/downloader/testdata/signtest-0.1.0.tgz.prov');
    expect(prov[prov.length - 1]).not.toBe(0x0a);
    const result = await verifyProvenance(vector('pkg/downloader/testdata/signtest-0.1.0.tgz'), prov, pub());
    expect(result.signedBy).toBe(HELM_UID);
    expect(result.fingerprint).toBe(HELM_FPR);
    expect(result.chartHash).toBe(`sha256:${SIGNTEST_SHA}`);
  });

  it('rejects a different archive (DIGEST_MISMATCH) and a missing files: entry', async () => {
    const prov = vector('pkg/downloader/testdata/signtest-0.1.0.tgz.prov');
    await rejects(
      verifyProvenance(hashtest(), prov, pub(), { fileName: 'signtest-0.1.0.tgz' }),
      'DIGEST_MISMATCH',
      /sha256 sum does not match for signtest-0.1.0.tgz/,
    );
    await rejects(verifyProvenance(hashtest(), prov, pub()), 'DIGEST_MISMATCH');
    await rejects(
      verifyProvenance(hashtest(), prov, pub(), { fileName: 'hashtest-1.2.3.tgz' }),
      'CHART_INVALID',
      /does not contain a SHA for a file named "hashtest-1.2.3.tgz"/,
    );
  });

  it('rejects unsigned text and ignores text outside the signed part', async () => {
    await rejects(
      verifyProvenance(hashtest(), vector(`${PROV}/msgblock.yaml`), pub()),
      'CHART_INVALID',
      /signature block not found/,
    );
    const signtest = new TextDecoder().decode(vector('pkg/downloader/testdata/signtest-0.1.0.tgz.prov'));
    const injected = `\n...\nfiles:\n  hashtest-1.2.3.tgz: sha256:${HASHTEST_SHA}\n`;
    for (const prov of [`${signtest}\n${injected}`, `${injected}\n${signtest}`]) {
      const err = await verifyProvenance(hashtest(), prov, pub(), { fileName: 'hashtest-1.2.3.tgz' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ChartproofError);
    }
  });

  it('decrypts the password key with "secret" only, and rejects a signer outside the keyring', async () => {
    const archive = hashtest();
    const { metadata } = await loadChartArchive(archive);
    const secret = vector(`${PROV}/helm-password-key.secret`);
    await rejects(
      signProvenance(archive, 'hashtest-1.2.3.tgz', metadata, secret, { passphrase: 'secrets_and_lies' }),
      'CHART_INVALID',
      /decrypt/,
    );
    await rejects(signProvenance(archive, 'hashtest-1.2.3.tgz', metadata, secret), 'CHART_INVALID');
    const prov = await signProvenance(archive, 'hashtest-1.2.3.tgz', metadata, secret, {
      passphrase: 'secret',
    });
    await rejects(
      verifyProvenance(archive, prov, pub()),
      'SIGNATURE_INVALID',
      /signature verification failed/,
    );
  });

  it('signs with helm-test-key.secret; the mixed keyring names the RSA signer', async () => {
    const archive = hashtest();
    const { metadata } = await loadChartArchive(archive);
    const prov = await signProvenance(
      archive,
      'hashtest-1.2.3.tgz',
      metadata,
      vector(`${PROV}/helm-test-key.secret`),
    );
    expect(prov).toContain(readFileSync(join(VECTORS, PROV, 'msgblock.yaml'), 'utf8'));
    const result = await verifyProvenance(archive, prov, vector(`${PROV}/helm-mixed-keyring.pub`));
    expect(result.signedBy).toBe(HELM_UID);
    expect(result.fingerprint).toBe(HELM_FPR);
    expect(result.chartHash).toBe(`sha256:${HASHTEST_SHA}`);
  });
});

describe.skipIf(!HAVE_VECTORS || !HAVE_GPG)('GnuPG interoperability', () => {
  let home: string;
  const gpg = (...args: string[]) =>
    spawnSync('gpg', ['--batch', '--homedir', home, ...args], { encoding: 'utf8' });

  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'cp-gpg-'));
  });
  afterAll(() => {
    spawnSync('gpgconf', ['--homedir', home, '--kill', 'all'], { stdio: 'ignore' });
    rmSync(home, { recursive: true, force: true });
  });

  it('gpg --verify accepts a .prov we sign', async () => {
    const archive = vector(`${PROV}/hashtest-1.2.3.tgz`);
    const { metadata } = await loadChartArchive(archive);
    const prov = await signProvenance(
      archive,
      'hashtest-1.2.3.tgz',
      metadata,
      vector(`${PROV}/helm-test-key.secret`),
    );
    expect(gpg('--import', join(VECTORS, PROV, 'helm-test-key.pub')).status).toBe(0);
    const file = join(home, 'hashtest-1.2.3.tgz.prov');
    writeFileSync(file, prov);
    const res = gpg('--verify', file);
    expect(res.status, res.stderr).toBe(0);
    expect(res.stderr).toContain('Good signature');
  });

  it('verifies a gpg --clearsign of our message block with a gpg-generated Ed25519 key', async () => {
    const gen = gpg(
      '--passphrase',
      '',
      '--quick-gen-key',
      'Test <t@example.com>',
      'ed25519',
      'sign',
      'never',
    );
    expect(gen.status, gen.stderr).toBe(0);
    const pubKey = execFileSync(
      'gpg',
      ['--batch', '--homedir', home, '--armor', '--export', 't@example.com'],
      {
        encoding: 'utf8',
      },
    );
    const archive = vector('pkg/downloader/testdata/signtest-0.1.0.tgz');
    const { metadata } = await loadChartArchive(archive);
    const block = join(home, 'block.txt');
    writeFileSync(block, provenanceMessageBlock(metadata, 'signtest-0.1.0.tgz', SIGNTEST_SHA));
    const signed = gpg('--local-user', 't@example.com', '--clearsign', '--output', `${block}.asc`, block);
    expect(signed.status, signed.stderr).toBe(0);
    const prov = readFileSync(`${block}.asc`);
    const result = await verifyProvenance(archive, prov, pubKey);
    expect(result.signedBy).toBe('Test <t@example.com>');
    expect(result.fingerprint).toMatch(/^[0-9A-F]{40}$/);
    expect(result.chartHash).toBe(`sha256:${SIGNTEST_SHA}`);
    // The same .prov against Helm's test keyring: unknown signer.
    await rejects(
      verifyProvenance(archive, prov, vector(`${PROV}/helm-test-key.pub`)),
      'SIGNATURE_INVALID',
      /signature verification failed/,
    );
  });
});

describe.skipIf(!HAVE_VECTORS)('chartproof prov', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cp-prov-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const ctx = (args: string[], values: Record<string, unknown>) =>
    commandContext(args, values, { stdin: 'secret\n' });

  const copy = (from: string, name: string): string => {
    const to = join(dir, name);
    writeFileSync(to, vector(from));
    return to;
  };

  it('verify prints exactly what helm verify prints', async () => {
    const tgz = copy('pkg/downloader/testdata/signtest-0.1.0.tgz', 'signtest-0.1.0.tgz');
    copy('pkg/downloader/testdata/signtest-0.1.0.tgz.prov', 'signtest-0.1.0.tgz.prov');
    const t = ctx(['verify', tgz], { keyring: join(VECTORS, PROV, 'helm-test-key.pub') });
    expect(await PROV_COMMAND.run(t.c)).toBe(0);
    expect(t.out()).toBe(
      `Signed by: ${HELM_UID}\nUsing Key With Fingerprint: ${HELM_FPR}\nChart Hash Verified: sha256:${SIGNTEST_SHA}\n`,
    );
  });

  it('verify: missing .prov is exit 2 with Helm message; bad signer is exit 1', async () => {
    const tgz = copy(`${PROV}/hashtest-1.2.3.tgz`, 'hashtest-1.2.3.tgz');
    const t = ctx(['verify', tgz], { keyring: join(VECTORS, PROV, 'helm-test-key.pub') });
    const err = await PROV_COMMAND.run(t.c).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as Error).message).toBe(
      `could not load provenance file ${tgz}.prov: stat ${tgz}.prov: no such file or directory`,
    );
    expect(exitCodeFor(err)).toBe(2);

    copy(`${PROV}/msgblock.yaml.tampered`, 'hashtest-1.2.3.tgz.prov');
    const bad = ctx(['verify', tgz], { keyring: join(VECTORS, PROV, 'helm-test-key.pub') });
    expect(await PROV_COMMAND.run(bad.c)).toBe(1);
    expect(bad.err()).toMatch(/^Error: signature verification failed/);
  });

  it('sign writes FILE.tgz.prov (0644) that verify accepts; passphrase from a file', async () => {
    const tgz = copy(`${PROV}/hashtest-1.2.3.tgz`, 'hashtest-1.2.3.tgz');
    const t = ctx(['sign', tgz], { key: join(VECTORS, PROV, 'helm-test-key.secret') });
    expect(await PROV_COMMAND.run(t.c)).toBe(0);
    expect(t.out()).toBe(`${tgz}.prov\n`);
    expect(statSync(`${tgz}.prov`).mode & 0o777).toBe(0o644);
    const v = ctx(['verify', tgz], { keyring: join(VECTORS, PROV, 'helm-test-key.pub') });
    expect(await PROV_COMMAND.run(v.c)).toBe(0);
    expect(v.out()).toContain(`Chart Hash Verified: sha256:${HASHTEST_SHA}\n`);

    const pass = join(dir, 'pass.txt');
    writeFileSync(pass, 'secret\nignored\n');
    const p = ctx(['sign', tgz], {
      key: join(VECTORS, PROV, 'helm-password-key.secret'),
      'passphrase-file': pass,
    });
    expect(await PROV_COMMAND.run(p.c)).toBe(0);
    const stdin = ctx(['sign', tgz], {
      key: join(VECTORS, PROV, 'helm-password-key.secret'),
      'passphrase-file': '-',
    });
    expect(await PROV_COMMAND.run(stdin.c)).toBe(0);
  });
});

describe('marshalGoYaml edge cases', () => {
  it('never folds keys, quotes leading/trailing spaces and escapes control characters', () => {
    const longKey = `${'word '.repeat(20)}end`;
    expect(marshalGoYaml({ [longKey]: 'v' })).toBe(`${longKey}: v\n`);
    expect(marshalGoYaml({ a: ' x', b: 'x ', c: 'tab\there', d: '', e: '- x', f: 'a #b', g: '~' })).toBe(
      "a: ' x'\nb: 'x '\nc: \"tab\\there\"\nd: \"\"\ne: '- x'\nf: 'a #b'\ng: \"~\"\n",
    );
    expect(marshalGoYaml({ a: [['x', 'y'], []], b: {}, c: 'x\n\n' })).toBe(
      'a:\n- - x\n  - "y"\n- []\nb: {}\nc: |+\n  x\n\n',
    );
  });
});
