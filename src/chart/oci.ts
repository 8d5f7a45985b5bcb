/**
 * Helm charts in OCI registries, in exactly the format `helm push` writes and with the
 * rules `helm pull` follows (tags with `+`, `--version` resolution).
 */
import { ChartproofError, isNotFoundError } from '../errors.js';
import { isDepthLimitError, parseJsonBounded } from '../internal/bounded-parse.js';
import type { RegistryClient } from '../oci/client.js';
import type { Descriptor } from '../oci/descriptor.js';
import { type CopyEvent, withByteProgress } from '../oci/copy.js';
import { type Digest, digestOf, isDigest } from '../oci/digest.js';
import { isIndexMediaType, MediaType } from '../oci/media-types.js';
import { assertNoCredentials, formatReference, parseReference, type Reference } from '../oci/reference.js';
import type { FetchedManifest, Fetcher, Named, Resolver, TagLister } from '../oci/target.js';
import { MAX_MANIFEST_BYTES, readAll } from '../oci/verify.js';
import { GoRaw, goJsonStruct, utf8Bytes } from '../internal/encoding/go-json.js';
import { helmAnnotations } from './annotations.js';
import { helmConfigJson } from './config.js';
import type { ChartMetadata } from './types.js';
import {
  chartVersionTags,
  isLenientSemver,
  matchingVersions,
  ociTagForVersion,
  parseVersionConstraint,
  versionForOciTag,
} from './version.js';

/** The media type Helm gave chart layers before v3.7 (still accepted on pull). @public */
export const LEGACY_CHART_LAYER_MEDIA_TYPE = 'application/tar+gzip';
/** Largest chart layer {@link pullChart} reads (100 MiB). @public */
export const MAX_CHART_BYTES = 100 * 1024 * 1024;
/** Largest provenance layer {@link pullChart} reads (4 MiB). */
const MAX_PROV_BYTES = MAX_MANIFEST_BYTES;
/** Largest config blob {@link pullChart} reads (4 MiB). */
const MAX_CONFIG_BYTES = MAX_MANIFEST_BYTES;

// ---------------------------------------------------------------------------------------
// Push
// ---------------------------------------------------------------------------------------

/** Options of {@link pushChart}. @public */
export interface ChartPushOptions {
  /**
   * `org.opencontainers.image.created`, RFC 3339. Default: now, UTC, second precision
   * (what Helm's SDK does; the Helm CLI uses the archive's mtime).
   */
  creationTime?: string;
  /** The chart's `.prov` file, pushed as a provenance layer. */
  provenance?: Uint8Array;
  signal?: AbortSignal;
  /**
   * Default true: when `destination` names a full reference with a tag, its last path
   * component must be the chart name and its tag the chart version (Helm's strict mode).
   */
  strict?: boolean;
  /**
   * Push the manifest by digest without tagging it; the caller tags it later (for
   * example after signing it, so the tag never names an unsigned chart). Default false.
   */
  untagged?: boolean;
  /** Upload progress: `bytes` events as each blob is sent, `copied` when it is done (as `copy`). */
  onProgress?: (event: CopyEvent) => void;
}

/** What {@link pushChart} stored. @public */
export interface ChartPushResult {
  /** `registry/namespace/name:tag`. */
  ref: string;
  /** Manifest digest. */
  digest: Digest;
  /** Manifest bytes as pushed. */
  manifest: Uint8Array;
  config: Descriptor;
  chart: Descriptor;
  provenance?: Descriptor;
  /** `registry/namespace/name@sha256:…`. */
  pinned: string;
}

/** A blob with its descriptor. @public */
export interface ChartBlob {
  desc: Descriptor;
  data: Uint8Array;
}

/** The pieces of a Helm chart artifact. @public */
export interface ChartManifestBuild {
  /** Manifest bytes (Go `json.Marshal` of the OCI manifest, as Helm writes them). */
  manifest: Uint8Array;
  config: ChartBlob;
  /** Chart and provenance layers, sorted by digest like Helm. */
  layers: ChartBlob[];
}

