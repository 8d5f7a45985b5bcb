/** The verification policy a mirror spec's `verify` block describes. */
import { readFile } from 'node:fs/promises';
import { ChartproofError } from '../errors.js';
import { messageOf as message } from '../internal/guards.js';
import type { VerificationPolicy } from '../verify/policy.js';
import type { MirrorVerify } from './spec.js';

/**
 * The cosign policy of a `verify` block (a key, or a keyless identity and issuer, with
 * an optional trusted root), or undefined when it names neither (e.g. only a keyring).
 * @throws ChartproofError `IO` for an unreadable key; trusted-root errors
 */
export async function verifyPolicy(v: MirrorVerify | undefined): Promise<VerificationPolicy | undefined> {
  if (!v || (v.key === undefined && v.identity === undefined && v.identityRegExp === undefined))
    return undefined;
  const policy: VerificationPolicy = {};
  if (v.key) {
    try {
      policy.keys = [await readFile(v.key, 'utf8')];
    } catch (e) {
      throw new ChartproofError('IO', `cannot read ${v.key}: ${message(e)}`, { cause: e });
    }
  } else {
    const id: NonNullable<VerificationPolicy['identities']>[number] = {};
    if (v.identity) id.subject = v.identity;
    if (v.identityRegExp) id.subjectRegExp = v.identityRegExp;
    if (v.issuer) id.issuer = v.issuer;
    if (v.issuerRegExp) id.issuerRegExp = v.issuerRegExp;
    policy.identities = [id];
  }
  if (v.trustedRoot) {
    const { loadTrustedRoot } = await import('../verify/trusted-root.js');
    policy.trustedRoot = await loadTrustedRoot(v.trustedRoot);
  }
  if (v.insecureIgnoreTlog) policy.tlog = 'skip';
  return policy;
}
