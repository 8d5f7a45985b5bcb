/**
 * The declarative mirror spec: what to mirror, from where, to where, verified how,
 * scanned how, and signed with which key. YAML or a typed object.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ChartproofError } from '../errors.js';
import { isDepthLimitError, parseYamlBounded } from '../internal/bounded-parse.js';
import { isRecord } from '../internal/guards.js';
import { type HostSettings, readCaFile } from '../oci/transport/fetch.js';
import { SEVERITIES, type Severity } from './scan.js';
import type { BuiltinRuleId } from './builtin-scanner.js';
import type { WorkloadRuleId } from '../workloads/catalog.js';
import { isScanRuleId } from './rendered-scanner.js';

/** Versions one `allMatching` range may expand to unless `maxVersions` says otherwise. @internal */
export const DEFAULT_MAX_MATCHING_VERSIONS = 100;
/** Largest `maxVersions` a spec may set. @internal */
export const MAX_MATCHING_VERSIONS = 1000;

/** Where mirrored charts go: `<registry>/<prefix>/<name>:<version>`. @public */
export interface MirrorTarget {
  /** `host[:port]`. */
  registry: string;
  /** Repository path prefix, e.g. `charts/vendor`. Default none. */
  prefix?: string;
  /** Extra trusted CA certificates (PEM file) for the target. */
  caFile?: string;
  /** Plain HTTP to the target. */
  plainHttp?: boolean;
  /** Skip TLS verification of the target. */
  insecure?: boolean;
}

/** How upstream signatures are checked before a chart is mirrored. @public */
export interface MirrorVerify {
  /** PEM public key file (cosign key) the upstream signs with. */
  key?: string;
  /** Keyless: the certificate identity (exact) and OIDC issuer (exact). */
  identity?: string;
  identityRegExp?: string;
  issuer?: string;
  issuerRegExp?: string;
  /** `trusted_root.json` for keyless signatures and transparency-log checks. */
  trustedRoot?: string;
  /** Skip transparency-log checks (cosign `--insecure-ignore-tlog`). Default false. */
  insecureIgnoreTlog?: boolean;
  /** Classic repositories: OpenPGP keyring for the `.prov` file. */
  keyring?: string;
  /** Refuse the chart when verification fails (true) or only report it (false). Default true. */
  required?: boolean;
}

/**
 * Mirroring the images a chart deploys (spec `images`, per chart or for all): the
 * chart is rendered with its `values`, every image is copied into
 * `<target.registry>/<prefix>/<image path>` (whole indexes, same digests, with their
 * signatures and referrers), and a values overlay pointing the chart at them is
 * written and pushed next to the chart (docs/mirroring.md). `images: true` is `{}`.
 * @public
 */
export interface MirrorImages {
  /**
   * Repository path under the target registry the images go to. Default
   * `<target.prefix>/images`, or `images` without a target prefix.
   */
  prefix?: string;
  /** Upstream image signatures checked before an image is copied (cosign key or keyless). */
  verify?: MirrorVerify;
  /** Sign each copied image with the spec's `sign` key. Default true when `sign` is set. */
  sign?: boolean;
  /** Images copied at once per chart version. Default 2. */
  concurrency?: number;
  /**
   * Leave the chart's test hooks (`helm.sh/hook: test`) out, as `helm template
   * --skip-tests` does: their images are neither mirrored nor required to point at the
   * internal registry (they run only with `helm test`; an admission policy that admits
   * only the internal registry then refuses them). Default false: every image the chart
   * renders, tests included.
   */
  skipTests?: boolean;
  /**
   * Transport settings of image source registries, by `host[:port]` (the target's and
   * chart sources' settings apply to their hosts already).
   */
  hosts?: Record<string, { plainHttp?: boolean; caFile?: string; insecure?: boolean }>;
}

