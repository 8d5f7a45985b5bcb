/**
 * Chart versions the way Helm reads them: one grammar (Masterminds/semver's lenient
 * `NewVersion` and its strict subset `StrictNewVersion`), one constraint syntax
 * (Masterminds constraints evaluated with node-semver), one ordering, and Helm's OCI
 * tag mapping (`+` is written `_`). Charts, locks, mirror plans, drift and air-gap
 * imports all resolve and match versions here.
 *
 * Where chartproof differs from Helm (documented in docs/charts.md):
 * - a version part above `Number.MAX_SAFE_INTEGER` (Helm: up to 2^64-1), or a version
 *   longer than 256 characters, cannot be ordered or matched: it never satisfies a
 *   constraint, and tag lists leave it out;
 * - tags of equal precedence (they differ only in build metadata) are ordered by their
 *   text, descending, where Helm's (unstable) sort leaves the order undefined.
 */
// The four modules used, not the package entry (which loads all of semver's ~50 files,
// ~10 ms more at start); semver documents loading single functions this way.
import compare from 'semver/functions/compare.js';
import satisfies from 'semver/functions/satisfies.js';
import valid from 'semver/functions/valid.js';
import Range from 'semver/classes/range.js';
import { ChartproofError } from '../errors.js';

// ---------------------------------------------------------------------------------------
// Grammar
// ---------------------------------------------------------------------------------------

/**
 * Masterminds `NewVersion`: optional `v`, one to three numeric parts, optional
 * prerelease and build metadata (dot-separated, non-empty identifiers).
 */
