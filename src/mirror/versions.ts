/**
 * Which chart versions a spec entry asks for. An exact version is itself; a range
 * stands for its newest match at the source, or, with `allMatching: true`, for every
 * match (as `skopeo sync` and `regsync` mirror every tag a filter selects), bounded by
 * `maxVersions`.
 */
import { fetchRepoIndex } from '../chart/repo.js';
import {
  chartVersionTags,
  isLenientSemver,
  matchingVersions,
  parseVersionConstraint,
} from '../chart/version.js';
import { ChartproofError, isNotFoundError } from '../errors.js';
import type { MirrorOptions } from './plan.js';
import type { MirrorRunCache } from './run-cache.js';
import { DEFAULT_MAX_MATCHING_VERSIONS, type MirrorChart } from './spec.js';

/**
 * One version to plan for a spec entry: `requested` as written in the spec; `version`
 * set when an `allMatching` range was expanded (then it is planned as that exact
 * version); `error` when the expansion failed (the item is then `fail`). Not exported
 * from `chartproof/mirror`.
 */
export interface ChartRequest {
  requested: string;
  version?: string;
  error?: unknown;
}

/**
 * The versions the chart's spec entry asks for, in spec order; each `allMatching` range
 * expanded into every version matching it at the source (oldest first). A range with
 * no match stays as it is (planning then reports it as not found); a range matching
 * more than `maxVersions` versions, or whose source cannot be listed, becomes one
 * failed request (`SIZE_LIMIT_EXCEEDED` for the cap). Not exported from `chartproof/mirror`.
 */
export async function chartRequests(
  chart: MirrorChart,
  options: MirrorOptions,
  cache?: MirrorRunCache,
): Promise<ChartRequest[]> {
  const out: ChartRequest[] = [];
  for (const requested of chart.versions) {
    if (!chart.allMatching || isLenientSemver(requested)) {
      out.push({ requested });
      continue;
    }
    let versions: string[];
    try {
      versions = await matchingSourceVersions(chart, requested, options, cache);
    } catch (error) {
      options.signal?.throwIfAborted();
      out.push({ requested, error });
      continue;
    }
    const max = chart.maxVersions ?? DEFAULT_MAX_MATCHING_VERSIONS;
    if (versions.length > max) {
      out.push({
        requested,
        error: new ChartproofError(
          'SIZE_LIMIT_EXCEEDED',
          `${JSON.stringify(requested)} matches ${versions.length} versions of ${chart.name}, more than maxVersions (${max}): narrow the range or raise maxVersions`,
        ),
      });
      continue;
    }
    if (versions.length === 0) out.push({ requested });
    for (const version of versions) out.push({ requested, version });
  }
  return out;
}

/** Every version at the chart's source satisfying `range`, oldest first. */
async function matchingSourceVersions(
  chart: MirrorChart,
  range: string,
  options: MirrorOptions,
  cache?: MirrorRunCache,
): Promise<string[]> {
  const { client, signal } = options;
  const constraint = parseVersionConstraint(range);
  if (chart.source) {
    const repo = client.repository(chart.source.replace(/^oci:\/\//, '').replace(/\/+$/, ''));
    let tags: Iterable<string> | undefined = cache ? await cache.tags(repo, signal) : undefined;
    if (tags === undefined) {
      try {
        tags = await repo.tags(signal ? { signal } : {});
      } catch (e) {
        if (!isNotFoundError(e)) throw e;
        tags = [];
      }
    }
    const matching = matchingVersions(chartVersionTags(tags), (t) => t.version, constraint);
    return matching.map((t) => t.version).reverse();
  }
  const name = chart.chart ?? chart.name;
  const index = cache
    ? await cache.index(client, chart.repo!, signal)
    : await fetchRepoIndex(client, chart.repo!, signal ? { signal } : {});
  const entries = Object.hasOwn(index.entries, name) ? index.entries[name]! : [];
  const matching = matchingVersions(entries, (e) => e.version, constraint).map((e) => e.version);
  return [...new Set(matching)].reverse();
}
