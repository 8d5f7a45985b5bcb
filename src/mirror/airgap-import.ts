import { pullChart, pullFetchedChart } from '../chart/oci.js';
import {
  isLenientSemver,
  ociTagForVersion,
  parseVersionRequest,
  requestMatches,
  versionForOciTag,
} from '../chart/version.js';
import { attributeErrors, ChartproofError, isNotFoundError } from '../errors.js';
import { BlobMountCache, copy } from '../oci/copy.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { Digest } from '../oci/digest.js';
import { unpackTar } from '../oci/dir-tar.js';
import type { OciLayout } from '../oci/layout.js';
import { MemoryStore } from '../oci/memory-store.js';
import type { Repository } from '../oci/repository.js';
import type { Signer } from '../keys/signer.js';
import {
  type ApplyMirrorOptions,
  internalSigner,
  type MirrorReport,
  type MirrorResult,
  signAndTag,
  signOverlay,
} from './apply.js';
import {
  checkOciChart,
  type MirrorOptions,
  type MirrorPlanItem,
  mapLimit,
  provenanceProblem,
  tagDigest,
} from './plan.js';
import {
  chartImages,
  type MirrorChart,
  type MirrorImages,
  type MirrorSpec,
  targetRepository,
} from './spec.js';
import { loadedChart } from './chart-renders.js';
import { pushOverlay } from './images.js';
import { checkImportImages, copyImportImages, isLayoutReadError, openImportLayout } from './airgap-images.js';

import {
  AIRGAP_MANIFEST_FILE,
  type AirgapEntry,
  isFile,
  message,
  readManifest,
  summarize,
  withTempDir,
} from './airgap.js';

/** Name of the in-memory quarantine in messages (`quarantine.invalid/source/<chart>`); never resolved. */
const QUARANTINE = 'quarantine.invalid';
/**
 * Bytes a chart version's quarantine holds (chart, provenance, signatures, attestations
 * and every other referrer): it is in memory, and the export is hostile. Charts are at
 * most 100 MiB (`MAX_CHART_BYTES`); images have quarantines of their own that stream.
 */
const MAX_QUARANTINE_BYTES = 256 * 1024 * 1024;

/** Which spec entry, if any, allows importing `entry`; else why not. */
function admit(spec: MirrorSpec, entry: AirgapEntry): { chart: MirrorChart } | { refuse: string } {
  const chart = spec.charts.find((c) => c.name === entry.name);
  if (!chart) return { refuse: 'the chart is not in the mirror spec' };
  if ((chart.source ? 'oci' : 'repo') !== entry.kind)
    return { refuse: `the spec takes this chart from a ${chart.source ? 'OCI' : 'classic'} source` };
  if (!chart.versions.includes(entry.requested))
    return { refuse: `the spec does not request ${JSON.stringify(entry.requested)}` };
  if (!requestMatches(parseVersionRequest(entry.requested), entry.version))
    return { refuse: `version ${entry.version} does not satisfy ${JSON.stringify(entry.requested)}` };
  if (entry.tag !== ociTagForVersion(entry.version))
    return { refuse: `layout tag ${entry.tag} is not the tag of version ${entry.version}` };
  if (entry.layout !== chart.name)
    return { refuse: `layout ${JSON.stringify(entry.layout)} is not ${chart.name}` };
  return { chart };
}

/**
 * Verifies one layout entry in a fresh in-memory quarantine (a {@link MemoryStore}:
 * every blob and manifest copied in is verified against its digest) with the
 * planner's own checks ({@link checkOciChart}: cosign signatures, pull, scanners),
 * plus the `.prov` check for classic charts. Returns the quarantine holding the
 * verified content, or the reason to refuse. Nothing leaves the quarantine before
 * every check passed.
 */