const LENIENT =
  /^(v?)([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;
const MAX_UINT64 = 18446744073709551615n;

/** A version split into its parts as Masterminds reads it. */
interface VersionParts {
  v: boolean;
  major: string;
  minor: string | undefined;
  patch: string | undefined;
  prerelease: string | undefined;
  build: string | undefined;
}

/** The parts of a Masterminds `NewVersion` version, or undefined when it does not parse. */
function parseParts(version: string): VersionParts | undefined {
  if (typeof version !== 'string') return undefined;
  const m = LENIENT.exec(version);
  if (!m) return undefined;
  const parts: VersionParts = {
    v: m[1] === 'v',
    major: m[2]!,
    minor: m[3],
    patch: m[4],
    prerelease: m[5],
    build: m[6],
  };
  for (const n of [parts.major, parts.minor, parts.patch])
    if (n !== undefined && BigInt(n) > MAX_UINT64) return undefined;
  // A numeric prerelease identifier must not start with 0 (build metadata may).
  if (parts.prerelease?.split('.').some((id) => /^0[0-9]+$/.test(id))) return undefined;
  return parts;
}

const leadingZero = (n: string | undefined) => n !== undefined && n.length > 1 && n.startsWith('0');

/**
 * True when `version` parses with Masterminds' lenient `NewVersion` (Helm's rule for
 * `Chart.yaml` versions and for "is this an explicit version, not a range").
 * @internal
 */
export function isLenientSemver(version: string): boolean {
  return parseParts(version) !== undefined;
}

/**
 * True when `version` passes Masterminds `StrictNewVersion` (`X.Y.Z[-pre][+meta]`, no
 * `v`, no leading zeros): the versions Helm accepts as chart tags of an OCI repository.
 * @internal
 */
export function isStrictVersion(version: string): boolean {
  const p = parseParts(version);
  return (
    p !== undefined &&
    !p.v &&
    p.minor !== undefined &&
    p.patch !== undefined &&
    !leadingZero(p.major) &&
    !leadingZero(p.minor) &&
    !leadingZero(p.patch)
  );
}

/** True when `version` parses and has a prerelease part (`1.0.0-rc.1`). @internal */
export function isPrerelease(version: string): boolean {
  return parseParts(version)?.prerelease !== undefined;
}

/**
 * The canonical form of a Masterminds version for comparing and matching (`v1.2` →
 * `1.2.0`, `01.2.3` → `1.2.3`; build metadata dropped, since precedence ignores it),
 * or undefined when it does not parse or cannot be ordered (see the module notes).
 * @internal
 */
export function normalizeVersion(version: string): string | undefined {
  const p = parseParts(version);
  if (!p) return undefined;
  const num = (n: string | undefined) => BigInt(n ?? '0').toString();
  const pre = p.prerelease === undefined ? '' : `-${p.prerelease}`;
  const build = p.build === undefined ? '' : `+${p.build}`;
  // node-semver checks the length with the build metadata, then drops it.
  return valid(`${num(p.major)}.${num(p.minor)}.${num(p.patch)}${pre}${build}`) ?? undefined;
}

/**
 * Orders two versions by precedence (Masterminds `Compare`: build metadata ignored); a
 * version that cannot be ordered sorts before every one that can.
 * @internal
 */
export function compareVersions(a: string, b: string): number {
  const va = normalizeVersion(a);
  const vb = normalizeVersion(b);
  if (va === undefined || vb === undefined) return (va === undefined ? 0 : 1) - (vb === undefined ? 0 : 1);
  return compare(va, vb);
}

// ---------------------------------------------------------------------------------------
// Constraints
// ---------------------------------------------------------------------------------------

/** A parsed version constraint. @internal */
export interface VersionConstraint {
  range: Range;
  /** The constraint names a prerelease itself: then prereleases may satisfy it (Masterminds). */
  namesPrerelease: boolean;
}

// A prerelease written in the constraint text (node-semver's desugared comparators
// such as `<2.0.0-0` must not count).
const PRERELEASE_IN_RANGE = /(?:^|[^0-9A-Za-z.+-])v?[0-9]+(?:\.(?:[0-9]+|[xX*])){0,2}-[0-9A-Za-z]/;

/**
 * Parses a Masterminds-style version constraint (commas mean AND; empty means any) into
 * a node-semver range, and tells whether the constraint itself names a prerelease.
 * @throws ChartproofError `INVALID_ARGUMENT` (`improper constraint: …`)
 * @internal
 */
export function parseVersionConstraint(wanted: string): VersionConstraint {
  const constraint = wanted === '' ? '*' : wanted.replace(/\s*,\s*/g, ' ');
  try {
    return { range: new Range(constraint), namesPrerelease: PRERELEASE_IN_RANGE.test(constraint) };
  } catch (e) {
    throw new ChartproofError('INVALID_ARGUMENT', `improper constraint: ${wanted}`, { cause: e });
  }
}

/**
 * Whether `version` (any Masterminds version) satisfies the constraint. Prereleases
 * satisfy it only when the constraint names one or with `includePrerelease`.
 * @internal
 */
export function satisfiesConstraint(
  version: string,
  constraint: VersionConstraint,
  includePrerelease = false,
): boolean {
  const v = normalizeVersion(version);
  return (
    v !== undefined &&
    satisfies(v, constraint.range, {
      includePrerelease: includePrerelease || constraint.namesPrerelease,
    })
  );
}

/**
 * The items whose version satisfies the constraint, newest first; items of equal
 * precedence keep their order (Helm takes the first match of its sorted list).
 * @internal
 */
export function matchingVersions<T>(
  items: Iterable<T>,
  versionOf: (item: T) => string,
  constraint: VersionConstraint,
  includePrerelease = false,
): T[] {
  return [...items]
    .filter((i) => satisfiesConstraint(versionOf(i), constraint, includePrerelease))
    .sort((a, b) => compareVersions(versionOf(b), versionOf(a)));
}

// ---------------------------------------------------------------------------------------
// OCI tags
// ---------------------------------------------------------------------------------------

/** The OCI tag Helm uses for a chart version: `+` (invalid in tags) becomes `_`. @public */
export function ociTagForVersion(version: string): string {
  return version.replaceAll('+', '_');
}

/** The chart version a Helm OCI tag stands for: `_` becomes `+`. @public */
export function versionForOciTag(tag: string): string {
  return tag.replaceAll('_', '+');
}

/** A tag of an OCI chart repository and the chart version it stands for. @internal */
export interface TaggedVersion {
  tag: string;
  version: string;
}

/**
 * The chart versions among a repository's tags, as Helm's registry client lists them:
 * `_` read as `+`, only `StrictNewVersion` versions kept (and only those that can be
 * ordered), newest first (ties: tag text descending).
 * @internal
 */
export function chartVersionTags(tags: Iterable<string>): TaggedVersion[] {
  const out: TaggedVersion[] = [];
  for (const tag of tags) {
    const version = versionForOciTag(tag);
    if (isStrictVersion(version) && normalizeVersion(version) !== undefined) out.push({ tag, version });
  }
  return out.sort(
    (a, b) => compareVersions(b.version, a.version) || (a.tag < b.tag ? 1 : a.tag > b.tag ? -1 : 0),
  );
}

// ---------------------------------------------------------------------------------------
// Requests (mirror specs, air-gap imports, drift)
// ---------------------------------------------------------------------------------------

/**
 * A requested version as a mirror spec (or `--version`) writes it: an explicit version
 * when Masterminds `NewVersion` parses it (Helm's rule: it is used verbatim as the tag),
 * else a constraint.
 * @internal
 */
export type VersionRequest =
  | { readonly kind: 'exact'; readonly text: string }
  | { readonly kind: 'range'; readonly text: string; readonly constraint: VersionConstraint };

/**
 * Classifies a requested version or range.
 * @throws ChartproofError `INVALID_ARGUMENT` for a constraint that does not parse
 * @internal
 */
export function parseVersionRequest(requested: string): VersionRequest {
  if (isLenientSemver(requested)) return { kind: 'exact', text: requested };
  return { kind: 'range', text: requested, constraint: parseVersionConstraint(requested) };
}

/**
 * Whether `version` is what `request` asks for: an explicit version matches the same
 * tag (`1.0.0+b` and `1.0.0_b` are one version); a range matches a version satisfying
 * it (prereleases only when the range names one), as plan, apply and export resolve it.
 * @internal
 */
export function requestMatches(request: VersionRequest, version: string): boolean {
  if (request.kind === 'exact') return ociTagForVersion(request.text) === ociTagForVersion(version);
  return satisfiesConstraint(version, request.constraint);
}
