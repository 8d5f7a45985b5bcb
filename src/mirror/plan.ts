/**
 * Mirror planning: resolve each chart version at its source, compare with the
 * target, and check upstream signatures and the scanner policy, without writing.
 */
import { readFile } from 'node:fs/promises';
import { pullChart, pullFetchedChart, resolveChartVersion } from '../chart/oci.js';
import type { Descriptor } from '../oci/descriptor.js';
import {
  archiveFileName,
  downloadRepoEntry,
  fetchRepoIndex,
  readCapped,
  resolveRepoChartVersion,
  resolveRepoUrl,
} from '../chart/repo.js';
import { isLenientSemver, ociTagForVersion, versionForOciTag } from '../chart/version.js';
import { ChartproofError, isNotFoundError } from '../errors.js';
import { messageOf as message } from '../internal/guards.js';
import type { RegistryClient } from '../oci/client.js';
import { clientTransport } from '../oci/internal/transport.js';
import { MediaType } from '../oci/media-types.js';
import { discard } from '../oci/transport/errors.js';
import { MAX_MANIFEST_BYTES } from '../oci/verify.js';
import { PrefetchedSource } from '../oci/prefetched.js';
import type { FetchedManifest, Fetcher, Named, ReadOnlyTarget, Resolver } from '../oci/target.js';
import type { VerificationPolicy } from '../verify/policy.js';
import { mapLimit } from '../internal/map-limit.js';
import { verifyPolicy } from './policy.js';
import { loadedChart, sharedRender } from './chart-renders.js';
import { MirrorRunCache } from './run-cache.js';
import { renderingScannerWith } from './rendered-scanner.js';
import { builtinScanner, type Finding, runScanners, type Scanner } from './scan.js';
import { BUILTIN_RULES } from './builtin-scanner.js';
import {
  applyImagesPlan,
  type ImagesPlan,
  lookUpImages,
  type MirrorImageItem,
  type MirrorOverlay,
  planImages,
} from './images.js';
import { chartImages, type MirrorChart, type MirrorSpec, targetRepository } from './spec.js';
import { type ChartRequest, chartRequests } from './versions.js';

/**
 * What will happen (plan) or happened (apply) to one chart version:
 * `copy`/`copied`, `skip`/`skipped` (the target already has it), `refuse`/`refused`
 * (upstream verification or the scanner said no, or the target holds other content
 * under the tag), `fail`/`failed` (the version does not exist, or a registry failed).
 * @public
 */
export type MirrorAction = 'copy' | 'skip' | 'refuse' | 'fail';

/** Upstream verification outcome. @public */
export interface MirrorVerification {
  /** `cosign` (OCI signatures) or `provenance` (classic `.prov`), or `none` when not configured. */
  method: 'cosign' | 'provenance' | 'none';
  verified: boolean;
  required: boolean;
  /** Signature format that verified (cosign). */
  format?: string;
  reason?: string;
}

/** One chart version in a plan. @public */
export interface MirrorPlanItem {
  name: string;
  /** The requested version or range. */
  requested: string;
  /** The resolved version (empty when it could not be resolved). */
  version: string;
  kind: 'oci' | 'repo';
  /** `oci://…/name:tag` or the archive URL. */
  source: string;
  /** `registry/prefix/name:tag`. */
  target: string;
  /** OCI: the source manifest digest; classic: the archive digest. */
  sourceDigest?: string;
  /** The digest the target tag names now, if any. */
  targetDigest?: string;
  action: MirrorAction;
  reason?: string;
  verification?: MirrorVerification;
  findings: Finding[];
  /** Findings at or above `scan.warn` (and below `scan.block`). */
  warnings: Finding[];
  /**
   * The chart's images when the spec mirrors them (`images`): one entry per image the
   * chart renders with the spec's values. Any image refused or failed refuses or fails
   * the chart version.
   */
  images?: MirrorImageItem[];
  /** The values overlay pointing the chart at the mirrored images (with `images`). */
  overlay?: MirrorOverlay;
  /** The chart archive planning read (for the image render). @internal */
  chartArchive?: Uint8Array;
  /** Classic sources: the verified archive and `.prov`, kept for apply. @internal */
  archive?: Uint8Array;
  /** @internal */
  provenance?: Uint8Array;
  /** @internal */
  created?: string;
  /** OCI sources: the verified manifest and blobs downloaded while planning. @internal */
  prefetched?: {
    root: Descriptor;
    bytes: Uint8Array;
    blobs: Map<string, Uint8Array>;
    sourceTags?: ReadonlySet<string>;
  };
}