async function quarantine(
  entry: AirgapEntry,
  chart: MirrorChart,
  layout: OciLayout,
  spec: MirrorSpec,
  result: MirrorResult,
  options: MirrorOptions,
): Promise<{ store: MemoryStore; root: Descriptor; archive: Uint8Array } | { refuse: string }> {
  const { signal } = options;
  // Manifests are checked on the way in as a registry checks them, so what the target
  // would refuse is refused here, before anything is written to the target.
  const store = new MemoryStore({
    name: `${QUARANTINE}/source/${chart.name}`,
    checkManifests: true,
    maxBytes: MAX_QUARANTINE_BYTES,
  });
  let root: Descriptor;
  try {
    root = await layout.resolve(entry.tag, { signal });
    if (root.digest !== entry.digest)
      return { refuse: `the layout tag names ${root.digest}, its manifest file ${entry.digest}` };
    if (entry.kind === 'oci' && root.digest !== entry.sourceDigest)
      return { refuse: `the layout holds ${root.digest}, not the upstream digest ${entry.sourceDigest}` };
    await copy(layout, root.digest, store, undefined, {
      tags: [entry.tag],
      referrers: true,
      cosignTags: true,
      ...(signal ? { signal } : {}),
    });
  } catch (e) {
    signal?.throwIfAborted();
    if (isLayoutReadError(e)) throw e;
    return { refuse: `the layout is damaged or was tampered with: ${message(e)}` };
  }
  // The planner's checks, with the quarantine as the source: the same signature
  // verification (cosign) and scanners as plan/apply. Classic charts have no cosign
  // policy (planRepo refuses one); their .prov is checked below.
  const qchart: MirrorChart = { name: chart.name, source: `oci://${store.name}`, versions: [entry.version] };
  if (entry.kind === 'oci' && chart.verify) qchart.verify = chart.verify;
  if (
    entry.kind === 'repo' &&
    chart.verify &&
    (chart.verify.key || chart.verify.identity || chart.verify.identityRegExp)
  )
    return {
      refuse:
        'cosign verification applies to OCI sources; classic repositories are verified with a keyring (.prov)',
    };
  const qspec: MirrorSpec = { ...spec, target: { registry: QUARANTINE, prefix: 'target' }, charts: [qchart] };
  const item = await checkQuarantined(store, entry, qchart, qspec, options);
  result.findings = item.findings;
  result.warnings = item.warnings;
  if (item.verification) result.verification = item.verification;
  if (item.action !== 'copy') return { refuse: item.reason ?? `not importable (${item.action})` };
  if (item.sourceDigest !== root.digest)
    return { refuse: `quarantine resolved ${item.sourceDigest}, expected ${root.digest}` };
  let archive = item.chartArchive;
  if (entry.kind === 'repo') {
    // As `pullChart` by digest: the manifest and its layers, from the quarantine.
    const fetched = await store.fetchManifest(root.digest, signal ? { signal } : {});
    const { pulled } = await pullFetchedChart(store, fetched, '', signal ? { signal } : {});
    if (pulled.chartDigest !== entry.sourceDigest)
      return {
        refuse: `the chart archive is ${pulled.chartDigest}, the export recorded ${entry.sourceDigest}`,
      };
    archive = pulled.archive;
    const required = chart.verify?.required ?? true;
    if (chart.verify?.keyring) {
      let reason: string | undefined;
      if (!pulled.provenance) reason = 'the export has no .prov for this chart';
      else
        reason = await provenanceProblem(pulled.archive, pulled.provenance, chart.verify.keyring, {
          fileName: entry.fileName ?? `${chart.chart ?? chart.name}-${entry.version}.tgz`,
        });
      result.verification = { method: 'provenance', verified: reason === undefined, required };
      if (reason !== undefined) {
        result.verification.reason = reason;
        if (required) return { refuse: `provenance: ${reason}` };
      }
    } else {
      result.verification = { method: 'none', verified: false, required: false };
    }
  }
  if (!archive) return { refuse: 'the chart archive was not read in the quarantine' };
  // A signature covers the content, not the tag the export files it under: another
  // version (or chart) signed with the same key must not land under this tag.
  const name =
    entry.kind === 'oci'
      ? chart.source!.slice(chart.source!.lastIndexOf('/') + 1)
      : (chart.chart ?? chart.name);
  let metadata: { name?: unknown; version?: unknown };
  try {
    metadata = (await loadedChart(archive, signal)).metadata;
  } catch (e) {
    signal?.throwIfAborted();
    return { refuse: `the chart archive cannot be read: ${message(e)}` };
  }
  if (metadata.name !== name || metadata.version !== entry.version)
    return {
      refuse: `the chart archive is ${String(metadata.name)} ${String(metadata.version)}, the export files it as ${name} ${entry.version}`,
    };
  return { store, root, archive };
}