/** Options of {@link buildChartManifest}. @public */
export interface BuildChartManifestOptions {
  /** `org.opencontainers.image.created`. */
  creationTime: string;
  /** `.prov` bytes, added as a provenance layer. */
  provenance?: Uint8Array;
}

function descriptorJson(d: Descriptor): string {
  return goJsonStruct([
    ['mediaType', d.mediaType, false],
    ['digest', d.digest, false],
    ['size', d.size, false],
  ]);
}

function blob(mediaType: string, data: Uint8Array): ChartBlob {
  return { desc: { mediaType, digest: digestOf(data), size: data.byteLength }, data };
}

/**
 * Builds the manifest, config and layers `helm push` would produce for a chart
 * archive. Pure: the same inputs always give the same bytes.
 * @public
 */
export function buildChartManifest(
  archive: Uint8Array,
  metadata: ChartMetadata,
  options: BuildChartManifestOptions,
): ChartManifestBuild {
  const config = blob(MediaType.HelmConfig, helmConfigJson(metadata));
  const layers = [blob(MediaType.HelmChartContent, archive)];
  if (options.provenance !== undefined) layers.push(blob(MediaType.HelmProvenance, options.provenance));
  layers.sort((a, b) => (a.desc.digest < b.desc.digest ? -1 : a.desc.digest > b.desc.digest ? 1 : 0));
  const json = goJsonStruct([
    ['schemaVersion', 2, false],
    ['config', new GoRaw(descriptorJson(config.desc)), false],
    ['layers', new GoRaw(`[${layers.map((l) => descriptorJson(l.desc)).join(',')}]`), false],
    ['annotations', helmAnnotations(metadata, options.creationTime), true],
  ]);
  return { manifest: utf8Bytes(json), config, layers };
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/** Now, UTC, second precision: `2006-01-02T15:04:05Z`. */
function nowRfc3339(): string {
  return `${new Date().toISOString().slice(0, 19)}Z`;
}

function stripScheme(input: string): string {
  const s = input.trim();
  assertNoCredentials(s);
  if (/^oci:\/\//i.test(s)) return s.slice(6);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s))
    throw new ChartproofError(
      'INVALID_REFERENCE',
      `only oci:// references are supported: ${JSON.stringify(s)}`,
    );
  return s;
}

/** Rewrites `+` to `_` in the tag part of a reference (Helm issue #10166). */
function plusTagToUnderscore(s: string): string {
  const at = s.indexOf('@');
  const head = at >= 0 ? s.slice(0, at) : s;
  const tail = at >= 0 ? s.slice(at) : '';
  const colon = head.indexOf(':', head.lastIndexOf('/') + 1);
  if (colon < 0 || !head.includes('/')) return s;
  return `${head.slice(0, colon + 1)}${ociTagForVersion(head.slice(colon + 1))}${tail}`;
}

/**
 * Parses a chart reference as Helm accepts it: an optional `oci://` scheme, and a tag
 * that may carry `+` (written as `_`, Helm issue #10166).
 * @throws ChartproofError `INVALID_REFERENCE`
 * @internal
 */
export function parseChartReference(ref: string): Reference {
  return parseReference(plusTagToUnderscore(stripScheme(ref)));
}

/** The reference a chart is pushed to. */
function pushReference(destination: string, metadata: ChartMetadata, strict: boolean): Reference {
  let s = stripScheme(destination).replace(/\/+$/, '');
  if (s.includes('@'))
    throw new ChartproofError(
      'INVALID_REFERENCE',
      `cannot push to a digest reference: ${JSON.stringify(destination)}`,
    );
  const tag = ociTagForVersion(metadata.version);
  const slash = s.lastIndexOf('/');
  const tagged = slash >= 0 && s.indexOf(':', slash + 1) >= 0;
  if (!tagged) s = `${s}/${metadata.name}:${tag}`;
  const ref = parseReference(plusTagToUnderscore(s));
  if (strict && tagged) {
    const base = ref.repository.slice(ref.repository.lastIndexOf('/') + 1);
    if (base !== metadata.name || ref.tag !== tag) {
      throw new ChartproofError(
        'INVALID_REFERENCE',
        'strict mode enabled, ref basename and tag must match the chart name and version',
      );
    }
  }
  return ref;
}

function checkMetadata(metadata: ChartMetadata): void {
  if (typeof metadata?.name !== 'string' || metadata.name === '')
    throw new ChartproofError('INVALID_ARGUMENT', 'chart metadata has no name');
  if (typeof metadata.version !== 'string' || metadata.version === '')
    throw new ChartproofError('INVALID_ARGUMENT', 'chart metadata has no version');
}

/**
 * Pushes a packaged chart like `helm push`: config, chart and provenance blobs first,
 * then the manifest under the tag `version` (`+` written as `_`).
 *
 * `destination` is `oci://registry/namespace`; the chart name and version are
 * appended as `helm push` does. A full `oci://registry/namespace/name:tag` is also
 * accepted (Helm SDK style); with `strict` (default) its name and tag must match the
 * chart.
 * @throws ChartproofError `INVALID_REFERENCE`, `INVALID_ARGUMENT`, registry errors
 * @public
 */
export async function pushChart(
  client: RegistryClient,
  archive: Uint8Array,
  metadata: ChartMetadata,
  destination: string,
  options: ChartPushOptions = {},
): Promise<ChartPushResult> {
  checkMetadata(metadata);
  const creationTime = options.creationTime ?? nowRfc3339();
  if (!RFC3339.test(creationTime))
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      `creationTime is not RFC 3339: ${JSON.stringify(creationTime)}`,
    );
  const ref = pushReference(destination, metadata, options.strict ?? true);
  const built = buildChartManifest(archive, metadata, {
    creationTime,
    ...(options.provenance !== undefined ? { provenance: options.provenance } : {}),
  });
  const repo = client.repository(ref);
  const call = { signal: options.signal };
  for (const b of [built.config, ...built.layers]) {
    if (await repo.exists(b.desc, call)) continue;
    const data = options.onProgress ? withByteProgress(b.data, b.desc, options.onProgress) : b.data;
    await repo.push(b.desc, data, call);
  }
  const tag = ref.tag!;
  const desc = await repo.pushManifest(built.manifest, {
    mediaType: MediaType.OciManifest,
    ...(options.untagged ? {} : { tags: [tag] }),
    ...call,
  });
  const chart = built.layers.find((l) => l.desc.mediaType === MediaType.HelmChartContent)!.desc;
  const prov = built.layers.find((l) => l.desc.mediaType === MediaType.HelmProvenance)?.desc;
  const result: ChartPushResult = {
    ref: formatReference({ registry: ref.registry, repository: ref.repository, tag }),
    digest: desc.digest,
    manifest: built.manifest,
    config: built.config.desc,
    chart,
    pinned: repo.pinned(desc.digest),
  };
  if (prov) result.provenance = prov;
  return result;
}

// ---------------------------------------------------------------------------------------
// Version resolution
// ---------------------------------------------------------------------------------------

/** Options of {@link resolveChartVersion}. @public */
export interface ResolveChartVersionOptions {
  /** Let prereleases satisfy a range without a prerelease of its own. */
  includePrerelease?: boolean;
  /** The repository's tags when already listed: a range is then resolved without a request. */
  tags?: Iterable<string>;
  signal?: AbortSignal;
}

/**
 * Resolves a chart version or semver range to a tag of `repo`, with Helm's rules:
 * an explicit version (Masterminds `NewVersion`) is used verbatim as the tag (`+` as
 * `_`) and must exist; otherwise tags are listed, `_` read as `+`, only
 * `X.Y.Z[-pre][+meta]` tags kept, an exact match wins, else the highest version
 * satisfying the range. An empty range means any non-prerelease version.
 * Prereleases match only with `includePrerelease` or when the range names one.
 * @returns the tag (with `_`)
 * @throws ChartproofError `NOT_FOUND` when nothing matches; `INVALID_ARGUMENT` for a bad range
 * @public
 */
export async function resolveChartVersion(
  repo: Resolver & TagLister & Named,
  range: string,
  opts: ResolveChartVersionOptions = {},
): Promise<string> {
  const wanted = range.trim();
  const call = { signal: opts.signal };
  const notFound = (cause?: unknown) =>
    new ChartproofError(
      'NOT_FOUND',
      `${repo.name}: could not locate a version matching provided version string ${wanted === '' ? '*' : wanted}`,
      cause === undefined ? {} : { cause },
    );
  if (wanted !== '' && isLenientSemver(wanted)) {
    const tag = ociTagForVersion(wanted);
    try {
      await repo.resolve(tag, call);
    } catch (e) {
      if (isNotFoundError(e)) throw notFound(e);
      throw e;
    }
    return tag;
  }
  const constraint = parseVersionConstraint(wanted);
  let tags: string[];
  if (opts.tags) tags = [...opts.tags];
  else {
    try {
      tags = await repo.tags(call);
    } catch (e) {
      if (!isNotFoundError(e)) throw e;
      tags = [];
    }
  }
  const candidates = chartVersionTags(tags);
  if (candidates.length === 0)
    throw new ChartproofError('NOT_FOUND', `unable to locate any tags in provided repository: ${repo.name}`);
  const exact = candidates.find((c) => c.version === wanted);
  if (exact) return exact.tag;
  const best = matchingVersions(candidates, (c) => c.version, constraint, opts.includePrerelease === true)[0];
  if (!best) throw notFound();
  return best.tag;
}

// ---------------------------------------------------------------------------------------
// Pull
// ---------------------------------------------------------------------------------------

/** Options of {@link pullChart}. @public */
export interface ChartPullOptions {
  /** An exact version or a semver range (Helm's `--version`). */
  version?: string;
  /** Let prereleases satisfy `version` ranges. */
  includePrerelease?: boolean;
  /** Require (and fetch) the provenance layer. It is fetched whenever present anyway. */
  provenance?: boolean;
  signal?: AbortSignal;
  /** Called with non-fatal findings, e.g. a deprecated chart layer media type. */
  onWarning?: (message: string) => void;
  /** Download progress of the chart and provenance layers: `bytes` events, then `copied` (as `copy`). */
  onProgress?: (event: CopyEvent) => void;
}

/** A chart pulled from a registry. @public */
export interface PulledChart {
  /** The chart archive (`.tgz`) bytes, digest-verified. */
  archive: Uint8Array;
  /** The `.prov` bytes, when the manifest has a provenance layer. */
  provenance?: Uint8Array;
  /** The parsed config blob (Helm's `Chart.yaml` metadata as JSON). */
  config: Record<string, unknown>;
  manifestDigest: Digest;
  /** Digest of the chart layer: `sha256:<hex>` of `archive`. */
  chartDigest: Digest;
  /** `registry/namespace/name@sha256:…`. */
  pinned: string;
  /** The chart version from the config blob. */
  version: string;
  /** The tag pulled or resolved (`+` as `_`); empty when pulled by digest alone. */
  tag: string;
}

function invalid(where: string, why: string): ChartproofError {
  return new ChartproofError('INVALID_MANIFEST', `${where}: ${why}`);
}

function parseDescriptor(value: unknown, where: string): Descriptor {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw invalid(where, 'descriptor is not an object');
  const d = value as Record<string, unknown>;
  if (typeof d.mediaType !== 'string') throw invalid(where, 'descriptor has no mediaType');
  if (typeof d.digest !== 'string' || !isDigest(d.digest))
    throw invalid(where, 'descriptor has an invalid digest');
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0)
    throw invalid(where, 'descriptor has an invalid size');
  return { mediaType: d.mediaType, digest: d.digest, size: d.size };
}

