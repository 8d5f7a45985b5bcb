import { ChartproofError } from '../../errors.js';

/**
 * A template failed to parse or execute. `message` is byte-identical to Go's
 * text/template error text (`template: <file>:<line>: …` for parse errors,
 * `template: <file>:<line>:<col>: executing "<name>" at <…>: …` for execution
 * errors), so callers such as the Helm engine can reformat it like Helm does.
 * @public
 */
export class TemplateError extends ChartproofError {
  /** Name of the template being parsed or executed. */
  readonly templateName: string;
  /** Location of the failing node, when known. */
  readonly location: { readonly file: string; readonly line: number; readonly column?: number } | undefined;
  /** For execution errors: the failing node as Go prints it (`<.Values.x>` without brackets). */
  readonly context: string | undefined;

  constructor(
    code: 'TEMPLATE_PARSE' | 'TEMPLATE_EXEC',
    message: string,
    init: {
      templateName: string;
      location?: { file: string; line: number; column?: number };
      context?: string;
      cause?: unknown;
    },
  ) {
    super(code, message, init.cause === undefined ? {} : { cause: init.cause });
    this.templateName = init.templateName;
    this.location = init.location;
    this.context = init.context;
  }
}

/**
 * A rendering bound was exceeded (output size, recursion/nesting depth, steps).
 * Code `RENDER_LIMIT`; deadlines use `TIMEOUT`, aborts `ABORTED`.
 * @public
 */
export class RenderLimitError extends ChartproofError {
  /** Which bound: `maxOutput`, `maxDepth`, `maxParseDepth`, `maxIncludeDepth`, … */
  readonly limit: string;
  constructor(limit: string, message: string) {
    super('RENDER_LIMIT', message);
    this.limit = limit;
  }
}

/** True for errors that must cross function-call boundaries unchanged. */
export function isFatalRenderError(e: unknown): boolean {
  return (
    e instanceof RenderLimitError ||
    (e instanceof ChartproofError &&
      (e.code === 'TIMEOUT' || e.code === 'ABORTED' || e.code === 'RENDER_LIMIT'))
  );
}

/**
 * V8's stack overflow. Kept free of regular expressions: it runs at the edge of the
 * stack, where compiling one can itself overflow.
 */
export function isStackOverflow(e: unknown): boolean {
  if (e instanceof RangeError) return String(e.message).includes('call stack');
  // A regular expression first compiled near the stack limit fails this way.
  return e instanceof SyntaxError && String(e.message).includes('Stack overflow');
}