/**
 * What planning the quarantined version gives (as `planItem` would with the
 * quarantine as the chart's source): the version's tag fetched from the store, then
 * {@link checkOciChart}. Never throws for the entry's own failures.
 */
async function checkQuarantined(
  store: MemoryStore,
  entry: AirgapEntry,
  qchart: MirrorChart,
  qspec: MirrorSpec,
  options: MirrorOptions,
): Promise<MirrorPlanItem> {
  const { signal } = options;
  const item: MirrorPlanItem = {
    name: qchart.name,
    requested: entry.version,
    version: '',
    kind: 'oci',
    source: qchart.source ?? '',
    target: `${QUARANTINE}/target/${qchart.name}`,
    action: 'fail',
    findings: [],
    warnings: [],
  };
  try {
    // The planner takes an explicit version as its own tag; anything else is a range,
    // which an export entry never is.
    if (!isLenientSemver(entry.version))
      throw new ChartproofError('INVALID_ARGUMENT', `improper version: ${entry.version}`);
    const tag = ociTagForVersion(entry.version);
    let fetched: Awaited<ReturnType<MemoryStore['fetchManifest']>>;
    try {
      fetched = await store.fetchManifest(tag, signal ? { signal } : {});
    } catch (e) {
      if (!isNotFoundError(e)) throw e;
      throw new ChartproofError(
        'NOT_FOUND',
        `${store.name}: could not locate a version matching provided version string ${entry.version}`,
        { cause: e },
      );
    }
    const desc = fetched.descriptor;
    item.version = versionForOciTag(tag);
    item.source = `${qchart.source}:${tag}`;
    item.sourceDigest = desc.digest;
    item.target = `${item.target}:${tag}`;
    options.onEvent?.({ name: item.name, version: item.version, step: 'resolved', detail: desc.digest });
    await checkOciChart(
      item,
      qchart,
      qspec,
      {
        target: store,
        fetched,
        tag,
        verify: async (policy) => {
          const { verifyChart } = await import('../verify/chart.js');
          return verifyChart(store, store.pinned(desc.digest), {
            policy,
            ...(signal ? { signal } : {}),
          });
        },
      },
      options,
    );
  } catch (e) {
    signal?.throwIfAborted();
    item.action = 'fail';
    item.reason = isNotFoundError(e) ? `not found at the source: ${message(e)}` : message(e);
  }
  return item;
}

async function importEntry(
  entry: AirgapEntry,
  dir: string,
  spec: MirrorSpec,
  signer: Signer | undefined,
  mountCache: BlobMountCache,
  claims: Map<string, string>,
  options: ApplyMirrorOptions,
): Promise<MirrorResult> {
  const t0 = Date.now();
  const { client, signal } = options;
  const result: MirrorResult = {
    name: entry.name,
    requested: entry.requested,
    version: entry.version,
    source: entry.source,
    target: '',
    status: 'refused',
    signaturesCarried: 0,
    findings: [],
    warnings: [],
    durationMs: 0,
  };
  const done = (status: MirrorResult['status'], reason?: string): MirrorResult => {
    result.status = status;
    if (reason !== undefined) result.reason = reason;
    result.durationMs = Date.now() - t0;
    options.onEvent?.({ name: entry.name, version: entry.version, step: 'done', detail: status });
    return result;
  };
  const admitted = admit(spec, entry);
  if ('refuse' in admitted) return done('refused', admitted.refuse);
  const { chart } = admitted;
  result.target = `${targetRepository(spec, chart)}:${entry.tag}`;
  const dst = client.repository(targetRepository(spec, chart));
  const settings = chartImages(spec, chart);
  try {
    const current = await tagDigest(dst, entry.tag, signal);
    if (settings) {
      if (current !== undefined && current !== entry.digest) {
        result.digest = current;
        result.pinned = dst.pinned(current as Digest);
        return done(
          'refused',
          `the target tag names ${current}, the export ${entry.digest}: not overwritten (upstream re-published, or the target was changed)`,
        );
      }
      const status = await importWithImages(
        entry,
        chart,
        settings,
        current,
        dir,
        dst,
        spec,
        signer,
        mountCache,
        claims,
        result,
        options,
      );
      return done(status.status, status.reason);
    }
    if (current !== undefined) {
      result.digest = current;
      result.pinned = dst.pinned(current as Digest);
      if (current === entry.digest) return done('skipped', 'the target already has this digest');
      return done(
        'refused',
        `the target tag names ${current}, the export ${entry.digest}: not overwritten (upstream re-published, or the target was changed)`,
      );
    }
    let layout: OciLayout;
    try {
      layout = await openImportLayout(dir, chart.name, signal);
    } catch (e) {
      if (e instanceof ChartproofError && e.code !== 'IO')
        return done('refused', `the layout is damaged or missing: ${e.message}`);
      throw e;
    }
    const checked = await quarantine(entry, chart, layout, spec, result, options);
    if ('refuse' in checked) return done('refused', checked.refuse);
    const carry = spec.carrySignatures ?? true;
    const copied = await copy(checked.store, checked.root.digest, dst, undefined, {
      tags: [],
      referrers: carry,
      cosignTags: carry,
      ...(signal ? { signal } : {}),
    });
    const root = copied.descriptor;
    result.signaturesCarried = copied.referrers.length + copied.cosignTags.length;
    options.onEvent?.({ name: entry.name, version: entry.version, step: 'copied', detail: root.digest });
    await signAndTag(dst, root, entry.tag, signer, spec, result, entry, options);
    return done('copied');
  } catch (e) {
    signal?.throwIfAborted();
    return done('failed', message(e));
  }
}

