/**
 * Air-gapped mirroring: export the planned charts, with their upstream signatures,
 * into OCI image layout directories on removable media, and import such an export
 * into the internal registry with the same verification and scanning as
 * {@link applyMirror}. The export is untrusted on the way in: everything is verified
 * again, in a quarantine, before it reaches the target.
 */
import { constants } from 'node:fs';
import { lstat, mkdtemp, readFile, rm } from 'node:fs/promises';
import { messageOf as message } from '../internal/guards.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadChartArchive } from '../chart/load.js';
import { buildChartManifest } from '../chart/oci.js';
import { ChartproofError } from '../errors.js';
import { isDepthLimitError, parseJsonBounded } from '../internal/bounded-parse.js';
import { writeFileAtomic } from '../fs.js';
import type { RegistryClient } from '../oci/client.js';
import { clientTransport, registerClientTransport } from '../oci/internal/transport.js';
import { copy } from '../oci/copy.js';
import type { Descriptor } from '../oci/descriptor.js';
import { digestOf } from '../oci/digest.js';
import { isTarPath, packDirectory, unpackTar } from '../oci/dir-tar.js';
import { OciLayout } from '../oci/layout.js';
import { MediaType } from '../oci/media-types.js';
import type { Reference } from '../oci/reference.js';
import type { Repository, RepositoryOptions } from '../oci/repository.js';
import { imageSummary, type MirrorReport, type MirrorResult } from './apply.js';
import { canonicalizeLayoutIndex, exportChartImages, type ImageLayouts } from './airgap-images.js';
import {
  type MirrorOptions,
  type MirrorPlanItem,
  type MirrorVerification,
  mapLimit,
  planMirror,
  sourceOf,
} from './plan.js';
import type { Finding } from './scan.js';
import { chartImages, imagesPrefix, type MirrorSpec, targetRepository } from './spec.js';

/** Name of the manifest file written at the top of an export directory. @public */
export const AIRGAP_MANIFEST_FILE = 'chartproof-mirror.json';

/** Largest manifest file read on import (16 MiB). */
const MAX_MANIFEST_FILE_BYTES = 16 * 1024 * 1024;

/** One chart version in an export. @public */
export interface AirgapEntry {
  name: string;
  /** The spec's version or range this version was resolved from. */
  requested: string;
  version: string;
  kind: 'oci' | 'repo';
  /** Where it came from (`oci://…:tag` or the archive URL). */
  source: string;
  /** OCI: the upstream manifest digest; classic: the archive digest. */
  sourceDigest: string;
  /** The layout directory, relative to the export directory: the chart name. */
  layout: string;
  /** The tag in that layout, which is also the target tag. */
  tag: string;
  /** The manifest digest the tag names (OCI: equal to `sourceDigest`). */
  digest: string;
  /** Classic: the archive's file name, as named in its `.prov`. */
  fileName?: string;
  /** Upstream signatures, attestations and referrers stored with it. */
  signatures: number;
  verification?: MirrorVerification;
  findings: Finding[];
  warnings: Finding[];
  /**
   * With `images` (the exporting spec mirrors this chart's images): every image the
   * chart renders with the spec's values, each stored whole in its own layout. Absent in
   * exports of charts whose images are not mirrored (and in exports made before images
   * were supported); `[]` for a chart that deploys no image.
   */
  images?: AirgapImage[];
  /**
   * With `images`: the values overlay the exporting spec computed (its `prefix` names the
   * exporting spec's target). For review only: import computes the overlay again from
   * the verified chart and the importing spec and never reads this one.
   */
  overlay?: { prefix: string; yaml: string };
}

/** One image of an exported chart version ({@link AirgapEntry.images}). @public */
export interface AirgapImage {
  /** The normalised upstream reference the chart renders (`docker.io/library/nginx:1.27`). */
  source: string;
  /** The internal reference under the exporting spec's target (import computes its own). */
  target: string;
  /** The manifest or index digest (the upstream digest; an index keeps every platform). */
  digest: string;
  /** Its media type. */
  mediaType?: string;
  /**
   * The image's layout directory, relative to the export directory:
   * `images/<registry>/<repository>` of the upstream reference (a port's `:` written `_`).
   * One layout per image repository, shared by every chart and tag of that repository.
   */
  layout: string;
  /** The tag in that layout (the upstream tag; absent for a reference by digest only). */
  tag?: string;
  /** Upstream signatures, attestations and referrers stored with it. */
  signatures: number;
  verification?: MirrorVerification;
}