async function fetchBytes(
  repo: Fetcher & Named,
  desc: Descriptor,
  limit: number,
  what: string,
  signal: AbortSignal | undefined,
  onProgress?: (event: CopyEvent) => void,
): Promise<Uint8Array> {
  if (desc.size > limit)
    throw new ChartproofError(
      'SIZE_LIMIT_EXCEEDED',
      `${repo.name}@${desc.digest}: ${what} of ${desc.size} bytes exceeds the limit of ${limit}`,
    );
  // Config, chart and provenance layers are blobs (their media types were checked).
  const stream = await repo.fetch(desc, { signal });
  return readAll(onProgress ? withByteProgress(stream, desc, onProgress) : stream, limit);
}

/**
 * Pulls a chart like `helm pull oci://…`: resolves the tag (or `version`, exact or a
 * range), checks the manifest has a Helm config and exactly one chart layer, and
 * fetches the chart, the provenance layer (when present) and the config, all verified
 * against their digests.
 * @throws ChartproofError `INVALID_REFERENCE`, `NOT_FOUND`, `INVALID_MANIFEST`,
 *   `INVALID_CONFIG`, `SIZE_LIMIT_EXCEEDED`, registry and integrity errors
 * @public
 */
export async function pullChart(
  client: RegistryClient,
  ref: string,
  options: ChartPullOptions = {},
): Promise<PulledChart> {
  const parsed = parseChartReference(ref);
  const repo = client.repository(parsed);
  const call = { signal: options.signal };
  const version = options.version?.trim() || undefined;
  const resolveOpts: ResolveChartVersionOptions = {
    ...(options.includePrerelease !== undefined ? { includePrerelease: options.includePrerelease } : {}),
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
  };
  let selector: string;
  let tag = '';
  if (parsed.digest) {
    selector = parsed.digest;
    tag = parsed.tag ?? '';
    if (version !== undefined) {
      try {
        const t = await resolveChartVersion(repo, version, resolveOpts);
        const d = await repo.resolve(t, call);
        if (d.digest !== parsed.digest)
          throw new ChartproofError(
            'INVALID_REFERENCE',
            `chart reference digest mismatch: ${d.digest} is not ${parsed.digest}`,
          );
        tag = t;
      } catch (e) {
        // Helm accepts the digest when the version's tag does not exist.
        if (!(e instanceof ChartproofError && e.code === 'NOT_FOUND')) throw e;
      }
    }
  } else if (parsed.tag !== undefined) {
    if (version !== undefined && ociTagForVersion(version) !== parsed.tag)
      throw new ChartproofError(
        'INVALID_REFERENCE',
        `chart reference and version mismatch: ${version} is not ${versionForOciTag(parsed.tag)}`,
      );
    selector = tag = parsed.tag;
  } else {
    selector = tag = await resolveChartVersion(repo, version ?? '', resolveOpts);
  }

  const fetched = await repo.fetchManifest(selector, call);
  return (await pullFetchedChart(repo, fetched, tag, options)).pulled;
}