/**
 * A chart version whose images the spec mirrors, in apply's order: the chart verified in
 * its quarantine (or, when the target already has it, read back from the target), its
 * overlay computed again, every image verified in its own quarantine; only then the
 * images copied (signed, tagged last), then the chart, its overlay artifact, and the
 * chart tag last.
 */
async function importWithImages(
  entry: AirgapEntry,
  chart: MirrorChart,
  settings: MirrorImages,
  current: string | undefined,
  dir: string,
  dst: Repository,
  spec: MirrorSpec,
  signer: Signer | undefined,
  mountCache: BlobMountCache,
  claims: Map<string, string>,
  result: MirrorResult,
  options: ApplyMirrorOptions,
): Promise<{ status: MirrorResult['status']; reason?: string }> {
  const { client, signal } = options;
  let archive: Uint8Array;
  let checked: { store: MemoryStore; root: Descriptor } | undefined;
  if (current !== undefined) {
    // Already imported (same digest): the target's copy is what the chart's images are
    // computed from, as apply does for a chart the target holds.
    archive = (await pullChart(client, `${dst.name}@${current}`, signal ? { signal } : {})).archive;
  } else {
    let layout: OciLayout;
    try {
      layout = await openImportLayout(dir, chart.name, signal);
    } catch (e) {
      if (e instanceof ChartproofError && e.code !== 'IO')
        return { status: 'refused', reason: `the layout is damaged or missing: ${e.message}` };
      throw e;
    }
    const q = await quarantine(entry, chart, layout, spec, result, options);
    if ('refuse' in q) return { status: 'refused', reason: q.refuse };
    checked = q;
    archive = q.archive;
  }
  const images = await checkImportImages(
    entry,
    chart,
    settings,
    archive,
    dir,
    spec,
    `${QUARANTINE}/source`,
    options,
    claims,
  );
  if ('refuse' in images) {
    if (images.images) result.images = images.images;
    return { status: images.failed ? 'failed' : 'refused', reason: images.refuse };
  }
  const at = { name: entry.name, version: entry.version };
  result.images = await copyImportImages(
    images.images,
    at,
    spec,
    settings,
    signer,
    (repo, root, tag, sign, r, tagged) =>
      signAndTag(repo, root, tag ?? '', sign, spec, r, at, { ...(signal ? { signal } : {}), tagged }),
    mountCache,
    options,
  );
  const failed = result.images.filter((i) => i.status === 'failed');
  if (failed.length > 0)
    return {
      status: 'failed',
      reason: `image ${failed[0]!.source}${failed.length > 1 ? ` (and ${failed.length - 1} more)` : ''}: ${failed[0]!.reason}`,
    };
  const items = images.images.map((i) => i.item);
  if (!checked) {
    // The chart is there: only its overlay may be missing (pushed unless already listed).
    const root = await dst.resolve(current!, { signal });
    const pushed = await pushOverlay(dst, root, images.overlay, items, signal);
    result.overlay = { prefix: images.overlay.prefix, yaml: images.overlay.yaml, digest: pushed.digest };
    if (signer) result.overlay.internalSignature = await signOverlay(dst, pushed, signer, spec, signal);
    result.digest = current!;
    result.pinned = dst.pinned(current! as Digest);
    return { status: 'skipped', reason: 'the target already has this digest' };
  }
  const carry = spec.carrySignatures ?? true;
  const copied = await copy(checked.store, checked.root.digest, dst, undefined, {
    tags: [],
    referrers: carry,
    cosignTags: carry,
    ...(signal ? { signal } : {}),
  });
  const root = copied.descriptor;
  result.signaturesCarried = copied.referrers.length + copied.cosignTags.length;
  options.onEvent?.({ name: entry.name, version: entry.version, step: 'copied', detail: root.digest });
  // The overlay goes next to the chart before the tag: a tagged chart has its overlay.
  const pushed = await pushOverlay(dst, root, images.overlay, items, signal);
  result.overlay = { prefix: images.overlay.prefix, yaml: images.overlay.yaml, digest: pushed.digest };
  if (signer) result.overlay.internalSignature = await signOverlay(dst, pushed, signer, spec, signal);
  await signAndTag(dst, root, entry.tag, signer, spec, result, entry, options);
  return { status: 'copied' };
}