/** One chart to mirror. @public */
export interface MirrorChart {
  /** Chart name; also the target repository's last path component. */
  name: string;
  /** OCI source: `oci://registry/path/<name>` (the chart's repository). */
  source?: string;
  /** Classic source: the repository URL (with `chart` naming the chart, default `name`). */
  repo?: string;
  chart?: string;
  /**
   * Exact versions or semver ranges. A range selects its newest match, or every match
   * with {@link MirrorChart.allMatching}.
   */
  versions: string[];
  /**
   * Mirror every version matching each range of `versions` (oldest first), not only the
   * newest, as `skopeo sync`/`regsync` do. Exact versions are unaffected. Default false.
   */
  allMatching?: boolean;
  /**
   * With `allMatching`: the most versions one range may match (1–1000, default 100). A
   * range matching more is `failed` (`SIZE_LIMIT_EXCEEDED`) rather than truncated.
   */
  maxVersions?: number;
  verify?: MirrorVerify;
  /** Source transport: plain HTTP. */
  plainHttp?: boolean;
  /** Source transport: extra CA (PEM file). */
  caFile?: string;
  /**
   * Values the chart is rendered with for scanning, in addition to its defaults (the
   * values you will install with): findings of both renders are reported.
   */
  values?: Record<string, unknown>;
  /**
   * Mirror the images this chart deploys: `true` uses the spec's `images` settings (or
   * the defaults), a mapping overrides them, `false` turns it off for this chart.
   */
  images?: boolean | MirrorImages;
}

/** Internal signing after the copy. @public */
export interface MirrorSign {
  /** cosign private key file; the password comes from `COSIGN_PASSWORD`. */
  key: string;
  /** Signature format(s). Default `both`. */
  format?: 'legacy' | 'bundle' | 'both';
}

/** Scanner thresholds (see docs/scanning.md). @public */
export interface MirrorScan {
  /** Findings at or above this severity refuse the chart. */
  block?: Severity;
  /** Findings at or above this severity are reported as warnings. */
  warn?: Severity;
  /** Allowed image prefixes or globs for the `image-not-allowed` rule. */
  allowedImages?: string[];
  /**
   * Render each chart (as `helm template` would) and evaluate the rules on the rendered
   * objects; the text heuristics remain for what rendering cannot see and as the
   * fallback when a chart cannot be rendered. Default true.
   */
  render?: boolean;
  /** `--kube-version` for those renders, e.g. `1.31.0`. Default: Helm v4.1.4's. */
  kubeVersion?: string;
  /**
   * Severity overrides by rule id, of the text rules ({@link BUILTIN_RULES}) or the
   * rendered ones (`WORKLOAD_RULES` of `chartproof/workloads`), e.g. `{
   * 'cluster-scoped-rbac': 'medium' }` to block as Trivy would at `high`; `render-failed`
   * sets the severity of a chart render that fails (default `info`).
   */
  severities?: Partial<Record<BuiltinRuleId | WorkloadRuleId | 'render-failed', Severity>>;
}

/** A mirror spec. @public */
export interface MirrorSpec {
  target: MirrorTarget;
  sign?: MirrorSign;
  scan?: MirrorScan;
  /** Carry upstream signatures, attestations and other referrers. Default true. */
  carrySignatures?: boolean;
  /** Charts processed at once. Default 4. */
  concurrency?: number;
  /** Mirror the images every chart deploys (charts may override). Default off. */
  images?: MirrorImages;
  charts: MirrorChart[];
}

function bad(path: string, why: string): ChartproofError {
  return new ChartproofError('INVALID_ARGUMENT', `mirror spec: ${path}: ${why}`);
}

type Obj = Record<string, unknown>;
const isObj = isRecord;

function str(o: Obj, key: string, path: string, required = false): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) {
    if (required) throw bad(`${path}.${key}`, 'is required');
    return undefined;
  }
  if (typeof v !== 'string' || v.trim() === '') throw bad(`${path}.${key}`, 'must be a non-empty string');
  return v.trim();
}

function bool(o: Obj, key: string, path: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw bad(`${path}.${key}`, 'must be true or false');
  return v;
}

function known(o: Obj, keys: readonly string[], path: string): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw bad(`${path}.${k}`, 'unknown field');
}

function severity(o: Obj, key: string, path: string): Severity | undefined {
  const v = str(o, key, path);
  if (v === undefined) return undefined;
  if (!(SEVERITIES as readonly string[]).includes(v))
    throw bad(`${path}.${key}`, `must be one of ${SEVERITIES.join(', ')}`);
  return v as Severity;
}

