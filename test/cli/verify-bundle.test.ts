import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { captureIo } from '../helpers/cli-io.js';
import { SIGSTORE_VECTORS, sigstoreVectorsAvailable } from '../helpers/vectors.js';

const CONFORMANCE = join(SIGSTORE_VECTORS, 'conformance');
const CASES_DIR = join(CONFORMANCE, 'bundle-verify');
const DEFAULT_IDENTITY =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const DEFAULT_ISSUER = 'https://token.actions.githubusercontent.com';
const V1B = join(SIGSTORE_VECTORS, 'cosign-oci', 'cosign-v3.0.4-bundle-referrer');
const KEYLESS = join(SIGSTORE_VECTORS, 'cosign', 'bundles');

/**
 * Expected non-zero exit codes that are not 1 (verification failure): inputs chartproof
 * rejects before verifying. Printed when they run.
 */
const EXIT_2: Record<string, string> = {
  'managed-key-wrong-key_fail': 'key.pub does not parse (KEY_INVALID, unreadable input)',
  'trust-root-tlog-missing-validity-start_fail':
    'trusted root rejected (tlog validFor.start missing); @sigstore/verify 4.1 alone would accept it',
};

async function cli(argv: string[]) {
  const cap = captureIo();
  const code = await run(argv, cap.io);
  return { code, out: cap.out(), err: cap.err() };
}

/** The conformance protocol's argv for a case (`verify-bundle` as the entrypoint's subcommand). */
function conformanceArgv(name: string, asDigest: boolean): string[] {
  const dir = join(CASES_DIR, name);
  const has = (f: string) => existsSync(join(dir, f));
  const artifact = has('artifact') ? join(dir, 'artifact') : join(CASES_DIR, 'a.txt');
  const argv = ['verify-bundle', '--bundle', join(dir, 'bundle.sigstore.json')];
  if (has('key.pub')) argv.push('--key', join(dir, 'key.pub'));
  else {
    const id = has('identity') ? readFileSync(join(dir, 'identity'), 'utf8').trim() : DEFAULT_IDENTITY;
    const issuer = has('issuer') ? readFileSync(join(dir, 'issuer'), 'utf8').trim() : DEFAULT_ISSUER;
    argv.push('--certificate-identity', id, '--certificate-oidc-issuer', issuer);
  }
  argv.push(
    '--trusted-root',
    has('trusted_root.json')
      ? join(dir, 'trusted_root.json')
      : join(CONFORMANCE, 'production_trusted_root.json'),
  );
  argv.push(
    asDigest ? `sha256:${createHash('sha256').update(readFileSync(artifact)).digest('hex')}` : artifact,
  );
  return argv;
}

describe.skipIf(!sigstoreVectorsAvailable('verify-bundle CLI conformance'))(
  'chartproof verify-bundle: conformance cases',
  () => {
    const names = existsSync(CASES_DIR)
      ? readdirSync(CASES_DIR)
          .filter((n) => statSync(join(CASES_DIR, n)).isDirectory())
          .sort()
      : [];

    it('runs all 70 cases', () => {
      expect(names).toHaveLength(70);
    });

    it.each(names)('%s', async (name) => {
      const r = await cli(conformanceArgv(name, false));
      if (!name.endsWith('_fail')) {
        expect(r.err).toContain('The following checks were performed');
        expect(r.code, r.err).toBe(0);
        expect(JSON.parse(r.out).verified).toBe(true);
        return;
      }
      expect(r.out).toBe('');
      expect(r.err).toMatch(/^Error: /);
      if (EXIT_2[name]) {
        console.warn(`verify-bundle ${name}: exit 2 (documented): ${EXIT_2[name]}`);
        expect(r.code).toBe(2);
      } else {
        expect(r.code, r.err).toBe(1);
      }
    });

    it.each([
      'happy-path-v0.3',
      'happy-path-intoto-in-dsse-v3',
      'managed-key-happy-path',
      'rekor2-happy-path',
      'wrong-material_fail',
      'message-digest-mismatch_fail',
      'dsse-mismatch-sig_fail',
    ])('%s with a sha256:HEX argument', async (name) => {
      const r = await cli(conformanceArgv(name, true));
      expect(r.code, r.err).toBe(name.endsWith('_fail') ? 1 : 0);
    });

    it('accepts --staging with a note', async () => {
      const r = await cli([...conformanceArgv('happy-path-v0.3', false), '--staging']);
      expect(r.code).toBe(0);
      expect(r.err).toContain('--staging is ignored');
    });
  },
);

