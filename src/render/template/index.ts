/**
 * Go text/template in TypeScript, as used by Helm: lexer, parser, executor and Go fmt
 * printing over the shared value model (docs/rendering.md).
 */
export type { Tree } from './ast.js';
export type { FuncContext } from './context.js';
export { RenderLimitError, TemplateError } from './errors.js';
export { formatFloat, quote, sprint, sprintf, sprintln } from './fmt.js';
export { GO_METHODS, withMethods } from './methods.js';
export type { ParseLimits } from './parser.js';
export {
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_OUTPUT,
  DEFAULT_MAX_STEPS,
  type ExecuteOptions,
  type MissingKey,
  parseTemplates,
  type TemplateFile,
  TemplateSet,
  type TemplateSetOptions,
} from './set.js';
export {
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
  mapGet,
  mapSet,
  newGoMap,
  typeName,
} from './value.js';