/** Sets optional string fields `keys` of `from` on `to`. */
function copyStrings<T extends object>(
  to: T,
  from: Obj,
  keys: readonly (keyof T & string)[],
  path: string,
): void {
  for (const k of keys) {
    const v = str(from, k, path);
    if (v !== undefined) (to as Record<string, unknown>)[k] = v;
  }
}

function parseTarget(v: unknown): MirrorTarget {
  if (!isObj(v)) throw bad('target', 'is required and must be a mapping');
  known(v, ['registry', 'prefix', 'caFile', 'plainHttp', 'insecure'], 'target');
  const registry = str(v, 'registry', 'target', true)!;
  if (/[/\s]|^[a-z]+:\/\//i.test(registry))
    throw bad('target.registry', 'must be host[:port] without a path');
  const t: MirrorTarget = { registry };
  const prefix = str(v, 'prefix', 'target');
  if (prefix !== undefined) {
    t.prefix = repositoryPath(prefix, 'target.prefix');
  }
  copyStrings(t, v, ['caFile'], 'target');
  const plainHttp = bool(v, 'plainHttp', 'target');
  if (plainHttp !== undefined) t.plainHttp = plainHttp;
  const insecure = bool(v, 'insecure', 'target');
  if (insecure !== undefined) t.insecure = insecure;
  return t;
}

function parseVerify(v: unknown, path: string): MirrorVerify {
  if (!isObj(v)) throw bad(path, 'must be a mapping');
  const keys = [
    'key',
    'identity',
    'identityRegExp',
    'issuer',
    'issuerRegExp',
    'trustedRoot',
    'insecureIgnoreTlog',
    'keyring',
    'required',
  ] as const;
  known(v, keys, path);
  const out: MirrorVerify = {};
  copyStrings(
    out,
    v,
    ['key', 'identity', 'identityRegExp', 'issuer', 'issuerRegExp', 'trustedRoot', 'keyring'],
    path,
  );
  const required = bool(v, 'required', path);
  if (required !== undefined) out.required = required;
  const ignore = bool(v, 'insecureIgnoreTlog', path);
  if (ignore !== undefined) out.insecureIgnoreTlog = ignore;
  const keyless = out.identity !== undefined || out.identityRegExp !== undefined;
  const issuer = out.issuer !== undefined || out.issuerRegExp !== undefined;
  if (keyless !== issuer) throw bad(path, 'a keyless identity needs both identity and issuer');
  if (out.key === undefined && !keyless && out.keyring === undefined)
    throw bad(path, 'needs key, identity + issuer, or keyring');
  if (out.key !== undefined && keyless) throw bad(path, 'use either key or identity + issuer');
  return out;
}

function parseChart(v: unknown, i: number): MirrorChart {
  const path = `charts[${i}]`;
  if (!isObj(v)) throw bad(path, 'must be a mapping');
  known(
    v,
    [
      'name',
      'source',
      'repo',
      'chart',
      'versions',
      'allMatching',
      'maxVersions',
      'verify',
      'plainHttp',
      'caFile',
      'values',
      'images',
    ],
    path,
  );
  const name = str(v, 'name', path, true)!;
  if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/.test(name))
    throw bad(`${path}.name`, `${JSON.stringify(name)} is not a valid repository name component`);
  const versions = v.versions;
  if (!Array.isArray(versions) || versions.length === 0)
    throw bad(`${path}.versions`, 'must be a non-empty list of versions or ranges');
  const c: MirrorChart = {
    name,
    versions: versions.map((x, j) => {
      if (typeof x !== 'string' && typeof x !== 'number')
        throw bad(`${path}.versions[${j}]`, 'must be a string');
      const s = String(x).trim();
      if (s === '') throw bad(`${path}.versions[${j}]`, 'must not be empty');
      return s;
    }),
  };
  copyStrings(c, v, ['source', 'repo', 'chart', 'caFile'], path);
  if ((c.source === undefined) === (c.repo === undefined))
    throw bad(path, 'needs exactly one of source (oci://…) or repo (https://…)');
  if (c.source !== undefined && !c.source.startsWith('oci://'))
    throw bad(`${path}.source`, 'must start with oci:// (use repo: for classic repositories)');
  if (c.repo !== undefined && !/^https?:\/\//.test(c.repo))
    throw bad(`${path}.repo`, 'must be an http(s) URL');
  if (c.chart !== undefined && c.repo === undefined)
    throw bad(`${path}.chart`, 'applies to repo sources only');
  const plainHttp = bool(v, 'plainHttp', path);
  if (plainHttp !== undefined) c.plainHttp = plainHttp;
  const allMatching = bool(v, 'allMatching', path);
  if (allMatching !== undefined) c.allMatching = allMatching;
  if (v.maxVersions !== undefined && v.maxVersions !== null) {
    const m = v.maxVersions;
    if (typeof m !== 'number' || !Number.isInteger(m) || m < 1 || m > MAX_MATCHING_VERSIONS)
      throw bad(`${path}.maxVersions`, `must be an integer from 1 to ${MAX_MATCHING_VERSIONS}`);
    if (c.allMatching !== true) throw bad(`${path}.maxVersions`, 'applies with allMatching: true only');
    c.maxVersions = m;
  }
  if (v.values !== undefined && v.values !== null) {
    if (!isObj(v.values)) throw bad(`${path}.values`, 'must be a mapping');
    c.values = v.values;
  }
  if (v.verify !== undefined && v.verify !== null) c.verify = parseVerify(v.verify, `${path}.verify`);
  if (v.images !== undefined && v.images !== null) {
    c.images = typeof v.images === 'boolean' ? v.images : parseImages(v.images, `${path}.images`);
  }
  if (
    c.verify?.keyring !== undefined &&
    c.source !== undefined &&
    c.verify.key === undefined &&
    !c.verify.identity
  )
    throw bad(`${path}.verify`, 'keyring (.prov) applies to repo sources; OCI sources need key or identity');
  return c;
}

function parseImages(v: unknown, path: string): MirrorImages {
  if (v === true) return {};
  if (!isObj(v)) throw bad(path, 'must be true, false or a mapping');
  known(v, ['prefix', 'verify', 'sign', 'concurrency', 'skipTests', 'hosts'], path);
  const out: MirrorImages = {};
  const prefix = str(v, 'prefix', path);
  if (prefix !== undefined) out.prefix = repositoryPath(prefix, `${path}.prefix`);
  if (v.verify !== undefined && v.verify !== null) {
    out.verify = parseVerify(v.verify, `${path}.verify`);
    if (out.verify.keyring !== undefined)
      throw bad(`${path}.verify`, 'images are verified with key or identity + issuer, not a keyring');
  }
  const sign = bool(v, 'sign', path);
  if (sign !== undefined) out.sign = sign;
  const skipTests = bool(v, 'skipTests', path);
  if (skipTests !== undefined) out.skipTests = skipTests;
  if (v.concurrency !== undefined && v.concurrency !== null) {
    const c = v.concurrency;
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 1 || c > 16)
      throw bad(`${path}.concurrency`, 'must be an integer from 1 to 16');
    out.concurrency = c;
  }
  if (v.hosts !== undefined && v.hosts !== null) {
    if (!isObj(v.hosts)) throw bad(`${path}.hosts`, 'must be a mapping of host[:port] to settings');
    const hosts: NonNullable<MirrorImages['hosts']> = {};
    for (const [host, h] of Object.entries(v.hosts)) {
      const at = `${path}.hosts.${host}`;
      if (!/^[a-z0-9.-]+(:[0-9]+)?$/i.test(host)) throw bad(at, 'must be host[:port]');
      if (!isObj(h)) throw bad(at, 'must be a mapping');
      known(h, ['plainHttp', 'caFile', 'insecure'], at);
      const entry: NonNullable<MirrorImages['hosts']>[string] = {};
      const plainHttp = bool(h, 'plainHttp', at);
      if (plainHttp !== undefined) entry.plainHttp = plainHttp;
      const insecure = bool(h, 'insecure', at);
      if (insecure !== undefined) entry.insecure = insecure;
      copyStrings(entry, h, ['caFile'], at);
      hosts[host.toLowerCase()] = entry;
    }
    out.hosts = hosts;
  }
  return out;
}

