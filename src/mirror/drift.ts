/**
 * Drift detection: compares what the target holds with what upstream publishes now,
 * without writing anything.
 */
import { declaredSha256, downloadRepoEntry, fetchRepoIndex, type RepoIndexEntry } from '../chart/repo.js';
import {
  chartVersionTags,
  compareVersions,
  isPrerelease,
  isStrictVersion,
  ociTagForVersion,
  parseVersionRequest,
  requestMatches,
  type TaggedVersion,
} from '../chart/version.js';
import { isNotFoundError } from '../errors.js';
import { messageOf as message } from '../internal/guards.js';
import { MediaType } from '../oci/media-types.js';
import { parseReference } from '../oci/reference.js';
import type { ManifestFetcher, Resolver, TagLister } from '../oci/target.js';
import { normalizeImage } from '../workloads/images.js';
import { ChartVerificationError, verifyChart } from '../verify/chart.js';
import type { VerificationPolicy } from '../verify/policy.js';
import { fetchValuesOverlays } from './images.js';
import { type MirrorOptions, mapLimit } from './plan.js';
import {
  chartImages,
  imagesPrefix,
  type MirrorChart,
  type MirrorImages,
  type MirrorSpec,
  targetRepository,
} from './spec.js';

/**
 * `up-to-date`: the target and upstream hold the same content under the version.
 * `changed-upstream`: upstream now serves other content under a version the target
 * mirrored (a re-publish, or tampering). `changed-target` (only with
 * {@link DriftOptions.targetPolicy}): the target tag names content whose signatures do
 * not satisfy that policy, i.e. not what the mirror signed. `missing-upstream`: the
 * mirrored version is gone upstream. `newer-upstream`: a version newer than the newest
 * mirrored one that the spec would accept (informational). `failed`: the chart could
 * not be checked.
 * @public
 */
export type DriftStatus =
  | 'up-to-date'
  | 'changed-upstream'
  | 'changed-target'
  | 'missing-upstream'
  | 'newer-upstream'
  | 'failed';

/** One chart version compared. @public */
export interface DriftItem {
  name: string;
  /** Empty for a chart-wide failure. */
  version: string;
  status: DriftStatus;
  /** `registry/prefix/name:tag` (`newer-upstream`: where it would go). */
  target: string;
  /** OCI: the manifest digest the target tag names; classic: its chart layer digest. */
  targetDigest?: string;
  /** OCI: the upstream manifest digest; classic: the upstream archive digest. */
  upstreamDigest?: string;
  reason?: string;
  /**
   * With `images`: each image recorded in the chart's values overlay at the target,
   * compared with upstream and with the target.
   */
  images?: DriftImage[];
}

/**
 * One mirrored image compared: `up-to-date`; `changed-upstream` (the upstream tag now
 * names another digest: a rebuild, or tampering); `missing-upstream`; `changed-target`
 * (the internal tag no longer names the mirrored digest); `not-mirrored` (the chart has
 * no values overlay at the target: its images were never mirrored); `failed`.
 * @public
 */
export interface DriftImage {
  source: string;
  target: string;
  status:
    | 'up-to-date'
    | 'changed-upstream'
    | 'missing-upstream'
    | 'changed-target'
    | 'not-mirrored'
    | 'failed';
  /** The digest mirrored (from the overlay's image mapping). */
  digest?: string;
  upstreamDigest?: string;
  targetDigest?: string;
  reason?: string;
}

/** The report of {@link detectDrift}. @public */
export interface DriftReport {
  startedAt: string;
  durationMs: number;
  items: DriftItem[];
  summary: {
    upToDate: number;
    newerUpstream: number;
    changedUpstream: number;
    /** With {@link DriftOptions.targetPolicy} only. */
    changedTarget?: number;
    missingUpstream: number;
    failed: number;
    /** With `images`: counts of {@link DriftImage} statuses. */
    images?: Record<DriftImage['status'], number>;
  };
}