/**
 * A plan item as reported (`chartproof mirror plan --json`): every documented field,
 * none of the internal ones (downloaded bytes, prefetched manifests).
 * @public
 */
export type MirrorPlanEntry = Omit<
  MirrorPlanItem,
  'archive' | 'provenance' | 'created' | 'prefetched' | 'chartArchive'
>;

/** The reportable part of a plan item: drops the internal fields (bytes, prefetched content). @public */
export function mirrorPlanEntry(item: MirrorPlanItem): MirrorPlanEntry {
  const { archive: _a, provenance: _p, created: _c, prefetched: _f, chartArchive: _r, ...entry } = item;
  return entry;
}

/**
 * The source to copy an OCI item from: what planning downloaded (and verified) is
 * served from memory, and the source's tag list answers for absent signature tags.
 * @internal
 */
export function sourceOf(item: MirrorPlanItem, repo: ReadOnlyTarget): ReadOnlyTarget {
  const p = item.prefetched;
  return p ? new PrefetchedSource(repo, p.root, p.bytes, p.blobs, p.sourceTags) : repo;
}

/** Options shared by plan and apply. @public */
export interface MirrorOptions {
  /** The client for sources and the target (its per-host settings apply). */
  client: RegistryClient;
  /** Extra scanners run with the built-in one. */
  scanners?: Scanner[];
  signal?: AbortSignal;
  /** Progress, one event per chart version and step. */
  onEvent?: (event: MirrorEvent) => void;
}

/** Progress of a mirror run. @public */
export interface MirrorEvent {
  name: string;
  version: string;
  /** `images`: the chart's images were planned; `image`: one image was copied (detail: its pinned reference). */
  step: 'resolved' | 'verified' | 'scanned' | 'images' | 'image' | 'copied' | 'signed' | 'tagged' | 'done';
  detail?: string;
}

/** The target tag's digest, or undefined when the tag does not exist. */
async function targetDigest(
  client: RegistryClient,
  target: string,
  signal?: AbortSignal,
  cache?: MirrorRunCache,
): Promise<string | undefined> {
  const at = target.lastIndexOf(':');
  const repo = client.repository(target.slice(0, at));
  // With the target's tag list in hand, an absent tag needs no request.
  const known = cache ? await cache.tags(repo, signal) : undefined;
  if (known && !known.has(target.slice(at + 1))) return undefined;
  return tagDigest(repo, target.slice(at + 1), signal);
}

/** The digest a tag names, or undefined when the tag does not exist. @internal */
export async function tagDigest(
  repo: Resolver,
  tag: string,
  signal?: AbortSignal,
): Promise<string | undefined> {
  try {
    return (await repo.resolve(tag, { signal })).digest;
  } catch (e) {
    if (isNotFoundError(e)) return undefined;
    throw e;
  }
}

/**
 * Called with a chart version's archive just before it is scanned (by {@link planItem},
 * to start the image lookups beside the scan).
 */
type BeforeScan = (archive: Uint8Array) => void;

