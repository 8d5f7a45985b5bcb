/**
 * Helm's OCI config blob, byte for byte: `json.Marshal` of Helm's `chart.Metadata`
 * with Go's `encoding/json` (see `internal/encoding/go-json.ts`).
 */
import { GoRaw, goJsonStruct, utf8Bytes } from '../internal/encoding/go-json.js';
import { sanitizeHelmString, sanitizeList as sanList, sanitizeOptional as san } from './sanitize.js';
import type { ChartDependency, ChartMaintainer, ChartMetadata } from './types.js';

function maintainerJson(m: ChartMaintainer | null | undefined): string {
  if (m === null || m === undefined) return 'null';
  return goJsonStruct([
    ['name', san(m.name), true],
    ['email', san(m.email), true],
    ['url', san(m.url), true],
  ]);
}

function dependencyJson(d: ChartDependency | null | undefined): string {
  if (d === null || d === undefined) return 'null';
  return goJsonStruct([
    ['name', sanitizeHelmString(d.name ?? ''), false],
    ['version', san(d.version), true],
    ['repository', sanitizeHelmString(d.repository ?? ''), false],
    ['condition', san(d.condition), true],
    ['tags', sanList(d.tags), true],
    ['enabled', d.enabled, true],
    ['import-values', d['import-values'], true],
    ['alias', d.alias, true],
  ]);
}

/**
 * The config blob `helm push` writes: `json.Marshal` of Helm's `chart.Metadata`.
 * Keys follow the Go struct order, every key is `omitempty`, `annotations` are sorted,
 * `apiVersion` defaults to `v1`. Strings Helm sanitises on load are sanitised here too
 * (a no-op for metadata that came from a Helm-compatible loader).
 * @public
 */
export function helmConfigJson(meta: ChartMetadata): Uint8Array {
  const maintainers = meta.maintainers;
  const dependencies = meta.dependencies;
  const json = goJsonStruct([
    ['name', san(meta.name), true],
    ['home', san(meta.home), true],
    ['sources', sanList(meta.sources), true],
    ['version', meta.version, true],
    ['description', san(meta.description), true],
    ['keywords', sanList(meta.keywords), true],
    [
      'maintainers',
      maintainers?.length ? new GoRaw(`[${maintainers.map(maintainerJson).join(',')}]`) : undefined,
      true,
    ],
    ['icon', san(meta.icon), true],
    ['apiVersion', meta.apiVersion || 'v1', true],
    ['condition', san(meta.condition), true],
    ['tags', san(meta.tags), true],
    ['appVersion', san(meta.appVersion), true],
    ['deprecated', meta.deprecated, true],
    ['annotations', meta.annotations, true],
    ['kubeVersion', san(meta.kubeVersion), true],
    [
      'dependencies',
      dependencies?.length ? new GoRaw(`[${dependencies.map(dependencyJson).join(',')}]`) : undefined,
      true,
    ],
    ['type', meta.type, true],
  ]);
  return utf8Bytes(json);
}
