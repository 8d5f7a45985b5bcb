import type { TemplateSet } from './set.js';
import type { GoValue } from './value.js';

/**
 * What a template function (or struct method) can see of the running execution.
 * `include`/`tpl`-style functions re-enter the executor through it and share the
 * execution's limits (output budget, depth, deadline, signal).
 * @public
 */
export interface FuncContext {
  /** The template set being executed (for `tpl`: clone it, parse, execute the clone). */
  readonly templates: TemplateSet;
  /** Name of the template currently executing (Go's `s.tmpl.Name()`). */
  readonly templateName: string;
  /**
   * Executes the named template of `set` (default: {@link FuncContext.templates}) into a
   * string, like Go's `ExecuteTemplate`. Throws a `TemplateError` (Go's message) when it
   * fails, or a limit/abort error that must be rethrown unchanged.
   */
  executeTemplate(name: string, data: GoValue, set?: TemplateSet): string;
  /** Counts `n` characters of produced data against the output budget (throws `RENDER_LIMIT`). */
  charge(n: number): void;
  /** Checks the deadline and abort signal (throws `TIMEOUT` / the signal's reason). */
  checkpoint(): void;
  /** Per-execution storage shared by all nested calls (e.g. Helm's include counters). */
  readonly scratch: Map<unknown, unknown>;
}
