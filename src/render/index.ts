/**
 * `chartproof/render`: Helm charts rendered in TypeScript as `helm template` (Helm
 * v4.1.4) renders them, with no binary. See docs/rendering.md.
 * @packageDocumentation
 */
export {
  type CrdFile,
  formatShowOnly,
  formatTemplateOutput,
  goPathMatch,
  goTrimSpace,
  type HookEvent,
  INSTALL_ORDER,
  type ManifestHead,
  type RenderedHook,
  type SortedManifest,
  type SortedRender,
  sortManifests,
  splitManifests,
  type TemplateOutputOptions,
} from './manifests.js';
export {
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_OUTPUT,
  DEFAULT_MAX_STEPS,
  type ExecuteOptions,
  type FuncContext,
  type FuncMap,
  type GoFunc,
  type GoMap,
  type GoParam,
  type GoParamKind,
  GoStruct,
  type GoValue,
  goFunc,
  isGoMap,
  isTrue,
  MISSING,
  type Missing,
  type MissingKey,
  mapGet,
  mapSet,
  newGoMap,
  type ParseLimits,
  parseTemplates,
  RenderLimitError,
  sprint,
  sprintf,
  sprintln,
  type TemplateFile,
  TemplateError,
  TemplateSet,
  type TemplateSetOptions,
  typeName,
} from './template/index.js';
export { type EngineOptions, renderTemplates } from './engine.js';
export { type OutputDirOptions, writeRenderOutputDir } from './output-dir.js';
export {
  type RenderOptions,
  type RenderPhase,
  type RenderResult,
  renderChart,
  renderErrorPartialOutput,
  renderErrorPhase,
} from './render.js';
export type { SetFileReader } from './values/strvals.js';
export type { UserValuesOptions, ValuesFile } from './values/user-values.js';
export type { ValuesYamlLimits } from './values/yaml.js';
export { type ParsedManifest, type ParseManifestsOptions, parseManifests } from './parse.js';
export type { ChartproofErrorOptions, ErrorCode, ErrorSource } from '../errors.js';
export { ChartproofError, isChartproofError } from '../errors.js';