function repositoryPath(raw: string, path: string): string {
  const clean = raw.replace(/^\/+|\/+$/g, '');
  if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(clean))
    throw bad(path, `${JSON.stringify(raw)} is not a valid repository path`);
  return clean;
}

/**
 * The image settings that apply to a chart: its own `images` over the spec's, or
 * undefined when its images are not mirrored.
 * @public
 */
export function chartImages(spec: MirrorSpec, chart: MirrorChart): MirrorImages | undefined {
  const own = chart.images;
  if (own === false) return undefined;
  if (own === undefined) return spec.images;
  if (own === true) return spec.images ?? {};
  return { ...(spec.images ?? {}), ...own };
}

/** The images' repository path under the target registry (see {@link MirrorImages.prefix}). @public */
export function imagesPrefix(spec: MirrorSpec, images: MirrorImages): string {
  if (images.prefix !== undefined) return images.prefix;
  return spec.target.prefix ? `${spec.target.prefix}/images` : 'images';
}

/**
 * Validates a mirror spec given as a plain object (parsed YAML or JSON). Relative
 * file paths (keys, CA files, trusted roots, keyrings) are resolved against
 * `baseDir` when given.
 * @throws ChartproofError `INVALID_ARGUMENT` naming the offending field
 * @public
 */
export function parseMirrorSpec(value: unknown, options: { baseDir?: string } = {}): MirrorSpec {
  if (!isObj(value)) throw bad('(root)', 'must be a mapping');
  known(value, ['target', 'sign', 'scan', 'charts', 'concurrency', 'carrySignatures', 'images'], '(root)');
  const spec: MirrorSpec = { target: parseTarget(value.target), charts: [] };
  if (value.sign !== undefined && value.sign !== null) {
    if (!isObj(value.sign)) throw bad('sign', 'must be a mapping');
    known(value.sign, ['key', 'format'], 'sign');
    const sign: MirrorSign = { key: str(value.sign, 'key', 'sign', true)! };
    const format = str(value.sign, 'format', 'sign');
    if (format !== undefined) {
      if (format !== 'legacy' && format !== 'bundle' && format !== 'both')
        throw bad('sign.format', 'must be legacy, bundle or both');
      sign.format = format;
    }
    spec.sign = sign;
  }
  if (value.scan !== undefined && value.scan !== null) {
    if (!isObj(value.scan)) throw bad('scan', 'must be a mapping');
    known(value.scan, ['block', 'warn', 'allowedImages', 'render', 'kubeVersion', 'severities'], 'scan');
    const scan: MirrorScan = {};
    const block = severity(value.scan, 'block', 'scan');
    if (block) scan.block = block;
    const warn = severity(value.scan, 'warn', 'scan');
    if (warn) scan.warn = warn;
    const allowed = value.scan.allowedImages;
    if (allowed !== undefined) {
      if (!Array.isArray(allowed) || allowed.some((a) => typeof a !== 'string'))
        throw bad('scan.allowedImages', 'must be a list of strings');
      scan.allowedImages = allowed as string[];
    }
    const render = bool(value.scan, 'render', 'scan');
    if (render !== undefined) scan.render = render;
    const kube = value.scan.kubeVersion;
    if (kube !== undefined && kube !== null) {
      if (typeof kube !== 'string' && typeof kube !== 'number')
        throw bad('scan.kubeVersion', 'must be a string');
      scan.kubeVersion = String(kube);
    }
    const sev = value.scan.severities;
    if (sev !== undefined && sev !== null) {
      if (!isObj(sev)) throw bad('scan.severities', 'must be a mapping of rule id to severity');
      const out: Record<string, Severity> = {};
      for (const [rule, level] of Object.entries(sev)) {
        if (!isScanRuleId(rule))
          throw bad(`scan.severities.${rule}`, 'is not a scan rule id (scanning.md lists them)');
        if (typeof level !== 'string' || !SEVERITIES.includes(level as Severity))
          throw bad(`scan.severities.${rule}`, `must be one of ${SEVERITIES.join(', ')}`);
        out[rule] = level as Severity;
      }
      scan.severities = out;
    }
    spec.scan = scan;
  }
  const carry = bool(value, 'carrySignatures', '(root)');
  if (carry !== undefined) spec.carrySignatures = carry;
  if (value.concurrency !== undefined) {
    const c = value.concurrency;
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 1 || c > 64)
      throw bad('concurrency', 'must be an integer from 1 to 64');
    spec.concurrency = c;
  }
  if (value.images !== undefined && value.images !== null && value.images !== false)
    spec.images = parseImages(value.images, 'images');
  if (!Array.isArray(value.charts) || value.charts.length === 0)
    throw bad('charts', 'must be a non-empty list');
  spec.charts = value.charts.map((c, i) => parseChart(c, i));
  const seen = new Set<string>();
  for (const c of spec.charts) {
    if (seen.has(c.name))
      throw bad('charts', `chart ${c.name} is listed twice (one entry per target repository)`);
    seen.add(c.name);
  }
  if (options.baseDir) resolvePaths(spec, options.baseDir);
  return spec;
}

