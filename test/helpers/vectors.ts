import { describe, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Helm's upstream test vectors, read from `../shared` at test time (never copied here). */
export const HELM_VECTORS = join(process.cwd(), '..', 'shared', 'vectors', 'helm');

/** True when the Helm vectors are present; otherwise prints why `suite` is skipped. */
export function helmVectorsAvailable(suite: string): boolean {
  const ok = existsSync(join(HELM_VECTORS, 'MANIFEST.md'));
  if (!ok) console.warn(`${suite} skipped: Helm vectors not found at ${HELM_VECTORS}`);
  return ok;
}

/** True when `path` (a vector file) exists; otherwise prints why `test` is skipped. */
export function vectorFileAvailable(path: string, test: string): boolean {
  const ok = existsSync(path);
  if (!ok) console.warn(`${test} skipped: ${path} not found (clone shared/ beside the repo)`);
  return ok;
}

/** Sigstore/cosign interop vectors, read from `../shared` at test time (never copied here). */
export const SIGSTORE_VECTORS = join(process.cwd(), '..', 'shared', 'vectors', 'sigstore');

/** True when the sigstore vectors are present; otherwise prints why `suite` is skipped. */
export function sigstoreVectorsAvailable(suite: string): boolean {
  const ok = existsSync(join(SIGSTORE_VECTORS, 'MANIFEST.md'));
  if (!ok) console.warn(`${suite} skipped: sigstore vectors not found at ${SIGSTORE_VECTORS}`);
  return ok;
}

/**
 * `describe` when the vectors are `available`; otherwise a skipped suite whose body is
 * never run, with the reason printed, so a suite may read vector files while it is
 * collected (vitest runs the bodies of `describe.skipIf` suites, which would throw ENOENT
 * on a fresh clone). The skipped placeholder keeps a file whose suites all need vectors
 * from failing as "no test suite found".
 */
export function describeVectors(available: boolean): (name: string, fn: () => void) => void {
  if (available) return (name, fn) => describe(name, fn);
  return (name) => {
    const reason = `${name} skipped: the ../shared vectors it reads are not present (clone shared/ beside the repo)`;
    console.warn(reason);
    describe.skip(name, () => {
      it.skip(reason);
    });
  };
}