async function scan(
  item: MirrorPlanItem,
  archive: Uint8Array,
  spec: MirrorSpec,
  options: MirrorOptions,
  beforeScan?: BeforeScan,
): Promise<boolean> {
  const chart = await loadedChart(archive, options.signal);
  beforeScan?.(archive);
  const allowed = spec.scan?.allowedImages ? { allowedImages: spec.scan.allowedImages } : {};
  const chartSpec = spec.charts.find((c) => c.name === item.name);
  const severities = spec.scan?.severities ?? {};
  // Without rendering only the text rules run: overrides of rendered-only rules do not apply.
  const textSeverities = Object.fromEntries(
    Object.entries(severities).filter(([rule]) => BUILTIN_RULES.some((r) => r.id === rule)),
  );
  const builtin =
    spec.scan?.render === false
      ? builtinScanner({ ...allowed, severities: textSeverities })
      : renderingScannerWith(
          {
            ...allowed,
            severities,
            ...(chartSpec?.values ? { values: chartSpec.values } : {}),
            ...(spec.scan?.kubeVersion !== undefined ? { kubeVersion: spec.scan.kubeVersion } : {}),
          },
          // Its render with the spec's values is the image overlay's too (chart-renders.ts).
          sharedRender,
        );
  const policy: {
    block?: NonNullable<MirrorSpec['scan']>['block'];
    warn?: NonNullable<MirrorSpec['scan']>['warn'];
  } = {};
  if (spec.scan?.block) policy.block = spec.scan.block;
  if (spec.scan?.warn) policy.warn = spec.scan.warn;
  const verdict = await runScanners(
    chart,
    [builtin, ...(options.scanners ?? [])],
    policy,
    options.signal ? { signal: options.signal } : {},
  );
  item.findings = verdict.findings;
  item.warnings = verdict.warnings;
  options.onEvent?.({
    name: item.name,
    version: item.version,
    step: 'scanned',
    detail: `${verdict.findings.length} finding(s)`,
  });
  if (verdict.blocked) {
    item.action = 'refuse';
    const top = verdict.blocking[0]!;
    item.reason = `scanner: ${verdict.blocking.length} blocking finding(s), e.g. ${top.rule} (${top.severity}) in ${top.file ?? top.chart}: ${top.message}`;
    return false;
  }
  return true;
}

