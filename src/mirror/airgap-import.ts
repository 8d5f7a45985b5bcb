import { join } from 'node:path';
import semver from 'semver';
import { ociTagForVersion } from '../chart/config.js';
import { isLenientSemver, parseVersionConstraint } from '../chart/metadata.js';
import { pullChart } from '../chart/oci.js';
import { attributeErrors, ChartproofError } from '../errors.js';
import { RegistryClient } from '../oci/client.js';
import { copy } from '../oci/copy.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { Digest } from '../oci/digest.js';
import { unpackTar } from '../oci/dir-tar.js';
import { OciLayout } from '../oci/layout.js';
import type { Repository } from '../oci/repository.js';
import type { Signer } from '../sign/signer.js';
import { MemoryRegistry } from '../testing/memory-registry.js';
import {
  type ApplyMirrorOptions,
  internalSigner,
  type MirrorReport,
  type MirrorResult,
  signAndTag,
} from './apply.js';
import { type MirrorOptions, mapLimit, planItem, provenanceProblem, tagDigest } from './plan.js';
import { type MirrorChart, type MirrorSpec, targetRepository } from './spec.js';

import {
  AIRGAP_MANIFEST_FILE,
  type AirgapEntry,
  isFile,
  message,
  readManifest,
  summarize,
  withTempDir,
} from './airgap.js';

/** Host name of the in-memory quarantine registry used on import; never resolved. */
const QUARANTINE = 'quarantine.invalid';

/** Which spec entry, if any, allows importing `entry`; else why not. */
function admit(spec: MirrorSpec, entry: AirgapEntry): { chart: MirrorChart } | { refuse: string } {
  const chart = spec.charts.find((c) => c.name === entry.name);
  if (!chart) return { refuse: 'the chart is not in the mirror spec' };
  if ((chart.source ? 'oci' : 'repo') !== entry.kind)
    return { refuse: `the spec takes this chart from a ${chart.source ? 'OCI' : 'classic'} source` };
  if (!chart.versions.includes(entry.requested))
    return { refuse: `the spec does not request ${JSON.stringify(entry.requested)}` };
  const ok = isLenientSemver(entry.requested)
    ? ociTagForVersion(entry.requested) === ociTagForVersion(entry.version)
    : (() => {
        const { range, namesPrerelease } = parseVersionConstraint(entry.requested);
        const v = semver.valid(entry.version);
        return v !== null && semver.satisfies(v, range, { includePrerelease: namesPrerelease });
      })();
  if (!ok) return { refuse: `version ${entry.version} does not satisfy ${JSON.stringify(entry.requested)}` };
  if (entry.tag !== ociTagForVersion(entry.version))
    return { refuse: `layout tag ${entry.tag} is not the tag of version ${entry.version}` };
  if (entry.layout !== chart.name)
    return { refuse: `layout ${JSON.stringify(entry.layout)} is not ${chart.name}` };
  return { chart };
}

/**
 * Verifies one layout entry in a fresh in-memory quarantine registry with the
 * planner itself ({@link planItem} against the quarantine as the source), plus the
 * `.prov` check for classic charts. Returns the quarantine repository holding the
 * verified content, or the reason to refuse.
 */
async function quarantine(
  entry: AirgapEntry,
  chart: MirrorChart,
  layout: OciLayout,
  spec: MirrorSpec,
  qclient: RegistryClient,
  result: MirrorResult,
  options: MirrorOptions,
): Promise<{ repo: Repository; root: Descriptor } | { refuse: string }> {
  const { signal } = options;
  const repo = qclient.repository(`${QUARANTINE}/source/${chart.name}`);
  let root: Descriptor;
  try {
    root = await layout.resolve(entry.tag, { signal });
    if (root.digest !== entry.digest)
      return { refuse: `the layout tag names ${root.digest}, its manifest file ${entry.digest}` };
    if (entry.kind === 'oci' && root.digest !== entry.sourceDigest)
      return { refuse: `the layout holds ${root.digest}, not the upstream digest ${entry.sourceDigest}` };
    await copy(layout, root.digest, repo, undefined, {
      tags: [entry.tag],
      referrers: true,
      cosignTags: true,
      ...(signal ? { signal } : {}),
    });
  } catch (e) {
    signal?.throwIfAborted();
    return { refuse: `the layout is damaged or was tampered with: ${message(e)}` };
  }
  // The planner, pointed at the quarantine: same version resolution, signature
  // verification (cosign) and scanners as plan/apply. Classic charts have no cosign
  // policy (planRepo refuses one); their .prov is checked below.
  const qchart: MirrorChart = { name: chart.name, source: `oci://${repo.name}`, versions: [entry.version] };
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
  const item = await planItem(qchart, entry.version, qspec, { ...options, client: qclient });
  result.findings = item.findings;
  result.warnings = item.warnings;
  if (item.verification) result.verification = item.verification;
  if (item.action !== 'copy') return { refuse: item.reason ?? `not importable (${item.action})` };
  if (item.sourceDigest !== root.digest)
    return { refuse: `quarantine resolved ${item.sourceDigest}, expected ${root.digest}` };
  if (entry.kind === 'repo') {
    const pulled = await pullChart(qclient, `${repo.name}@${root.digest}`, signal ? { signal } : {});
    if (pulled.chartDigest !== entry.sourceDigest)
      return {
        refuse: `the chart archive is ${pulled.chartDigest}, the export recorded ${entry.sourceDigest}`,
      };
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
  return { repo, root };
}

async function importEntry(
  entry: AirgapEntry,
  dir: string,
  spec: MirrorSpec,
  signer: Signer | undefined,
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
  const q = new MemoryRegistry();
  const qclient = new RegistryClient({ fetch: q.fetch, plainHttp: true, retry: { maxRetries: 0 } });
  try {
    const current = await tagDigest(dst, entry.tag, signal);
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
      layout = await OciLayout.open(join(dir, chart.name), signal ? { signal } : {});
    } catch (e) {
      if (e instanceof ChartproofError && e.code !== 'IO')
        return done('refused', `the layout is damaged or missing: ${e.message}`);
      throw e;
    }
    const checked = await quarantine(entry, chart, layout, spec, qclient, result, options);
    if ('refuse' in checked) return done('refused', checked.refuse);
    const carry = spec.carrySignatures ?? true;
    const copied = await copy(checked.repo, checked.root.digest, dst, undefined, {
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
  } finally {
    await qclient.close();
  }
}

/**
 * Imports an export made by {@link exportMirror} (a directory, or a tar file of
 * one) into the target registry. The export is untrusted media, and its manifest file only says what to look
 * for: each entry must be requested by `spec` (chart, kind, requested version or
 * range, matching version and tag), then its layout content is copied into a fresh
 * in-memory quarantine registry (every blob verified against its digest on the way)
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
  const byChart = new Map<string, AirgapEntry[]>();
  for (const e of manifest.entries) byChart.set(e.name, [...(byChart.get(e.name) ?? []), e]);
  const perChart = await mapLimit([...byChart.values()], spec.concurrency ?? 4, async (entries) => {
    const out: MirrorResult[] = [];
    for (const e of entries) out.push(await importEntry(e, dir, spec, signer, options));
    return out;
  });
  return summarize(perChart.flat(), started);
}
