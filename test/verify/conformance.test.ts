import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChartproofError } from '../../src/errors.js';
import { type VerificationPolicy, verifySigstoreBundle } from '../../src/verify/index.js';
import { SIGSTORE_VECTORS, sigstoreVectorsAvailable } from '../helpers/vectors.js';

const CONFORMANCE = join(SIGSTORE_VECTORS, 'conformance');
const CASES_DIR = join(CONFORMANCE, 'bundle-verify');
const DEFAULT_IDENTITY =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const DEFAULT_ISSUER = 'https://token.actions.githubusercontent.com';

/**
 * Cases where chartproof's outcome is not produced by `@sigstore/verify` alone; the
 * reason is printed when the case runs. MANIFEST.md lists two misses of
 * @sigstore/verify 3.1.1: `rekor2-dsse-happy-path` (fixed in 4.x, so it is a plain pass
 * here) and `trust-root-tlog-missing-validity-start_fail`, which 4.1 still accepts; our
 * trusted-root validation rejects it (INVALID_ARGUMENT), so it fails as the suite requires.
 */
const DEVIATIONS: Record<string, { code: string; reason: string }> = {
  'trust-root-tlog-missing-validity-start_fail': {
    code: 'INVALID_ARGUMENT',
    reason:
      '@sigstore/verify 4.1 treats the missing validFor.start as unbounded and would PASS; chartproof rejects the trusted root',
  },
  'managed-key-wrong-key_fail': {
    code: 'KEY_INVALID',
    reason: 'the case key.pub is not a parsable key: it fails while loading the policy, not in verification',
  },
};

function caseNames(): string[] {
  if (!existsSync(CASES_DIR)) return [];
  return readdirSync(CASES_DIR)
    .filter((n) => statSync(join(CASES_DIR, n)).isDirectory())
    .sort();
}

/** The inputs of a conformance case, per bundle-verify/README.md. */
export function conformanceCase(name: string) {
  const dir = join(CASES_DIR, name);
  const file = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f)) : undefined);
  const key = file('key.pub')?.toString('utf8');
  const rootPath = existsSync(join(dir, 'trusted_root.json'))
    ? join(dir, 'trusted_root.json')
    : join(CONFORMANCE, 'production_trusted_root.json');
  const artifactPath = existsSync(join(dir, 'artifact')) ? join(dir, 'artifact') : join(CASES_DIR, 'a.txt');
  return {
    dir,
    bundlePath: join(dir, 'bundle.sigstore.json'),
    bundleText: readFileSync(join(dir, 'bundle.sigstore.json'), 'utf8'),
    artifactPath,
    artifact: new Uint8Array(readFileSync(artifactPath)),
    rootPath,
    trustedRoot: JSON.parse(readFileSync(rootPath, 'utf8')) as Record<string, unknown>,
    key,
    identity: file('identity')?.toString('utf8').trim() ?? DEFAULT_IDENTITY,
    issuer: file('issuer')?.toString('utf8').trim() ?? DEFAULT_ISSUER,
    // Every case with key.pub is key-based; managed-key-no-key_fail is key-signed but has no key.pub.
    expectPass: !name.endsWith('_fail'),
  };
}

function policyFor(c: ReturnType<typeof conformanceCase>): VerificationPolicy {
  return c.key
    ? { keys: [c.key], trustedRoot: c.trustedRoot }
    : { identities: [{ subject: c.identity, issuer: c.issuer }], trustedRoot: c.trustedRoot };
}

describe.skipIf(!sigstoreVectorsAvailable('sigstore-conformance bundle-verify'))(
  'sigstore-conformance bundle-verify (verifySigstoreBundle)',
  () => {
    const names = caseNames();

    it('has all 70 cases', () => {
      expect(names).toHaveLength(70);
    });

    it.each(names)('%s', (name) => {
      const c = conformanceCase(name);
      const run = () => verifySigstoreBundle(c.bundleText, { artifact: c.artifact, policy: policyFor(c) });
      const deviation = DEVIATIONS[name];
      if (c.expectPass) {
        const result = run();
        expect(result.verified).toBe(true);
        expect(result.signer.kind).toBe(c.key ? 'key' : 'certificate');
        if (!c.key) {
          expect(result.signer.subject).toBe(c.identity);
          expect(result.signer.issuer).toBe(c.issuer);
        }
        return;
      }
      let err: unknown;
      try {
        run();
      } catch (e) {
        err = e;
      }
      expect(err, 'verification must fail').toBeInstanceOf(ChartproofError);
      if (deviation) {
        console.warn(`conformance ${name}: documented deviation: ${deviation.reason}`);
        expect((err as ChartproofError).code).toBe(deviation.code);
      } else {
        expect((err as ChartproofError).code).toBe('SIGNATURE_INVALID');
      }
    });

    it('the same cases also verify when only the artifact digest is given', () => {
      // Digest-only verification: DSSE subject match, or the message digest plus a
      // pre-hashed signature check (node:crypto cannot verify pre-hashed ECDSA).
      const mismatches: string[] = [];
      for (const name of names) {
        const c = conformanceCase(name);
        const digest = `sha256:${createHash('sha256').update(c.artifact).digest('hex')}`;
        let passed: boolean;
        try {
          verifySigstoreBundle(c.bundleText, { digest, policy: policyFor(c) });
          passed = true;
        } catch (e) {
          expect(e).toBeInstanceOf(ChartproofError);
          passed = false;
        }
        if (passed !== c.expectPass) mismatches.push(name);
      }
      expect(mismatches).toEqual([]);
    });
  },
);
