/**
 * The values half of `helm template` (Helm v4.1.4 `action.Install` in client-only
 * mode), up to the point where the engine takes over: user values, dependency
 * processing, coalescing, schema validation, `.Release`/`.Capabilities` and the
 * chart `kubeVersion` check, in Helm's order.
 */
import type { Chart } from '../../chart/types.js';
import { ChartproofError } from '../../errors.js';
import type { GoMap } from '../template/value.js';
import {
  type Capabilities,
  type CapabilitiesOptions,
  capabilitiesValue,
  checkKubeVersion,
  defaultCapabilities,
  type ReleaseOptions,
  releaseValue,
} from './capabilities.js';
import { coalesceValues, type WarnFn } from './coalesce.js';
import {
  checkDependencies,
  checkInstallable,
  processDependencies,
  type ValuesChartTree,
} from './dependencies.js';
import { newMap, setKey, type Values } from './go.js';
import { type SchemaLimits, validateSchemas } from './schema.js';

/** Options of {@link toRenderValues}. @public */
export interface RenderValuesOptions {
  release: ReleaseOptions;
  capabilities: Capabilities;
  /** `--skip-schema-validation`. */
  skipSchemaValidation?: boolean;
  schemaLimits?: SchemaLimits;
  warn?: WarnFn;
}

/**
 * Helm's `ToRenderValuesWithSchemaValidation` for a processed tree: coalesces the
 * user values over the chart's (processed) defaults, validates every chart's
 * `values.schema.json`, and returns the top-level render values
 * `{Capabilities, Release, Values}` (`.Chart` is per chart, built by the engine).
 * @throws ChartproofError `VALUES_INVALID` (type mismatch, schema violations).
 * @public
 */
export function toRenderValues(
  chart: ValuesChartTree,
  userValues: Values | null,
  opts: RenderValuesOptions,
): GoMap {
  const vals = coalesceValues(chart, userValues, opts.warn);
  if (opts.skipSchemaValidation !== true) validateSchemas(chart, vals, opts.schemaLimits);
  const top = newMap();
  setKey(top, 'Capabilities', capabilitiesValue(opts.capabilities));
  setKey(top, 'Release', releaseValue(opts.release));
  setKey(top, 'Values', vals);
  return top;
}

/** Options of {@link prepareRender}. @public */
export interface PrepareRenderOptions extends CapabilitiesOptions {
  release: ReleaseOptions;
  /** User values (from {@link mergeUserValues}); null = none. */
  userValues: Values | null;
  skipSchemaValidation?: boolean;
  schemaLimits?: SchemaLimits;
  /** Receives Helm's warnings (Helm logs them on stderr). */
  warn?: WarnFn;
}

/** What {@link prepareRender} hands to the engine. @public */
export interface PreparedRender {
  /** The dependency-processed chart tree (disabled subcharts removed, aliases applied). */
  chart: ValuesChartTree;
  /** Top-level render values `{Capabilities, Release, Values}`. */
  values: GoMap;
  capabilities: Capabilities;
}

/**
 * Everything `helm template` does between loading the chart and rendering it, in
 * Helm v4.1.4's order: installable check (`library charts are not installable`),
 * missing-dependency check, `ProcessDependencies`, coalescing + schema validation,
 * then the top chart's `kubeVersion` constraint. (`--kube-version` parsing and
 * `MergeValues` come first in Helm: call {@link defaultCapabilities} /
 * {@link mergeUserValues} before loading the chart to keep the error order.)
 * @public
 */
export function prepareRender(chart: Chart, opts: PrepareRenderOptions): PreparedRender {
  const capabilities = defaultCapabilities(opts);
  checkInstallable(chart);
  if ((chart.metadata.dependencies ?? []).length > 0) {
    try {
      checkDependencies(chart);
    } catch (e) {
      if (!(e instanceof ChartproofError)) throw e;
      throw new ChartproofError(
        e.code,
        `an error occurred while checking for chart dependencies. You may need to run \`helm dependency build\` to fetch missing dependencies: ${e.message}`,
        { cause: e },
      );
    }
  }
  let tree: ValuesChartTree;
  try {
    tree = processDependencies(chart, opts.userValues, opts.warn ? { warn: opts.warn } : {});
  } catch (e) {
    // Helm's install action wraps these (`chart dependencies processing failed: …`).
    if (e instanceof ChartproofError) {
      throw new ChartproofError(e.code, `chart dependencies processing failed: ${e.message}`, { cause: e });
    }
    throw e;
  }
  const values = toRenderValues(tree, opts.userValues, {
    release: opts.release,
    capabilities,
    ...(opts.skipSchemaValidation !== undefined ? { skipSchemaValidation: opts.skipSchemaValidation } : {}),
    ...(opts.schemaLimits ? { schemaLimits: opts.schemaLimits } : {}),
    ...(opts.warn ? { warn: opts.warn } : {}),
  });
  checkKubeVersion(tree, capabilities);
  return { chart: tree, values, capabilities };
}