function resolvePaths(spec: MirrorSpec, base: string): void {
  const abs = (p: string | undefined) => (p === undefined || isAbsolute(p) ? p : resolve(base, p));
  if (spec.target.caFile) spec.target.caFile = abs(spec.target.caFile)!;
  if (spec.sign) spec.sign.key = abs(spec.sign.key)!;
  for (const c of spec.charts) {
    if (c.caFile) c.caFile = abs(c.caFile)!;
    const v = c.verify;
    if (!v) continue;
    for (const k of ['key', 'trustedRoot', 'keyring'] as const) if (v[k]) v[k] = abs(v[k])!;
  }
  const imageSettings = [
    spec.images,
    ...spec.charts.map((c) => (typeof c.images === 'object' ? c.images : undefined)),
  ];
  for (const i of imageSettings)
    for (const h of Object.values(i?.hosts ?? {})) if (h.caFile) h.caFile = abs(h.caFile)!;
  const verifies = [
    spec.images?.verify,
    ...spec.charts.map((c) => (typeof c.images === 'object' ? c.images.verify : undefined)),
  ];
  for (const v of verifies) {
    if (!v) continue;
    for (const k of ['key', 'trustedRoot'] as const) if (v[k]) v[k] = abs(v[k])!;
  }
}

/**
 * Reads and validates a YAML (or JSON) mirror spec file; relative paths in it are
 * resolved against the file's directory.
 * @throws ChartproofError `IO`, `INVALID_ARGUMENT`
 * @public
 */
