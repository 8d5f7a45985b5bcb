/**
 * The verification policy shared by chartproof's signature verifiers: which keys or
 * certificate identities are trusted, which trust root anchors keyless signatures and
 * transparency-log proofs, how the transparency log is treated, and the cosign check
 * sentences reported on success.
 *
 * References: sigstore/cosign `pkg/cosign/verify.go` (`CheckOpts`, `CheckCertificatePolicy`),
 * `cmd/cosign/cli/verify/verify.go` (check sentences).
 */
import type { KeyObject } from 'node:crypto';
import { ChartproofError } from '../errors.js';

/**
 * How transparency-log entries are treated:
 * - `require` (cosign's default): at least one entry must verify against the trusted root;
 * - `if-present`: entries in the bundle must verify, none is required;
 * - `skip` (cosign `--insecure-ignore-tlog`): entries and their times are ignored.
 * @public
 */
export type TlogMode = 'require' | 'if-present' | 'skip';

/**
 * A trusted certificate identity (keyless signing). Every field that is set must
 * match: `subject` / `issuer` exactly, `subjectRegExp` / `issuerRegExp` as a regular
 * expression over the WHOLE value. The regular expressions are anchored by chartproof
 * (`^(?:…)$`); cosign's Go `MatchString` is unanchored, so chartproof is stricter:
 * `example\.com` does not match `evil-example.com.attacker`. A matcher needs one
 * subject field and one issuer field, as cosign requires both.
 *
 * The subject is the certificate's Subject Alternative Name (URI or e-mail); the issuer
 * is the Fulcio OIDC issuer extension `1.3.6.1.4.1.57264.1.8` (DER UTF8String), or the
 * deprecated `1.3.6.1.4.1.57264.1.1` (raw string) when the former is absent.
 * @public
 */
export interface CertificateIdentity {
  /** Exact Subject Alternative Name. */
  subject?: string;
  /** Regular expression the whole Subject Alternative Name must match. */
  subjectRegExp?: string | RegExp;
  /** Exact OIDC issuer. */
  issuer?: string;
  /** Regular expression the whole OIDC issuer must match. */
  issuerRegExp?: string | RegExp;
}

/**
 * A parsed `trusted_root.json` (media type
 * `application/vnd.dev.sigstore.trustedroot+json;version=0.1`): CAs, transparency logs,
 * CT logs and timestamp authorities in the protobuf-specs JSON form.
 * @public
 */
export type TrustedRootJson = Record<string, unknown>;

/**
 * What a signature must satisfy to be accepted.
 * @public
 */
export interface VerificationPolicy {
  /** Trusted public keys (`KeyObject` or PEM `PUBLIC KEY` text) for key-signed bundles. */
  keys?: Array<KeyObject | string>;
  /** Trusted certificate identities for keyless (Fulcio certificate) bundles; any one may match. */
  identities?: CertificateIdentity[];
  /**
   * The trust root (CAs, Rekor and CT log keys, TSAs). Required except for key-signed
   * bundles verified with `tlog: 'skip'`.
   */
  trustedRoot?: TrustedRootJson;
  /** Transparency-log handling. If unset, `require` (cosign's default) is used. */
  tlog?: TlogMode;
  /**
   * Signatures that must verify. If unset, 1 is used. A Sigstore bundle carries one
   * signature; callers that verify several signatures of one artifact count them against it,
   * each once: copies (the same key over the same content, or the same certificate) count once.
   */
  threshold?: number;
  /** Annotations every accepted signature must carry with exactly these values (cosign `-a k=v`). */
  annotations?: Record<string, string>;
}

/**
 * cosign's check sentences (`cosign verify` stderr), reported for each check performed.
 * @public
 */
export const CHECKS = {
  claims: 'The cosign claims were validated',
  tlogOffline: 'Existence of the claims in the transparency log was verified offline',
  publicKey: 'The signatures were verified against the specified public key',
  certificate: 'The code-signing certificate was verified using trusted certificate authority certificates',
  annotations: 'The specified annotations were verified.',
} as const;

/** One of cosign's check sentences ({@link CHECKS}). @public */
export type Check = (typeof CHECKS)[keyof typeof CHECKS];

/** The checks performed for an accepted signature, in cosign's order. @public */
export type CheckList = Check[];