describe.skipIf(!sigstoreVectorsAvailable('verify-bundle CLI'))('chartproof verify-bundle', () => {
  const digest = () => readFileSync(join(V1B, 'subject-digest.txt'), 'utf8').trim();
  const keyArgs = () => [
    'verify-bundle',
    '--bundle',
    join(V1B, 'bundle-sigstore.json'),
    '--key',
    join(V1B, 'bundle-cosign.pub'),
  ];

  it('verifies the cosign v3 bundle with the tlog and prints cosign-style checks', async () => {
    const r = await cli([
      ...keyArgs(),
      '--trusted-root',
      join(CONFORMANCE, 'production_trusted_root.json'),
      digest(),
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe(
      `Verification for ${digest()} --\nThe following checks were performed on each of these signatures:\n` +
        '  - The cosign claims were validated\n' +
        '  - Existence of the claims in the transparency log was verified offline\n' +
        '  - The signatures were verified against the specified public key\n',
    );
    const result = JSON.parse(r.out);
    expect(result.signer.kind).toBe('key');
    expect(result.tlogEntries).toBe(1);
  });

  it('--insecure-ignore-tlog needs no trusted root and warns', async () => {
    const r = await cli([...keyArgs(), '--insecure-ignore-tlog', digest()]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/^WARNING: Skipping tlog verification/);
    expect(r.err).not.toContain('transparency log was verified');
  });

  it('checks annotations (-a)', async () => {
    const r = await cli([...keyArgs(), '--insecure-ignore-tlog', '-a', 'env=prod', digest()]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/annotation/);
  });

  it('fails with exit 1 for another digest', async () => {
    const r = await cli([...keyArgs(), '--insecure-ignore-tlog', `sha256:${'a'.repeat(64)}`]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no in-toto subject/);
  });

  it('refuses to run without a trusted root unless asked (no network)', async () => {
    const r = await cli([...keyArgs(), digest()]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--trusted-root FILE .* or --tuf/);
  });

  it('keyless: exact and regexp identities', async () => {
    const base = [
      'verify-bundle',
      '--bundle',
      join(KEYLESS, 'oci-attestation.sigstore.json'),
      '--trusted-root',
      join(KEYLESS, 'trusted_root_pgi.json'),
    ];
    const payload = JSON.parse(
      Buffer.from(
        JSON.parse(readFileSync(join(KEYLESS, 'oci-attestation.sigstore.json'), 'utf8')).dsseEnvelope.payload,
        'base64',
      ).toString(),
    );
    const d = `sha256:${payload.subject[0].digest.sha256}`;
    const ok = await cli([
      ...base,
      '--certificate-identity',
      'cody@soyland.com',
      '--certificate-oidc-issuer',
      'https://github.com/login/oauth',
      d,
    ]);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.err).toContain(
      'The code-signing certificate was verified using trusted certificate authority certificates',
    );
    const re = await cli([
      ...base,
      '--certificate-identity-regexp',
      '.*@soyland\\.com',
      '--certificate-oidc-issuer',
      'https://github.com/login/oauth',
      d,
    ]);
    expect(re.code, re.err).toBe(0);
    const partial = await cli([
      ...base,
      '--certificate-identity-regexp',
      'cody',
      '--certificate-oidc-issuer',
      'https://github.com/login/oauth',
      d,
    ]);
    expect(partial.code).toBe(1);
    const wrongIssuer = await cli([
      ...base,
      '--certificate-identity',
      'cody@soyland.com',
      '--certificate-oidc-issuer',
      'https://accounts.google.com',
      d,
    ]);
    expect(wrongIssuer.code).toBe(1);
  });

  it('usage errors and unreadable inputs exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chartproof-vb-'));
    writeFileSync(join(dir, 'broken.json'), '{"mediaType":');
    const cases: string[][] = [
      ['verify-bundle', digest()],
      [...keyArgs()],
      [
        ...keyArgs(),
        '--certificate-identity',
        'x',
        '--certificate-oidc-issuer',
        'y',
        '--insecure-ignore-tlog',
        digest(),
      ],
      [
        'verify-bundle',
        '--bundle',
        join(V1B, 'bundle-sigstore.json'),
        '--certificate-identity',
        'x',
        digest(),
      ],
      [...keyArgs(), '--insecure-ignore-tlog', join(dir, 'missing-artifact')],
      [
        'verify-bundle',
        '--bundle',
        join(dir, 'missing.json'),
        '--key',
        join(V1B, 'bundle-cosign.pub'),
        '--insecure-ignore-tlog',
        digest(),
      ],
      [...keyArgs(), '--trusted-root', join(dir, 'broken.json'), digest()],
    ];
    for (const argv of cases) {
      const r = await cli(argv);
      expect(r.code, `${argv.join(' ')}\n${r.err}`).toBe(2);
      expect(r.err).toMatch(/Error: /);
    }
  });

  it('a malformed bundle is a verification failure (exit 1), not a crash', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chartproof-vb-'));
    writeFileSync(
      join(dir, 'bundle.json'),
      '{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "verif',
    );
    const r = await cli([
      'verify-bundle',
      '--bundle',
      join(dir, 'bundle.json'),
      '--key',
      join(V1B, 'bundle-cosign.pub'),
      '--insecure-ignore-tlog',
      digest(),
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/malformed bundle/);
  });
});