export async function loadMirrorSpec(path: string): Promise<MirrorSpec> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ChartproofError('IO', `cannot read mirror spec ${path}: ${(e as Error).message}`, { cause: e });
  }
  let value: unknown;
  try {
    value = parseYamlBounded(text, { maxAliasCount: 100 }, { what: `mirror spec ${path}`, source: 'local' });
  } catch (e) {
    if (isDepthLimitError(e)) throw e;
    throw new ChartproofError('INVALID_ARGUMENT', `mirror spec ${path}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return parseMirrorSpec(value, { baseDir: dirname(resolve(path)) });
}

/** The target repository of a chart: `<registry>/<prefix>/<name>`. @public */
export function targetRepository(spec: MirrorSpec, chart: MirrorChart): string {
  const prefix = spec.target.prefix ? `${spec.target.prefix}/` : '';
  return `${spec.target.registry}/${prefix}${chart.name}`;
}

/**
 * Per-host transport settings the spec asks for (target and each source's
 * `plainHttp` / `caFile` / `insecure`), for `RegistryClientOptions.hosts`.
 * @throws ChartproofError `IO` for an unreadable CA file
 * @public
 */
export function mirrorHostSettings(spec: MirrorSpec): Record<string, HostSettings> {
  const hosts: Record<string, HostSettings> = {};
  const add = (host: string, s: { plainHttp?: boolean; caFile?: string; insecure?: boolean }) => {
    const h: HostSettings = { ...(hosts[host] ?? {}) };
    if (s.plainHttp) h.plainHttp = true;
    if (s.insecure) h.insecureSkipTlsVerify = true;
    if (s.caFile) h.ca = readCaFile(s.caFile);
    hosts[host] = h;
  };
  add(spec.target.registry, spec.target);
  for (const c of spec.charts) {
    const host = c.source ? c.source.replace(/^oci:\/\//, '').split('/')[0]! : new URL(c.repo!).host;
    if (c.plainHttp || c.caFile) add(host, c);
  }
  const imageSettings = [
    spec.images,
    ...spec.charts.map((c) => (typeof c.images === 'object' ? c.images : undefined)),
  ];
  for (const i of imageSettings) for (const [host, h] of Object.entries(i?.hosts ?? {})) add(host, h);
  return hosts;
}
