/**
 * `Chart.lock` serialisation as Helm writes it (`sigs.k8s.io/yaml.Marshal(lock)`),
 * shared by packaging and by `chartproof/lock`.
 */
import { marshalGoYaml } from './go-yaml.js';
import type { ChartLock, ChartLockDependency } from './types.js';

/** The JSON object Go's encoder makes of one `*Dependency` (fields with `omitempty` dropped when empty). */
function dependencyObject(dep: ChartLockDependency): Record<string, unknown> {
  const out: Record<string, unknown> = { name: dep.name ?? '' };
  if (dep.version) out.version = dep.version;
  out.repository = dep.repository ?? '';
  if (dep.condition) out.condition = dep.condition;
  if (dep.tags && dep.tags.length > 0) out.tags = dep.tags;
  if (dep.enabled) out.enabled = dep.enabled;
  if (dep['import-values'] && dep['import-values'].length > 0) out['import-values'] = dep['import-values'];
  if (dep.alias) out.alias = dep.alias;
  if (dep.digest) out.digest = dep.digest;
  if (dep.manifestDigest) out.manifestDigest = dep.manifestDigest;
  return out;
}

/**
 * Serialises a lock the way Helm's `writeLock` does (`sigs.k8s.io/yaml.Marshal`):
 * keys sorted (`dependencies`, `digest`, `generated`; in each dependency `digest`,
 * `manifestDigest`, `name`, `repository`, `version`, ...), sequences unindented,
 * `generated` quoted. A lock Helm wrote comes back byte for byte; per-dependency
 * digests appear as extra keys, which Helm's loader ignores. `generated` is kept as
 * given (Helm writes Go's RFC 3339 form with nanoseconds).
 * @public
 */
export function formatLock(lock: ChartLock): string {
  const out: Record<string, unknown> = {
    dependencies: lock.dependencies.map(dependencyObject),
    digest: lock.digest,
  };
  // Go's zero time.Time marshals as "0001-01-01T00:00:00Z"; keep what the file said.
  out.generated = lock.generated ?? '0001-01-01T00:00:00Z';
  return marshalGoYaml(out);
}
