import type { Digest } from '../oci/digest.js';

/** A maintainer entry of `Chart.yaml`. @public */
export interface ChartMaintainer {
  name?: string;
  email?: string;
  url?: string;
}

/** A dependency entry of `Chart.yaml` (or `requirements.yaml`) and `Chart.lock`. @public */
export interface ChartDependency {
  name: string;
  version?: string;
  repository: string;
  condition?: string;
  tags?: string[];
  enabled?: boolean;
  'import-values'?: unknown[];
  alias?: string;
}

/**
 * `Chart.yaml` metadata, with Helm's field names. Field order here is the order Helm's
 * Go struct marshals them in (the OCI config blob depends on it).
 * @public
 */
export interface ChartMetadata {
  name: string;
  home?: string;
  sources?: string[];
  version: string;
  description?: string;
  keywords?: string[];
  maintainers?: ChartMaintainer[];
  icon?: string;
  apiVersion: string;
  condition?: string;
  tags?: string;
  appVersion?: string;
  deprecated?: boolean;
  annotations?: Record<string, string>;
  kubeVersion?: string;
  dependencies?: ChartDependency[];
  type?: string;
}

/**
 * A resolved dependency of `Chart.lock`: `name`, `version`, `repository`, plus the
 * per-dependency content digests chartproof pins (Helm ignores unknown fields).
 * @public
 */
export interface ChartLockDependency extends ChartDependency {
  /**
   * `sha256:<hex>` of the dependency's chart archive (`.tgz`): the field and format
   * proposed for Helm in helm/helm#32243. For OCI sources it equals the chart layer
   * digest. Not part of Helm's top-level lock digest.
   */
  digest?: string;
  /**
   * chartproof extension: `sha256:<hex>` of the OCI manifest the archive was pinned
   * from (OCI sources only).
   */
  manifestDigest?: string;
}

/** `Chart.lock` / `requirements.lock`. @public */
export interface ChartLock {
  generated?: string;
  digest: string;
  dependencies: ChartLockDependency[];
}

/** One file of a chart, path relative to the chart root with `/` separators. @public */
export interface ChartFile {
  name: string;
  data: Uint8Array;
}

/** A loaded chart. @public */
export interface Chart {
  metadata: ChartMetadata;
  /** Raw `Chart.yaml` bytes (BOM stripped). */
  chartYaml: Uint8Array;
  /** Parsed `values.yaml` (documents merged), or an empty object. */
  values: Record<string, unknown>;
  /** Raw `values.yaml` bytes, if present (the renderer re-reads them with Helm's YAML semantics). */
  valuesYaml?: Uint8Array;
  /** `values.schema.json` bytes, if present. */
  schema?: Uint8Array;
  /** Files under `templates/`. */
  templates: ChartFile[];
  /** Everything else (includes `crds/`, README, `.helmignore`, `requirements.yaml`). */
  files: ChartFile[];
  /** `Chart.lock` or `requirements.lock`, if present. */
  lock?: ChartLock;
  /** Subcharts from `charts/*.tgz` and `charts/<name>/`. */
  dependencies: Chart[];
  /**
   * sha256 of the archive the chart was loaded from: set for charts loaded from a
   * `.tgz` and for subcharts vendored as `charts/*.tgz`; unset for directories.
   */
  digest?: Digest;
}
