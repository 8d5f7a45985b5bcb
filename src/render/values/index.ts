/**
 * Values for the Helm renderer (Helm v4.1.4 semantics): values files, the `--set`
 * family, coalescing with globals and subchart scoping, dependency processing
 * (conditions, tags, aliases, import-values), `.Release`/`.Capabilities` and
 * `values.schema.json` validation. See docs/rendering.md ("Values").
 */
export {
  type Capabilities,
  type CapabilitiesOptions,
  capabilitiesValue,
  checkKubeVersion,
  defaultCapabilities,
  HELM_BUILD_INFO,
  HELM_DEFAULT_API_VERSIONS,
  HELM_DEFAULT_KUBE_VERSION,
  type HelmBuildInfo,
  HelmVersionStruct,
  type KubeVersion,
  KubeVersionStruct,
  parseKubeVersion,
  type ReleaseOptions,
  releaseValue,
  versionSetValue,
} from './capabilities.js';
export {
  coalesceTables,
  coalesceValues,
  GLOBAL_KEY,
  mergeChartValues,
  mergeTables,
  NoTableError,
  NoValueError,
  pathValue,
  type ValuesChart,
  valuesTable,
  type WarnFn,
} from './coalesce.js';
export {
  checkDependencies,
  checkInstallable,
  isCompatibleRange,
  type ProcessDependenciesOptions,
  processDependencies,
  toValuesTree,
  type ValuesChartTree,
} from './dependencies.js';
export { toGoValue, type Values } from './go.js';
export {
  type PreparedRender,
  type PrepareRenderOptions,
  prepareRender,
  type RenderValuesOptions,
  toRenderValues,
} from './render-values.js';
export {
  type SchemaChart,
  type SchemaLimits,
  validateAgainstSchema,
  validateAgainstSingleSchema,
  validateSchemas,
} from './schema.js';
export {
  parseSet,
  parseSetInto,
  type SetFileReader,
  type SetKind,
  STRVALS_MAX_INDEX,
  STRVALS_MAX_NESTED_NAME_LEVEL,
  StrvalsError,
  typedVal,
} from './strvals.js';
export { mergeUserValues, type UserValuesOptions, type ValuesFile } from './user-values.js';
export { mergeMaps, parseValuesYaml, splitYamlDocuments, type ValuesYamlLimits } from './yaml.js';
