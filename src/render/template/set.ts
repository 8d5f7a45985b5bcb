/**
 * A set of associated templates sharing one namespace of names (Go's
 * template.Template with its associated templates), and the entry point to execute them.
 */
import { ChartproofError } from '../../errors.js';
import { isEmptyTree, type Tree } from './ast.js';
import { BUILTINS } from './builtins.js';
import { isStackOverflow, RenderLimitError } from './errors.js';
import { Execution } from './exec.js';
import { DEFAULT_PARSE_LIMITS, type ParseLimits, parseFile } from './parser.js';
import type { FuncMap, GoValue } from './value.js';
import { MISSING } from './value.js';

/** Go's `missingkey` option. Helm uses `zero` (or `error` in strict lint mode). @public */
export type MissingKey = 'default' | 'invalid' | 'zero' | 'error';

/** @public */
export interface TemplateSetOptions {
  /** Name of the set as Go's root template (Helm: `gotpl`); appears in "no template … associated with template …". */
  name?: string;
  /** Functions available to templates (checked at parse time, like Go's Funcs before Parse). */
  funcs?: FuncMap;
  /** Behaviour of a missing map key. Default `default` (Go's default: `<no value>`). */
  missingKey?: MissingKey;
  /** Parser bounds. */
  parseLimits?: Partial<ParseLimits>;
}

/** @public */
export interface ExecuteOptions {
  /** Abort execution; checked regularly (loops, calls). Rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Absolute deadline (epoch ms); exceeding it throws `TIMEOUT`. */
  deadline?: number;
  /** Relative deadline in ms (from the call). */
  timeoutMs?: number;
  /**
   * Total characters this execution may produce: everything written by any template
   * (nested buffers included) plus every string returned by a function. Default 256 Mi.
   */
  maxOutput?: number;
  /** Maximum nesting of template calls (`template`, `include`, `tpl`). Default 256 (see docs/rendering.md). */
  maxDepth?: number;
  /** Evaluation steps (nodes walked, loop iterations, calls) before `RENDER_LIMIT`. Default 100 M. */
  maxSteps?: number;
}

/** Default {@link ExecuteOptions.maxOutput}. @public */
export const DEFAULT_MAX_OUTPUT = 256 * 1024 * 1024;
/** Default {@link ExecuteOptions.maxSteps}. @public */
export const DEFAULT_MAX_STEPS = 100_000_000;
/** Default {@link ExecuteOptions.maxDepth}. @public */
export const DEFAULT_MAX_DEPTH = 256;

const IDENT_RE = /^[\p{L}_][\p{L}\p{Nd}_]*$/u;

/** A template file to parse. @public */
export interface TemplateFile {
  readonly name: string;
  readonly text: string;
}

/** @public */
export class TemplateSet {
  readonly name: string;
  readonly funcs: FuncMap;
  readonly missingKey: MissingKey;
  readonly parseLimits: ParseLimits;
  readonly #trees: Map<string, Tree>;
  /** Lexical items parsed into this set (and the sets it was cloned from), against `parseLimits.maxItems`. */
  readonly #parsed: { items: number };

  constructor(options: TemplateSetOptions = {}, trees?: Map<string, Tree>, parsedItems = 0) {
    this.name = options.name ?? '';
    const funcs = options.funcs ?? {};
    for (const name of Object.keys(funcs)) {
      if (!IDENT_RE.test(name))
        throw new ChartproofError(
          'INVALID_ARGUMENT',
          `function name ${JSON.stringify(name)} is not a valid identifier`,
        );
    }
    this.funcs = funcs;
    this.missingKey = options.missingKey ?? 'default';
    this.parseLimits = { ...DEFAULT_PARSE_LIMITS, ...options.parseLimits };
    this.#trees = trees ?? new Map();
    this.#parsed = { items: parsedItems };
  }

  /** True when `name` is a function known at parse time (user function or builtin). */
  hasFunction(name: string): boolean {
    return Object.hasOwn(this.funcs, name) || Object.hasOwn(BUILTINS, name);
  }

  /**
   * Parses `text` as template `name` (Go: `t.New(name).Parse(text)`), adding it and its
   * `define`s to the set. A later definition replaces an earlier one of the same name,
   * unless the later one is empty (whitespace/comments only). Two non-empty definitions
   * of one name in the same text are an error, as in Go.
   */
  parse(name: string, text: string): this {
    const trees = parseFile(name, text, (n) => this.hasFunction(n), this.parseLimits, this.#parsed);
    for (const [n, tree] of trees) {
      const old = this.#trees.get(n);
      if (old !== undefined && isEmptyTree(tree.root)) continue;
      this.#trees.set(n, tree);
    }
    return this;
  }

  /** The parsed template called `name`, if any. */
  lookup(name: string): Tree | undefined {
    return this.#trees.get(name);
  }

  has(name: string): boolean {
    return this.#trees.has(name);
  }

  /** Names of all templates in the set (files and defines), in insertion order. */
  names(): string[] {
    return [...this.#trees.keys()];
  }

  /** A copy sharing the parsed trees (Go's Clone): later parses into either don't affect the other. */
  clone(options: Partial<Pick<TemplateSetOptions, 'funcs' | 'missingKey'>> = {}): TemplateSet {
    return new TemplateSet(
      {
        name: this.name,
        funcs: options.funcs ?? this.funcs,
        missingKey: options.missingKey ?? this.missingKey,
        parseLimits: this.parseLimits,
      },
      new Map(this.#trees),
      this.#parsed.items,
    );
  }

  /**
   * Executes template `name` with `data` as dot and `$` (Go's ExecuteTemplate), returning
   * the output. Throws `TemplateError` (Go's message), `RenderLimitError`, a `TIMEOUT`
   * `ChartproofError`, or the signal's reason.
   */
  execute(name: string, data: GoValue | undefined, options: ExecuteOptions = {}): string {
    let deadline = options.deadline;
    if (options.timeoutMs !== undefined) {
      const d = Date.now() + options.timeoutMs;
      deadline = deadline === undefined ? d : Math.min(deadline, d);
    }
    const exec = new Execution({
      maxOutput: options.maxOutput ?? DEFAULT_MAX_OUTPUT,
      maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH,
      maxSteps: options.maxSteps ?? DEFAULT_MAX_STEPS,
      deadline,
      signal: options.signal,
    });
    exec.checkpoint();
    try {
      return exec.executeTemplate(this, name, data === undefined ? MISSING : data);
    } catch (e) {
      if (isStackOverflow(e))
        throw new RenderLimitError('maxDepth', 'template nesting exhausted the JavaScript stack');
      throw e;
    }
  }
}

/**
 * Parses files into one {@link TemplateSet}, in the given order (later definitions of
 * a name replace earlier ones — Helm parses deepest paths first so parent charts win).
 * @public
 */
export function parseTemplates(files: Iterable<TemplateFile>, options: TemplateSetOptions = {}): TemplateSet {
  const set = new TemplateSet(options);
  for (const f of files) set.parse(f.name, f.text);
  return set;
}