/** `Drift: N up to date, M newer upstream, K changed upstream, L missing upstream, F failed`. @public */
export function driftSummaryLine(report: Pick<DriftReport, 'summary'>): string {
  const s = report.summary;
  const i = s.images;
  const images = i
    ? `; images: ${i['up-to-date']} up to date, ${i['changed-upstream']} changed upstream, ${i['missing-upstream']} missing upstream, ${i['changed-target']} changed at the target, ${i['not-mirrored']} not mirrored, ${i.failed} failed`
    : '';
  const target = s.changedTarget === undefined ? '' : `, ${s.changedTarget} changed at the target`;
  return `Drift: ${s.upToDate} up to date, ${s.newerUpstream} newer upstream, ${s.changedUpstream} changed upstream${target}, ${s.missingUpstream} missing upstream, ${s.failed} failed${images}`;
}

async function tagsOf(repo: TagLister, signal?: AbortSignal): Promise<string[]> {
  try {
    return await repo.tags({ signal });
  } catch (e) {
    if (isNotFoundError(e)) return [];
    throw e;
  }
}

/** Chart version tags (`X.Y.Z[-pre][+meta]`, `+` as `_`) → version, sorted oldest first. */
function versionTags(tags: string[]): TaggedVersion[] {
  return chartVersionTags(tags).reverse();
}

/** Whether the spec would take `version`: it satisfies a range, or is newer than an exact pin. */
function wanted(chart: MirrorChart, version: string): boolean {
  for (const requested of chart.versions) {
    const request = parseVersionRequest(requested);
    if (request.kind === 'exact') {
      if (!isPrerelease(version)) return true;
      continue;
    }
    if (requestMatches(request, version)) return true;
  }
  return false;
}

/** Upstream state of a chart: version → a way to get its digest. */
interface Upstream {
  versions: string[];
  digest(version: string): Promise<string | undefined>;
}