/**
 * The second half of {@link pullChart}: checks a fetched manifest is a Helm chart and
 * downloads its config, chart and provenance blobs (digest-verified). Also returns
 * every blob's bytes by digest, so a caller can copy the chart without downloading it
 * again.
 * @internal
 */
export async function pullFetchedChart(
  repo: Fetcher & Named,
  fetched: FetchedManifest,
  tag: string,
  options: Pick<ChartPullOptions, 'provenance' | 'signal' | 'onWarning' | 'onProgress'> = {},
): Promise<{ pulled: PulledChart; blobs: Map<string, Uint8Array> }> {
  const where = `${repo.name}@${fetched.descriptor.digest}`;
  if (isIndexMediaType(fetched.descriptor.mediaType))
    throw invalid(where, 'is an image index; a Helm chart manifest was expected');
  if (fetched.descriptor.mediaType !== MediaType.OciManifest)
    throw invalid(where, `unexpected manifest media type ${fetched.descriptor.mediaType}`);
  const m = fetched.manifest;
  const config = parseDescriptor(m.config, `${where} config`);
  if (config.mediaType !== MediaType.HelmConfig)
    throw invalid(
      where,
      `could not load config with mediatype ${MediaType.HelmConfig} (found ${config.mediaType})`,
    );
  if (!Array.isArray(m.layers)) throw invalid(where, 'manifest has no layers array');
  const layers = m.layers.map((l, i) => parseDescriptor(l, `${where} layer ${i}`));
  const charts = layers.filter(
    (l) => l.mediaType === MediaType.HelmChartContent || l.mediaType === LEGACY_CHART_LAYER_MEDIA_TYPE,
  );
  if (charts.length === 0)
    throw invalid(where, `manifest does not contain a layer with mediatype ${MediaType.HelmChartContent}`);
  if (charts.length > 1)
    throw invalid(where, `manifest has ${charts.length} chart layers; exactly one expected`);
  const provs = layers.filter((l) => l.mediaType === MediaType.HelmProvenance);
  if (provs.length > 1)
    throw invalid(where, `manifest has ${provs.length} provenance layers; at most one expected`);
  if (options.provenance && provs.length === 0)
    throw invalid(where, `manifest does not contain a layer with mediatype ${MediaType.HelmProvenance}`);
  const chartDesc = charts[0]!;
  if (chartDesc.mediaType === LEGACY_CHART_LAYER_MEDIA_TYPE)
    options.onWarning?.(`chart media type ${LEGACY_CHART_LAYER_MEDIA_TYPE} is deprecated`);

  // The blobs are fetched at once (on a registry far away, a round trip each saved); the
  // config is still checked first, as Helm does, and a bad config (or any failure) stops
  // the other fetches and waits for them before it is reported.
  const provDesc = provs[0];
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const configFetch = fetchBytes(repo, config, MAX_CONFIG_BYTES, 'config', signal);
  const archiveFetch = fetchBytes(
    repo,
    chartDesc,
    MAX_CHART_BYTES,
    'chart layer',
    signal,
    options.onProgress,
  );
  const provFetch = provDesc ? fetchBytes(repo, provDesc, MAX_PROV_BYTES, 'provenance', signal) : undefined;
  const fetches = [configFetch, archiveFetch, provFetch];
  for (const f of fetches) f?.catch(() => {}); // awaited below
  let configBytes: Uint8Array;
  let configObj: Record<string, unknown>;
  let archive: Uint8Array;
  let provenance: Uint8Array | undefined;
  try {
    configBytes = await configFetch;
    let configJson: unknown;
    try {
      configJson = parseJsonBounded(new TextDecoder('utf-8', { fatal: true }).decode(configBytes), {
        what: `${where}: config`,
      });
    } catch (e) {
      if (isDepthLimitError(e)) throw e;
      throw new ChartproofError('INVALID_CONFIG', `${where}: config is not valid JSON`, { cause: e });
    }
    if (configJson === null || typeof configJson !== 'object' || Array.isArray(configJson))
      throw new ChartproofError('INVALID_CONFIG', `${where}: config is not a JSON object`);
    configObj = configJson as Record<string, unknown>;
    if (typeof configObj.name !== 'string' || typeof configObj.version !== 'string')
      throw new ChartproofError('INVALID_CONFIG', `${where}: config lacks a string name and version`);
    archive = await archiveFetch;
    provenance = await provFetch;
  } catch (e) {
    stop.abort(e);
    await Promise.allSettled(fetches);
    throw e;
  }
  const out: PulledChart = {
    archive,
    config: configObj,
    manifestDigest: fetched.descriptor.digest,
    chartDigest: chartDesc.digest,
    pinned: repo.pinned(fetched.descriptor.digest),
    version: configObj.version as string,
    tag,
  };
  const blobs = new Map<string, Uint8Array>([
    [config.digest, configBytes],
    [chartDesc.digest, archive],
  ]);
  if (provDesc && provenance) {
    out.provenance = provenance;
    blobs.set(provDesc.digest, provenance);
  }
  return { pulled: out, blobs };
}