/** Options of {@link exportMirror}. @public */
export interface ExportMirrorOptions extends MirrorOptions {
  /** Seconds since the epoch recorded as `exportedAt` (e.g. `SOURCE_DATE_EPOCH`). Default: no time recorded. */
  sourceDateEpoch?: number;
}

/** Content of {@link AIRGAP_MANIFEST_FILE}. @public */
export interface AirgapManifest {
  schemaVersion: 1;
  /**
   * The export's time (RFC 3339), only when {@link ExportMirrorOptions.sourceDateEpoch}
   * was given (the CLI passes `SOURCE_DATE_EPOCH`): without it the field is omitted, so
   * the same export gives the same bytes.
   */
  exportedAt?: string;
  entries: AirgapEntry[];
}

export { message };

export function summarize(results: MirrorResult[], started: number): MirrorReport {
  const summary: MirrorReport['summary'] = { copied: 0, skipped: 0, refused: 0, failed: 0 };
  for (const r of results) summary[r.status]++;
  const images = imageSummary(results);
  if (images) summary.images = images;
  return { startedAt: new Date(started).toISOString(), durationMs: Date.now() - started, results, summary };
}

export function splitTarget(target: string): { repository: string; tag: string } {
  const at = target.lastIndexOf(':');
  return { repository: target.slice(0, at), tag: target.slice(at + 1) };
}