async function ociUpstream(chart: MirrorChart, options: MirrorOptions): Promise<Upstream> {
  const { signal } = options;
  const repo = options.client.repository(chart.source!.replace(/^oci:\/\//, '').replace(/\/+$/, ''));
  const tags = versionTags(await tagsOf(repo, signal));
  return {
    versions: tags.map((t) => t.version),
    async digest(version) {
      try {
        return (await repo.resolve(ociTagForVersion(version), { signal })).digest;
      } catch (e) {
        if (isNotFoundError(e)) return undefined;
        throw e;
      }
    },
  };
}

async function repoUpstream(chart: MirrorChart, options: MirrorOptions): Promise<Upstream> {
  const { client, signal } = options;
  const name = chart.chart ?? chart.name;
  const index = await fetchRepoIndex(client, chart.repo!, signal ? { signal } : {});
  const entries: RepoIndexEntry[] = Object.hasOwn(index.entries, name) ? index.entries[name]! : [];
  const versions = entries.map((e) => e.version).filter((v) => isStrictVersion(v));
  return {
    versions,
    async digest(version) {
      const entry = entries.find((e) => e.version === version);
      if (!entry) return undefined;
      // The index digest is what the repository serves; without one, hash the download.
      const declared = declaredSha256(entry);
      if (declared !== undefined) return `sha256:${declared}`;
      const got = await downloadRepoEntry(client, chart.repo!, name, entry, signal ? { signal } : {});
      return got.digest;
    },
  };
}

/** The chart layer digest of the target manifest (classic sources are compared by archive). */
async function chartLayer(
  repo: ManifestFetcher,
  digest: string,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const fetched = await repo.fetchManifest(digest, { signal });
  const layers = Array.isArray(fetched.manifest.layers)
    ? (fetched.manifest.layers as Array<{ mediaType?: string; digest?: string }>)
    : [];
  return layers.find((l) => l.mediaType === MediaType.HelmChartContent)?.digest;
}

/** Options of {@link detectDrift}. @public */
export interface DriftOptions extends MirrorOptions {
  /**
   * The policy the target's content must satisfy (the public key of the spec's
   * `sign.key`, say). With it, a mirrored version whose target tag names content it
   * does not verify is `changed-target` (someone with push access moved the tag), not
   * `changed-upstream`, and only values overlays it verifies are read for the images.
   */
  targetPolicy?: VerificationPolicy;
}

async function driftOf(chart: MirrorChart, spec: MirrorSpec, options: DriftOptions): Promise<DriftItem[]> {
  const { client, signal, targetPolicy } = options;
  const targetName = targetRepository(spec, chart);
  const dst = client.repository(targetName);
  const mirrored = versionTags(await tagsOf(dst, signal));
  const upstream = chart.source ? await ociUpstream(chart, options) : await repoUpstream(chart, options);
  const items: DriftItem[] = [];
  for (const { tag, version } of mirrored) {
    const item: DriftItem = {
      name: chart.name,
      version,
      status: 'up-to-date',
      target: `${targetName}:${tag}`,
    };
    try {
      const tagged = (await dst.resolve(tag, { signal })).digest;
      const mine = chart.source ? tagged : await chartLayer(dst, tagged, signal);
      if (mine !== undefined) item.targetDigest = mine;
      const unsigned = targetPolicy
        ? await targetUnverified(client, targetName, tagged, targetPolicy, signal)
        : undefined;
      const theirs = unsigned === undefined ? await upstream.digest(version) : undefined;
      if (unsigned !== undefined) {
        item.status = 'changed-target';
        item.reason = `the target tag names ${tagged}, which the target policy does not verify (${unsigned}): moved at the target`;
      } else if (theirs === undefined) {
        item.status = 'missing-upstream';
        item.reason = 'upstream no longer has this version';
      } else {
        item.upstreamDigest = theirs;
        if (theirs !== mine) {
          item.status = 'changed-upstream';
          item.reason = `upstream now serves ${theirs} under ${version}, the target holds ${mine ?? 'no chart layer'} (re-published or tampered)`;
        }
      }
    } catch (e) {
      signal?.throwIfAborted();
      item.status = 'failed';
      item.reason = message(e);
    }
    const settings = chartImages(spec, chart);
    if (settings && item.status !== 'failed' && item.status !== 'changed-target')
      item.images = await imageDrift(item.target, spec, settings, options);
    items.push(item);
  }
  const newest = mirrored.at(-1)?.version;
  const newer = upstream.versions
    .filter((v) => (newest === undefined || compareVersions(v, newest) > 0) && wanted(chart, v))
    .sort(compareVersions);
  for (const version of [...new Set(newer)]) {
    items.push({
      name: chart.name,
      version,
      status: 'newer-upstream',
      target: `${targetName}:${ociTagForVersion(version)}`,
      reason: newest === undefined ? 'not mirrored yet' : `newer than the mirrored ${newest}`,
    });
  }
  return items;
}

async function digestOr(repo: Resolver, ref: string, signal?: AbortSignal): Promise<string | undefined> {
  try {
    return (await repo.resolve(ref, { signal })).digest;
  } catch (e) {
    if (isNotFoundError(e)) return undefined;
    throw e;
  }
}

/**
 * Why the target's `digest` does not satisfy `policy`, or undefined when it does. A
 * registry failure is thrown (the version is then `failed`, not `changed-target`).
 */
async function targetUnverified(
  client: MirrorOptions['client'],
  targetName: string,
  digest: string,
  policy: VerificationPolicy,
  signal?: AbortSignal,
): Promise<string | undefined> {
  try {
    await verifyChart(client, `${targetName}@${digest}`, { policy, ...(signal ? { signal } : {}) });
    return undefined;
  } catch (e) {
    if (e instanceof ChartVerificationError) return e.message;
    throw e;
  }
}

/** The images recorded in the overlay next to `chartRef` at the target, compared. */
async function imageDrift(
  chartRef: string,
  spec: MirrorSpec,
  settings: MirrorImages,
  options: DriftOptions,
): Promise<DriftImage[]> {
  const { client, signal, targetPolicy } = options;
  const prefix = `${spec.target.registry}/${imagesPrefix(spec, settings)}`;
  let overlays: Awaited<ReturnType<typeof fetchValuesOverlays>>;
  try {
    overlays = await fetchValuesOverlays(client, chartRef, {
      prefix,
      ...(signal ? { signal } : {}),
      ...(targetPolicy ? { policy: targetPolicy } : {}),
    });
  } catch (e) {
    signal?.throwIfAborted();
    return [{ source: '', target: prefix, status: 'failed', reason: `values overlay: ${message(e)}` }];
  }
  if (overlays.length === 0)
    return [
      {
        source: '',
        target: prefix,
        status: 'not-mirrored',
        reason: `no values overlay for ${prefix} next to the chart: its images were not mirrored`,
      },
    ];
  return mapLimit(overlays[0]!.images, settings.concurrency ?? 2, async (img) => {
    const out: DriftImage = {
      source: img.source,
      target: img.target,
      status: 'up-to-date',
      digest: img.digest,
    };
    try {
      const src = normalizeImage(img.source);
      const dst = parseReference(img.target);
      const mine = await digestOr(
        client.repository(`${dst.registry}/${dst.repository}`),
        dst.tag ?? img.digest,
        signal,
      );
      if (mine !== undefined) out.targetDigest = mine;
      const theirs = await digestOr(
        client.repository(`${src.registry}/${src.repository}`),
        src.digest ?? src.tag!,
        signal,
      );
      if (theirs !== undefined) out.upstreamDigest = theirs;
      if (mine !== img.digest) {
        out.status = 'changed-target';
        out.reason = `the internal reference names ${mine ?? 'nothing'}, ${img.digest} was mirrored`;
      } else if (theirs === undefined) {
        out.status = 'missing-upstream';
        out.reason = 'upstream no longer has this image';
      } else if (theirs !== img.digest) {
        out.status = 'changed-upstream';
        out.reason = `upstream now serves ${theirs}, ${img.digest} was mirrored (rebuilt or tampered)`;
      }
    } catch (e) {
      signal?.throwIfAborted();
      out.status = 'failed';
      out.reason = message(e);
    }
    return out;
  });
}

/**
 * Compares the target with upstream, chart by chart, without writing. For every
 * version the target holds (its chart-version tags), the upstream digest now is
 * compared with the target's: OCI sources by manifest digest (mirroring keeps it),
 * classic sources by archive digest (the index digest, else the download's) against
 * the chart layer at the target. A difference is `changed-upstream`, a sign of a
 * re-publish or of tampering; a version gone upstream is `missing-upstream`. Upstream
 * versions newer than the newest mirrored one that the spec would accept (a range
 * they satisfy, or any non-prerelease for exact pins) are listed as `newer-upstream`.
 * One chart's failure does not stop the others.
 * @public
 */
export async function detectDrift(spec: MirrorSpec, options: DriftOptions): Promise<DriftReport> {
  const started = Date.now();
  const perChart = await mapLimit(spec.charts, spec.concurrency ?? 4, async (chart) => {
    try {
      return await driftOf(chart, spec, options);
    } catch (e) {
      options.signal?.throwIfAborted();
      return [
        {
          name: chart.name,
          version: '',
          status: 'failed',
          target: targetRepository(spec, chart),
          reason: message(e),
        } satisfies DriftItem,
      ];
    }
  });
  const items = perChart.flat();
  const summary: DriftReport['summary'] = {
    upToDate: 0,
    newerUpstream: 0,
    changedUpstream: 0,
    ...(options.targetPolicy ? { changedTarget: 0 } : {}),
    missingUpstream: 0,
    failed: 0,
  };
  const key = {
    'up-to-date': 'upToDate',
    'newer-upstream': 'newerUpstream',
    'changed-upstream': 'changedUpstream',
    'changed-target': 'changedTarget',
    'missing-upstream': 'missingUpstream',
    failed: 'failed',
  } as const;
  for (const i of items) summary[key[i.status]] = (summary[key[i.status]] ?? 0) + 1;
  if (items.some((i) => i.images !== undefined)) {
    const counts: Record<DriftImage['status'], number> = {
      'up-to-date': 0,
      'changed-upstream': 0,
      'missing-upstream': 0,
      'changed-target': 0,
      'not-mirrored': 0,
      failed: 0,
    };
    for (const i of items) for (const img of i.images ?? []) counts[img.status]++;
    summary.images = counts;
  }
  return { startedAt: new Date(started).toISOString(), durationMs: Date.now() - started, items, summary };
}