/**
 * Imports an export made by {@link exportMirror} (a directory, or a tar file of
 * one) into the target registry. The export is untrusted media, and its manifest file only says what to look
 * for: each entry must be requested by `spec` (chart, kind, requested version or
 * range, matching version and tag), then its layout content is copied into a fresh
 * in-memory quarantine store (every blob verified against its digest on the way)
 * and checked there by the planner itself with the spec's policy: upstream cosign
 * signatures (OCI charts; `.prov` with the keyring for classic charts) and the
 * scanners. Only then is it copied into the target (untagged, with upstream
 * signatures when `carrySignatures`), signed with the internal key, and tagged last.
 * A tag the target already has is `skipped` when it names the same digest and
 * `refused` otherwise; a re-import writes nothing new.
 * @throws ChartproofError `NOT_FOUND` (no manifest file in `dir`), `INVALID_ARGUMENT`,
 *   `IO`, and signing-key errors (checked before anything is copied)
 * @public
 */
export async function importMirror(
  spec: MirrorSpec,
  dir: string,
  options: ApplyMirrorOptions,
): Promise<MirrorReport> {
  // The export is local input: what its reading throws (missing, hostile tar, bad
  // manifest) is attributed to `local` (the CLI exits 2); registry failures are per entry.
  if (!(await isFile(dir))) return importFromDir(spec, dir, options);
  // A tar export: unpacked (as untrusted input: files and directories only, no path
  // outside the temporary directory, bounded sizes) and imported from there.
  return withTempDir(async (tmp) => {
    await attributeErrors('local', () =>
      unpackTar(dir, tmp, options.signal ? { signal: options.signal } : {}),
    );
    return importFromDir(spec, tmp, options);
  });
}

async function importFromDir(
  spec: MirrorSpec,
  dir: string,
  options: ApplyMirrorOptions,
): Promise<MirrorReport> {
  const started = Date.now();
  const manifest = await attributeErrors('local', () => readManifest(dir));
  if (!manifest)
    throw new ChartproofError(
      'NOT_FOUND',
      `${dir} has no ${AIRGAP_MANIFEST_FILE}: not a chartproof mirror export`,
      { source: 'local' },
    );
  const signer = await internalSigner(spec, options);
  const mountCache = new BlobMountCache();
  // Internal image tags this run writes, with their digests (charts run side by side).
  const claims = new Map<string, string>();
  const byChart = new Map<string, AirgapEntry[]>();
  for (const e of manifest.entries) byChart.set(e.name, [...(byChart.get(e.name) ?? []), e]);
  const perChart = await mapLimit([...byChart.values()], spec.concurrency ?? 4, async (entries) => {
    const out: MirrorResult[] = [];
    for (const e of entries) out.push(await importEntry(e, dir, spec, signer, mountCache, claims, options));
    return out;
  });
  return summarize(perChart.flat(), started);
}