function bindAll<T extends object>(target: T, override: (key: string | symbol) => unknown): T {
  return new Proxy(target, {
    get(t, key) {
      const o = override(key);
      if (o !== undefined) return o;
      const v = Reflect.get(t, key, t);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
}

/**
 * A view of `client` in which the spec's target repositories look empty: export
 * plans every version as if the target had nothing, because the air-gapped side
 * needs every chart whatever the (often unreachable) target holds. Sources are
 * read through `client` unchanged.
 */
function withEmptyTarget(client: RegistryClient, spec: MirrorSpec): RegistryClient {
  const targets = new Set(spec.charts.map((c) => targetRepository(spec, c)));
  // The images' repositories: everything under each images prefix of the target.
  const imagePrefixes = new Set<string>();
  for (const c of spec.charts) {
    const images = chartImages(spec, c);
    if (images) imagePrefixes.add(`${spec.target.registry}/${imagesPrefix(spec, images)}/`);
  }
  const isTarget = (name: string) => targets.has(name) || [...imagePrefixes].some((p) => name.startsWith(p));
  const view = bindAll(client, (key) => {
    if (key !== 'repository') return undefined;
    return (ref: string | Reference, options?: RepositoryOptions): Repository => {
      const repo = client.repository(ref, options);
      if (!isTarget(`${repo.reference.registry}/${repo.reference.repository}`)) return repo;
      const absent = async (reference: string | Descriptor) => {
        const what = typeof reference === 'string' ? reference : reference.digest;
        throw new ChartproofError('NOT_FOUND', `${what}: not looked up at the target on export`);
      };
      return bindAll(repo, (k) => {
        if (k === 'resolve' || k === 'fetchManifest') return absent;
        if (k === 'exists') return async () => false;
        if (k === 'tags' || k === 'referrers') return async () => [];
        return undefined;
      });
    };
  });
  // Classic repositories (index.yaml, archives, .prov) are read through the client's
  // own transport, which the view lends unchanged.
  registerClientTransport(view, clientTransport(client));
  return view;
}

export async function readManifest(dir: string): Promise<AirgapManifest | undefined> {
  const path = join(dir, AIRGAP_MANIFEST_FILE);
  let bytes: Buffer;
  try {
    const st = await lstat(path);
    if (!st.isFile()) throw new ChartproofError('INVALID_ARGUMENT', `${path} is not a regular file`);
    if (st.size > MAX_MANIFEST_FILE_BYTES)
      throw new ChartproofError('INVALID_ARGUMENT', `${path} exceeds ${MAX_MANIFEST_FILE_BYTES} bytes`);
    // Not following links, and not blocking should a FIFO replace the file meanwhile.
    bytes = await readFile(path, {
      flag: constants.O_RDONLY | constants.O_NOFOLLOW | (constants.O_NONBLOCK ?? 0),
    });
  } catch (e) {
    if (e instanceof ChartproofError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ChartproofError('IO', `cannot read ${path}: ${message(e)}`, { cause: e });
  }
  let v: unknown;
  try {
    v = parseJsonBounded(bytes.toString('utf8'), { what: path, source: 'local' });
  } catch (e) {
    if (isDepthLimitError(e)) throw e;
    throw new ChartproofError('INVALID_ARGUMENT', `${path} is not valid JSON: ${message(e)}`, { cause: e });
  }
  const m = v as Partial<AirgapManifest> | null;
  if (typeof m !== 'object' || m === null || m.schemaVersion !== 1 || !Array.isArray(m.entries))
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      `${path} is not a chartproof mirror export (schemaVersion 1)`,
    );
  const strings = [
    'name',
    'requested',
    'version',
    'kind',
    'source',
    'sourceDigest',
    'layout',
    'tag',
    'digest',
  ];
  m.entries.forEach((e, i) => {
    const bad = strings.find((k) => typeof (e as unknown as Record<string, unknown>)?.[k] !== 'string');
    if (bad) throw new ChartproofError('INVALID_ARGUMENT', `${path}: entries[${i}].${bad} must be a string`);
    if (e.kind !== 'oci' && e.kind !== 'repo')
      throw new ChartproofError('INVALID_ARGUMENT', `${path}: entries[${i}].kind must be oci or repo`);
    checkImages(e, `${path}: entries[${i}]`);
  });
  return m as AirgapManifest;
}

/** Checks the shape of an entry's optional `images` and `overlay` (added after schemaVersion 1 was set). */
function checkImages(e: AirgapEntry, where: string): void {
  const bad = (what: string) => new ChartproofError('INVALID_ARGUMENT', `${where}.${what}`);
  const record = e as unknown as Record<string, unknown>;
  if (record.images !== undefined) {
    if (!Array.isArray(record.images)) throw bad('images must be a list');
    record.images.forEach((img: unknown, j: number) => {
      const r = img as Record<string, unknown> | null;
      if (typeof r !== 'object' || r === null) throw bad(`images[${j}] must be a mapping`);
      for (const k of ['source', 'target', 'digest', 'layout'])
        if (typeof r[k] !== 'string') throw bad(`images[${j}].${k} must be a string`);
      for (const k of ['tag', 'mediaType'])
        if (r[k] !== undefined && typeof r[k] !== 'string') throw bad(`images[${j}].${k} must be a string`);
    });
  }
  if (record.overlay !== undefined) {
    const o = record.overlay as Record<string, unknown> | null;
    if (typeof o !== 'object' || o === null || typeof o.prefix !== 'string' || typeof o.yaml !== 'string')
      throw bad('overlay must have prefix and yaml strings');
  }
}

/** Writes a planned `copy` item into the chart's layout; returns its manifest and referrer count. */
async function exportItem(
  item: MirrorPlanItem,
  layout: OciLayout,
  options: MirrorOptions,
): Promise<{ root: Descriptor; signatures: number }> {
  const { signal } = options;
  const { tag } = splitTarget(item.target);
  if (item.kind === 'oci') {
    const src = item.source.replace(/^oci:\/\//, '');
    const srcRepo = options.client.repository(src.slice(0, src.lastIndexOf(':')));
    // Signatures always travel in the export: import verifies them again. Whether they
    // are carried into the target is the importing spec's `carrySignatures`.
    // What planning downloaded (and verified) is served from memory.
    const source = sourceOf(item, srcRepo);
    const copied = await copy(source, item.sourceDigest!, layout, undefined, {
      tags: [tag],
      referrers: true,
      cosignTags: true,
      ...(signal ? { signal } : {}),
    });
    return { root: copied.descriptor, signatures: copied.referrers.length + copied.cosignTags.length };
  }
  // The same bytes pushChart writes in applyMirror (same inputs, same creation time),
  // so export + import gives the digest a direct apply gives.
  const chart = await loadChartArchive(item.archive!, signal ? { signal } : {});
  const built = buildChartManifest(item.archive!, chart.metadata, {
    creationTime: item.created ?? '1970-01-01T00:00:00Z',
    ...(item.provenance ? { provenance: item.provenance } : {}),
  });
  for (const b of [built.config, ...built.layers]) await layout.push(b.desc, b.data, { signal });
  const root: Descriptor = {
    mediaType: MediaType.OciManifest,
    digest: digestOf(built.manifest),
    size: built.manifest.byteLength,
  };
  await layout.push(root, built.manifest, { signal });
  await layout.tag(root, tag, { signal });
  return { root, signatures: 0 };
}

function resultOf(item: MirrorPlanItem): MirrorResult {
  const status = ({ copy: 'copied', skip: 'skipped', refuse: 'refused', fail: 'failed' } as const)[
    item.action
  ];
  const r: MirrorResult = {
    name: item.name,
    requested: item.requested,
    version: item.version,
    source: item.source,
    target: item.target,
    status,
    signaturesCarried: 0,
    findings: item.findings,
    warnings: item.warnings,
    durationMs: 0,
  };
  if (item.reason) r.reason = item.reason;
  if (item.verification) r.verification = item.verification;
  return r;
}

/**
 * Exports the spec's charts for an air-gapped target. It plans like
 * {@link planMirror} (resolution at the source, upstream signature verification,
 * scanning) except that the target is not consulted: every resolvable version that
 * passes is exported, whether or not the target already has it, since the
 * air-gapped side needs all of them.
 *
 * Layout of `dir`: one OCI image layout per chart in `dir/<name>/` (tags = target
 * tags, `+` as `_`), so `oras`, `skopeo` (`oci:dir/<name>:<tag>`) and `regctl`
 * (`ocidir://dir/<name>:<tag>`) can read it; and {@link AIRGAP_MANIFEST_FILE}
 * listing each exported version with its digests, verification result and
 * findings. OCI charts are stored byte for byte with their referrers and cosign
 * `.sig`/`.att`/`.sbom` tags; classic charts as the Helm OCI artifact
 * {@link applyMirror} would push (with the `.prov` layer when one was verified).
 * Exporting again into the same directory adds to it (same version: replaced).
 *
 * A `dir` ending in `.tar` is written as one reproducible tar of that directory tree
 * instead (through a temporary directory, renamed into place at the end); exporting
 * again into an existing tar adds to it the same way.
 *
 * The same export (same spec, same upstream content) gives the same bytes: the
 * manifest has no time unless `sourceDateEpoch` is set.
 *
 * Result statuses: `copied` (exported), `skipped` (a second range resolving to the
 * same version), `refused`, `failed`.
 * @throws ChartproofError `IO`, `INVALID_ARGUMENT` (an unreadable existing manifest)
 * @public
 */
export async function exportMirror(
  spec: MirrorSpec,
  dir: string,
  options: ExportMirrorOptions,
): Promise<MirrorReport> {
  if (!isTarPath(dir)) return exportToDir(spec, dir, options);
  return withTempDir(async (tmp) => {
    if (await isFile(dir)) await unpackTar(dir, tmp, options.signal ? { signal: options.signal } : {});
    const report = await exportToDir(spec, tmp, options);
    await packDirectory(tmp, dir, options.signal ? { signal: options.signal } : {});
    return report;
  });
}

export async function isFile(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isFile();
  } catch {
    return false;
  }
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'chartproof-airgap-')).catch((e) => {
    throw new ChartproofError('IO', `cannot create a temporary directory: ${message(e)}`, { cause: e });
  });
  try {
    return await fn(join(dir, 'export'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function exportToDir(
  spec: MirrorSpec,
  dir: string,
  options: ExportMirrorOptions,
): Promise<MirrorReport> {
  const started = Date.now();
  const previous = await readManifest(dir);
  const plan = await planMirror(spec, { ...options, client: withEmptyTarget(options.client, spec) });
  const byChart = new Map<string, MirrorPlanItem[]>();
  for (const item of plan) byChart.set(item.name, [...(byChart.get(item.name) ?? []), item]);
  const exported = new Map<MirrorPlanItem, AirgapEntry>();
  const imageLayouts: ImageLayouts = new Map();
  const perChart = await mapLimit([...byChart.values()], spec.concurrency ?? 4, async (items) => {
    const out: MirrorResult[] = [];
    let layout: OciLayout | undefined;
    for (const item of items) {
      const t0 = Date.now();
      const result = resultOf(item);
      if (item.action === 'copy') {
        try {
          // Images first, as apply copies them: a chart is exported with all its images or not at all.
          const chart = spec.charts.find((c) => c.name === item.name);
          const settings = chart ? chartImages(spec, chart) : undefined;
          let images: AirgapImage[] | undefined;
          if (settings) {
            if (!item.images || !item.overlay)
              throw new ChartproofError('INVALID_ARGUMENT', 'the chart’s images were not planned');
            const out = await exportChartImages(item, settings, dir, imageLayouts, options);
            result.images = out.results;
            if (!out.entries) {
              const failed = out.results.filter((r) => r.status !== 'copied');
              throw new ChartproofError(
                'COPY_FAILED',
                `image ${failed[0]!.source}${failed.length > 1 ? ` (and ${failed.length - 1} more)` : ''}: ${failed[0]!.reason}`,
              );
            }
            images = out.entries;
          }
          layout ??= await OciLayout.open(join(dir, item.name), { create: true, signal: options.signal });
          const { root, signatures } = await exportItem(item, layout, options);
          const { tag } = splitTarget(item.target);
          const entry: AirgapEntry = {
            name: item.name,
            requested: item.requested,
            version: item.version,
            kind: item.kind,
            source: item.source,
            sourceDigest: item.sourceDigest!,
            layout: item.name,
            tag,
            digest: root.digest,
            signatures,
            findings: item.findings,
            warnings: item.warnings,
          };
          if (item.kind === 'repo') entry.fileName = item.source.slice(item.source.lastIndexOf('/') + 1);
          if (item.verification) entry.verification = item.verification;
          if (images) {
            entry.images = images;
            entry.overlay = { prefix: item.overlay!.prefix, yaml: item.overlay!.yaml };
            result.overlay = { ...entry.overlay };
          }
          exported.set(item, entry);
          result.digest = root.digest;
          result.pinned = `${splitTarget(item.target).repository}@${root.digest}`;
          result.signaturesCarried = signatures;
          options.onEvent?.({ name: item.name, version: item.version, step: 'copied', detail: root.digest });
        } catch (e) {
          options.signal?.throwIfAborted();
          result.status = 'failed';
          result.reason = message(e);
        }
      }
      result.durationMs = Date.now() - t0;
      options.onEvent?.({ name: item.name, version: item.version, step: 'done', detail: result.status });
      out.push(result);
    }
    return out;
  });
  // Concurrent copies recorded manifests in varying order: canonical order, same bytes.
  const chartLayouts = [...new Set([...exported.values()].map((e) => e.layout))];
  for (const path of [...chartLayouts, ...[...imageLayouts.keys()].sort()])
    if (
      await (imageLayouts.get(path) ?? Promise.resolve()).then(
        () => true,
        () => false,
      )
    )
      await canonicalizeLayoutIndex(join(dir, path));
  // Plan order, whatever order the charts finished in.
  const entries = plan.flatMap((i) => exported.get(i) ?? []);
  const key = (e: AirgapEntry) => `${e.layout}:${e.tag}`;
  const fresh = new Set(entries.map(key));
  const manifest: AirgapManifest = {
    schemaVersion: 1,
    ...(options.sourceDateEpoch !== undefined
      ? { exportedAt: new Date(options.sourceDateEpoch * 1000).toISOString() }
      : {}),
    entries: [...(previous?.entries ?? []).filter((e) => !fresh.has(key(e))), ...entries],
  };
  await writeFileAtomic(join(dir, AIRGAP_MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, 0o644, {
    dirMode: 0o755,
  });
  return summarize(perChart.flat(), started);
}