/** The default transparency-log mode (cosign's). @public */
export const DEFAULT_TLOG_MODE: TlogMode = 'require';

const TLOG_MODES: readonly TlogMode[] = ['require', 'if-present', 'skip'];

/**
 * The policy's threshold, validated.
 * @throws {@link ChartproofError} `INVALID_ARGUMENT` unless it is an integer from 1.
 * @public
 */
export function policyThreshold(policy: VerificationPolicy): number {
  const t = policy.threshold ?? 1;
  if (!Number.isInteger(t) || t < 1) {
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      `policy threshold must be an integer ≥ 1, got ${String(t)}`,
    );
  }
  return t;
}

/** True when `passed` verified signatures satisfy the policy's threshold. @public */
export function meetsThreshold(passed: number, policy: VerificationPolicy): boolean {
  return passed >= policyThreshold(policy);
}

/**
 * The policy's transparency-log mode, validated.
 * @throws {@link ChartproofError} `INVALID_ARGUMENT` for unknown modes.
 * @public
 */
export function policyTlogMode(policy: VerificationPolicy): TlogMode {
  const mode = policy.tlog ?? DEFAULT_TLOG_MODE;
  if (!TLOG_MODES.includes(mode)) {
    throw new ChartproofError('INVALID_ARGUMENT', `unknown tlog mode ${JSON.stringify(mode)}`);
  }
  return mode;
}

/**
 * A regular expression matching the whole value: `^(?:source)$`, without the `g`/`y`
 * flags (which make `test` stateful) and the `m` flag (with which `^`/`$` would match at
 * a line break inside the value).
 * @throws {@link ChartproofError} `INVALID_ARGUMENT` for invalid expressions.
 * @public
 */
export function anchoredRegExp(pattern: string | RegExp): RegExp {
  const source = typeof pattern === 'string' ? pattern : pattern.source;
  const flags = typeof pattern === 'string' ? '' : pattern.flags.replace(/[gmy]/g, '');
  try {
    // The pattern must stand on its own: `a)|(.*` is refused, not wrapped into
    // `^(?:a)|(.*)$`, which would match anything.
    new RegExp(source, flags);
    return new RegExp(`^(?:${source})$`, flags);
  } catch (e) {
    throw new ChartproofError('INVALID_ARGUMENT', `invalid regular expression ${JSON.stringify(source)}`, {
      cause: e,
    });
  }
}

/**
 * Checks that a matcher constrains both the subject and the issuer.
 * @throws {@link ChartproofError} `INVALID_ARGUMENT` otherwise (or for invalid regular expressions).
 * @public
 */
export function assertCertificateIdentity(identity: CertificateIdentity): void {
  if (identity.subject === undefined && identity.subjectRegExp === undefined) {
    throw new ChartproofError('INVALID_ARGUMENT', 'a certificate identity needs a subject or subjectRegExp');
  }
  if (identity.issuer === undefined && identity.issuerRegExp === undefined) {
    throw new ChartproofError('INVALID_ARGUMENT', 'a certificate identity needs an issuer or issuerRegExp');
  }
  if (identity.subjectRegExp !== undefined) anchoredRegExp(identity.subjectRegExp);
  if (identity.issuerRegExp !== undefined) anchoredRegExp(identity.issuerRegExp);
}

/**
 * Why a certificate's subject and issuer do not satisfy `identity`, or `undefined`
 * when they do (exact fields must be equal, regular expressions must match the whole value).
 * @public
 */
export function identityMismatch(
  identity: CertificateIdentity,
  actual: { subject?: string | undefined; issuer?: string | undefined },
): string | undefined {
  const field = (
    name: string,
    value: string | undefined,
    exact: string | undefined,
    re: string | RegExp | undefined,
  ): string | undefined => {
    if (exact !== undefined && value !== exact) {
      return `${name} ${JSON.stringify(value ?? null)} is not ${JSON.stringify(exact)}`;
    }
    if (re !== undefined && (value === undefined || !anchoredRegExp(re).test(value))) {
      return `${name} ${JSON.stringify(value ?? null)} does not match ${String(anchoredRegExp(re))}`;
    }
    return undefined;
  };
  return (
    field('subject', actual.subject, identity.subject, identity.subjectRegExp) ??
    field('issuer', actual.issuer, identity.issuer, identity.issuerRegExp)
  );
}