async function planOci(
  item: MirrorPlanItem,
  chart: MirrorChart,
  spec: MirrorSpec,
  options: MirrorOptions,
  cache: MirrorRunCache | undefined,
  version?: string,
  beforeScan?: BeforeScan,
): Promise<void> {
  const { client, signal } = options;
  const sourceRepo = chart.source!.replace(/^oci:\/\//, '').replace(/\/+$/, '');
  const repo = client.repository(sourceRepo);
  // An exact version is its own tag (Helm's rule); a range lists the tags. One GET
  // then gives the digest and the manifest bytes, reused for scanning and copying.
  // A range expanded by allMatching is planned as the exact version it matched.
  const exact = version ?? (isLenientSemver(item.requested) ? item.requested : undefined);
  let tag: string;
  if (exact !== undefined) tag = ociTagForVersion(exact);
  else {
    const listed = cache ? await cache.tags(repo, signal) : undefined;
    tag = await resolveChartVersion(repo, item.requested, {
      ...(listed ? { tags: listed } : {}),
      ...(signal ? { signal } : {}),
    });
  }
  let fetched: FetchedManifest;
  try {
    fetched = await repo.fetchManifest(tag, { signal });
  } catch (e) {
    if (!isNotFoundError(e)) throw e;
    throw new ChartproofError(
      'NOT_FOUND',
      `${repo.name}: could not locate a version matching provided version string ${item.requested}`,
      { cause: e },
    );
  }
  const desc = fetched.descriptor;
  item.version = versionForOciTag(tag);
  item.source = `oci://${sourceRepo}:${tag}`;
  item.sourceDigest = desc.digest;
  item.target = `${targetRepository(spec, chart)}:${ociTagForVersion(item.version)}`;
  options.onEvent?.({ name: item.name, version: item.version, step: 'resolved', detail: desc.digest });
  const current = await targetDigest(client, item.target, signal, cache);
  if (current !== undefined) {
    item.targetDigest = current;
    if (current === desc.digest) {
      item.action = 'skip';
      item.reason = 'the target already has this digest';
    } else {
      item.action = 'refuse';
      item.reason = `the target tag names ${current}, the source ${desc.digest}: not overwritten (upstream re-published, or the target was changed)`;
    }
    return;
  }
  await checkOciChart(
    item,
    chart,
    spec,
    {
      target: repo,
      fetched,
      tag,
      verify: async (policy) => {
        const { verifyChart } = await import('../verify/chart.js');
        return verifyChart(client, `${sourceRepo}@${desc.digest}`, {
          policy,
          ...(signal ? { signal } : {}),
        });
      },
      // The source's tag list tells which signature and referrers tags exist.
      ...(cache ? { tags: () => cache.tags(repo, signal) } : {}),
    },
    options,
    beforeScan,
  );
}

/** An OCI chart version fetched for checking, and how to check its signatures. @internal */
export interface FetchedOciChart {
  /** Where the manifest came from: a source repository, or the air-gap quarantine store. */
  target: Fetcher & Named;
  fetched: FetchedManifest;
  /** The tag it was fetched by (`+` as `_`). */
  tag: string;
  /** Verifies the manifest's signatures with `policy` where they are stored. */
  verify: (policy: VerificationPolicy) => Promise<{ format: string }>;
  /** The tag list of `target`, when listing pays off (absent signature tags then need no request). */
  tags?: () => Promise<ReadonlySet<string> | undefined>;
}

/**
 * The checks of an OCI chart version, the same for plan, apply and the air-gap
 * import: upstream signatures per the chart's `verify` policy, then the chart is
 * pulled (config, chart and provenance layers, digest-verified; kept for the copy)
 * and scanned. Sets `item.action` to `copy`, or to `refuse` with the reason.
 * @internal
 */
export async function checkOciChart(
  item: MirrorPlanItem,
  chart: MirrorChart,
  spec: MirrorSpec,
  source: FetchedOciChart,
  options: MirrorOptions,
  beforeScan?: BeforeScan,
): Promise<void> {
  const { signal } = options;
  const desc = source.fetched.descriptor;
  const policy = await verifyPolicy(chart.verify);
  const required = chart.verify?.required ?? true;
  if (policy) {
    try {
      const r = await source.verify(policy);
      item.verification = { method: 'cosign', verified: true, required, format: r.format };
    } catch (e) {
      if (!(e instanceof ChartproofError) || !['SIGNATURE_INVALID', 'SIGNATURE_NOT_FOUND'].includes(e.code))
        throw e;
      item.verification = { method: 'cosign', verified: false, required, reason: e.message };
      if (required) {
        item.action = 'refuse';
        item.reason = `upstream signature: ${e.message}`;
        return;
      }
    }
    options.onEvent?.({
      name: item.name,
      version: item.version,
      step: 'verified',
      detail: String(item.verification.verified),
    });
  } else {
    item.verification = { method: 'none', verified: false, required: false };
  }
  const { pulled, blobs } = await pullFetchedChart(
    source.target,
    source.fetched,
    source.tag,
    signal ? { signal } : {},
  );
  item.prefetched = { root: desc, bytes: source.fetched.bytes, blobs };
  item.chartArchive = pulled.archive;
  const sourceTags = source.tags ? await source.tags() : undefined;
  if (sourceTags) item.prefetched.sourceTags = sourceTags;
  if (!(await scan(item, pulled.archive, spec, options, beforeScan))) return;
  item.action = 'copy';
}

async function planRepo(
  item: MirrorPlanItem,
  chart: MirrorChart,
  spec: MirrorSpec,
  options: MirrorOptions,
  cache: MirrorRunCache | undefined,
  listTags: boolean,
  version?: string,
  beforeScan?: BeforeScan,
): Promise<void> {
  const { client, signal } = options;
  const name = chart.chart ?? chart.name;
  const index = cache
    ? await cache.index(client, chart.repo!, signal)
    : await fetchRepoIndex(client, chart.repo!, signal ? { signal } : {});
  const entry = resolveRepoChartVersion(index, name, version ?? item.requested);
  item.version = entry.version;
  item.target = `${targetRepository(spec, chart)}:${ociTagForVersion(entry.version)}`;
  if (chart.verify && (chart.verify.key || chart.verify.identity || chart.verify.identityRegExp)) {
    item.action = 'refuse';
    item.reason =
      'cosign verification applies to OCI sources; classic repositories are verified with a keyring (.prov)';
    return;
  }
  // The entry that chose the version is the one the download is checked against (the
  // index is not fetched again: it may have changed since).
  const got = await downloadRepoEntry(client, chart.repo!, name, entry, signal ? { signal } : {});
  item.source = got.url;
  item.sourceDigest = got.digest;
  item.archive = got.archive;
  if (typeof entry.created === 'string' && !Number.isNaN(Date.parse(entry.created)))
    item.created = `${new Date(entry.created).toISOString().slice(0, 19)}Z`;
  options.onEvent?.({ name: item.name, version: item.version, step: 'resolved', detail: got.digest });
  const current = await targetDigest(client, item.target, signal, listTags ? cache : undefined);
  if (current !== undefined) {
    item.targetDigest = current;
    const at = item.target.lastIndexOf(':');
    const fetched = await client.repository(item.target.slice(0, at)).fetchManifest(current, { signal });
    const layers = Array.isArray(fetched.manifest.layers)
      ? (fetched.manifest.layers as Array<{ mediaType?: string; digest?: string }>)
      : [];
    const chartLayer = layers.find((l) => l.mediaType === MediaType.HelmChartContent);
    if (chartLayer?.digest === got.digest) {
      item.action = 'skip';
      item.reason = 'the target already has this chart archive';
    } else {
      item.action = 'refuse';
      item.reason = `the target tag holds another chart archive (${chartLayer?.digest ?? 'none'}, source ${got.digest}): not overwritten`;
    }
    return;
  }
  const required = chart.verify?.required ?? true;
  if (!got.verified && required && chart.verify) {
    item.action = 'refuse';
    item.reason = 'the repository index has no digest for this chart: its download cannot be verified';
    return;
  }
  if (chart.verify?.keyring) {
    let reason: string | undefined;
    const provUrl = resolveRepoUrl(chart.repo!, `${got.url}.prov`);
    const res = await clientTransport(client).send({ method: 'GET', url: provUrl, scopes: [], signal });
    if (res.status !== 200) {
      await discard(res);
      reason = `no .prov file (${res.status})`;
    } else {
      const provenance = await readCapped(res, MAX_MANIFEST_BYTES, `${provUrl}`);
      reason = await provenanceProblem(got.archive, provenance, chart.verify.keyring, {
        fileName: archiveFileName(got.url),
      });
      // Only a `.prov` the keyring verified travels with the chart.
      if (reason === undefined) item.provenance = provenance;
    }
    item.verification = { method: 'provenance', verified: reason === undefined, required };
    if (reason !== undefined) {
      item.verification.reason = reason;
      if (required) {
        item.action = 'refuse';
        item.reason = `provenance: ${reason}`;
        return;
      }
    }
  } else {
    item.verification = { method: 'none', verified: false, required: false };
  }
  if (!(await scan(item, got.archive, spec, options, beforeScan))) return;
  item.action = 'copy';
}

/**
 * Why a chart's `.prov` does not verify with the keyring file, or undefined when it
 * does. Errors other than a failed verification (unreadable keyring) are thrown.
 * @internal
 */
export async function provenanceProblem(
  archive: Uint8Array,
  provenance: Uint8Array,
  keyringPath: string,
  options: { fileName: string },
): Promise<string | undefined> {
  try {
    const keyring = await readFile(keyringPath);
    const { verifyProvenance } = await import('../chart/provenance.js');
    await verifyProvenance(archive, provenance, keyring, options);
    return undefined;
  } catch (e) {
    if (
      !(e instanceof ChartproofError) ||
      !['SIGNATURE_INVALID', 'CHART_INVALID', 'DIGEST_MISMATCH'].includes(e.code)
    )
      throw e;
    return e.message;
  }
}

/**
 * Plans one requested version of one chart; never throws for that chart's own failures.
 * With a run cache, tag lists and repository indexes are shared across versions.
 * `request` carries the version an `allMatching` range was expanded to (or why the
 * expansion failed): see {@link chartRequests}.
 */
export async function planItem(
  chart: MirrorChart,
  requested: string,
  spec: MirrorSpec,
  options: MirrorOptions,
  runCache?: MirrorRunCache,
  request?: Omit<ChartRequest, 'requested'>,
): Promise<MirrorPlanItem> {
  const item: MirrorPlanItem = {
    name: chart.name,
    requested,
    version: '',
    kind: chart.source ? 'oci' : 'repo',
    source: chart.source ?? chart.repo ?? '',
    target: `${targetRepository(spec, chart)}`,
    action: 'fail',
    findings: [],
    warnings: [],
  };
  let early: { archive: Uint8Array; plan: Promise<ImagesPlan> } | undefined;
  try {
    // Listing a repository's tags pays off from the second version on (one request
    // instead of one probe per signature tag and target tag per version); a single
    // exact version is cheaper to probe.
    if (request?.error !== undefined) throw request.error;
    const listTags = chart.versions.length > 1 || !isLenientSemver(requested);
    const version = request?.version;
    const images = chartImages(spec, chart);
    // The images are looked up from the moment the chart is pulled, beside its scan
    // (read-only requests; their plan counts only if the chart passes).
    const beforeScan: BeforeScan | undefined = images
      ? (archive) => {
          const plan = lookUpImages(`${item.name}-${item.version}`, archive, spec, chart, images, options);
          plan.catch(() => {}); // awaited below unless the chart is refused
          early = { archive, plan };
        }
      : undefined;
    if (item.kind === 'oci')
      await planOci(item, chart, spec, options, listTags ? runCache : undefined, version, beforeScan);
    else await planRepo(item, chart, spec, options, runCache, listTags, version, beforeScan);
    if (images && (item.action === 'copy' || item.action === 'skip')) {
      // A chart already at the target still has its images checked (and copied by apply):
      // its archive is read back from the target.
      const archive =
        item.chartArchive ??
        item.archive ??
        (
          await pullChart(
            options.client,
            `${item.target.slice(0, item.target.lastIndexOf(':'))}@${item.targetDigest}`,
            {
              ...(options.signal ? { signal: options.signal } : {}),
            },
          )
        ).archive;
      const started = early as { archive: Uint8Array; plan: Promise<ImagesPlan> } | undefined;
      if (started && started.archive === archive) applyImagesPlan(item, await started.plan, options);
      else await planImages(item, archive, spec, chart, images, options);
    }
  } catch (e) {
    options.signal?.throwIfAborted();
    item.action = 'fail';
    item.reason = isNotFoundError(e) ? `not found at the source: ${message(e)}` : message(e);
  }
  // Lookups started for a chart that was then refused: nothing is left running.
  await (early as { plan: Promise<ImagesPlan> } | undefined)?.plan.catch(() => {});
  return item;
}

/** @internal */
export { mapLimit };

/**
 * Plans a mirror run without writing anything: for each chart and requested
 * version, resolves the version at the source (exact, or the newest match of a
 * range, or with `allMatching` every match), compares with the target tag (`skip` when it already names the same
 * content; `refuse` when it names other content), verifies upstream signatures per
 * the chart's `verify` policy, and runs the scanners. One chart's failure does not
 * stop the others.
 * @public
 */
export async function planMirror(spec: MirrorSpec, options: MirrorOptions): Promise<MirrorPlanItem[]> {
  const cache = new MirrorRunCache();
  const perChart = await mapLimit(spec.charts, spec.concurrency ?? 4, async (chart) => {
    const items: MirrorPlanItem[] = [];
    for (const request of await chartRequests(chart, options, cache)) {
      const item = await planItem(chart, request.requested, spec, options, cache, request);
      const first = items.find((i) => i.action === 'copy' && i.target === item.target);
      if (item.action === 'copy' && first) {
        item.action = 'skip';
        item.reason = `same version as ${JSON.stringify(first.requested)}`;
      }
      items.push(item);
    }
    return items;
  });
  return perChart.flat();
}
