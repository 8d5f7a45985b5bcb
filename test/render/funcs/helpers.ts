import { helmFuncs, sprigFuncs } from '../../../src/render/funcs/index.js';
import type { FuncContext } from '../../../src/render/template/context.js';
import { parseTemplates } from '../../../src/render/template/set.js';
import type { GoValue } from '../../../src/render/template/value.js';

const funcs = helmFuncs();

/** Renders a template through the engine with Helm's function map (missingkey=zero like Helm). */
export function render(text: string, data: GoValue = null): string {
  return parseTemplates([{ name: 't', text }], { funcs, missingKey: 'zero' }).execute('t', data);
}

/** Calls a function directly (arguments already converted to their Go kinds). */
export function call(name: string, ...args: GoValue[]): GoValue {
  const f = funcs[name] ?? sprigFuncs()[name];
  if (!f) throw new Error(`no function ${name}`);
  return f.call(args, {} as FuncContext);
}

/** Error message of a failed render. */
export function renderError(text: string, data: GoValue = null): string {
  try {
    render(text, data);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected the template to fail');
}

/** The text Go puts after "error calling <fn>: " in a template execution error. */
export function callError(message: string): string {
  return /error calling \w+: ([^\n]*)/.exec(message)?.[1] ?? `<no call error in: ${message}>`;
}
