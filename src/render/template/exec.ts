/**
 * Executor for Go text/template (text/template/exec.go semantics and messages).
 */
import { mapMethod } from './methods.js';
import { ChartproofError } from '../../errors.js';
import type {
  ArgNode,
  BranchNode,
  ChainNode,
  CommandNode,
  FieldNode,
  IdentifierNode,
  Node,
  NumberNode,
  PipeNode,
  TemplateNode,
  Tree,
  VariableNode,
} from './ast.js';
import { nodeString } from './ast.js';
import { BUILTINS, callFunc } from './builtins.js';
import type { FuncContext } from './context.js';
import { isFatalRenderError, isStackOverflow, RenderLimitError, TemplateError } from './errors.js';
import { quote, sprint } from './fmt.js';
import type { MissingKey, TemplateSet } from './set.js';
import {
  byteLength,
  type GoFunc,
  type GoParam,
  type GoValue,
  GoStruct,
  isGoFunc,
  isGoMap,
  isTrue,
  MISSING,
  mapGet,
  sortedKeys,
  typeName,
} from './value.js';

/** Go's maxExecDepth (template-in-template depth within one Execute). */
const GO_MAX_EXEC_DEPTH = 100000;

/** Limits and cancellation shared by one top-level execution and everything it re-enters. */
export interface ExecLimits {
  /** Maximum characters produced in total (all nested buffers). */
  maxOutput: number;
  /** Maximum nesting of template calls (`template`, `include`, …) across re-entries. */
  maxDepth: number;
  /** Maximum evaluation steps (nodes walked, loop iterations, calls). */
  maxSteps: number;
  /** Epoch milliseconds after which execution fails with `TIMEOUT`. */
  deadline: number | undefined;
  signal: AbortSignal | undefined;
}

/** Sentinel: the pipeline has no previous value (Go's missingVal). */
const NO_FINAL: unique symbol = Symbol('no-final');
type Final = GoValue | typeof NO_FINAL;

const BREAK = { walk: 'break' };
const CONTINUE = { walk: 'continue' };

/** Shared, per top-level execution. */
export class Execution {
  produced = 0;
  nesting = 0;
  private steps = 0;
  readonly scratch = new Map<unknown, unknown>();

  constructor(readonly limits: ExecLimits) {}

  charge(n: number): void {
    this.produced += n;
    if (this.produced > this.limits.maxOutput)
      throw new RenderLimitError('maxOutput', `template output exceeds ${this.limits.maxOutput} characters`);
  }

  step(): void {
    if ((++this.steps & 1023) === 0) {
      if (this.steps > this.limits.maxSteps)
        throw new RenderLimitError('maxSteps', `template execution exceeded ${this.limits.maxSteps} steps`);
      this.checkpoint();
    }
  }

  checkpoint(): void {
    const { signal, deadline } = this.limits;
    if (signal?.aborted) throw signal.reason ?? new ChartproofError('ABORTED', 'template execution aborted');
    if (deadline !== undefined && Date.now() > deadline)
      throw new ChartproofError('TIMEOUT', 'template execution exceeded its deadline');
  }

  /** Runs template `name` of `set` into a string (Go's ExecuteTemplate). */
  executeTemplate(set: TemplateSet, name: string, data: GoValue): string {
    const tree = set.lookup(name);
    if (tree === undefined)
      throw new TemplateError(
        'TEMPLATE_EXEC',
        `template: no template ${quote(name)} associated with template ${quote(set.name)}`,
        { templateName: name },
      );
    if (++this.nesting > this.limits.maxDepth) {
      this.nesting--;
      throw new RenderLimitError('maxDepth', `template calls nested deeper than ${this.limits.maxDepth}`);
    }
    try {
      const out: string[] = [];
      // Go: reflect.ValueOf(nil) is the invalid value.
      const dot = data === null ? MISSING : data;
      const state = new State(this, set, tree, out, [{ name: '$', value: dot, boxed: false }], 0);
      // A stack overflow passes through unchanged (building an error object at the edge
      // of the stack can overflow again); the top-level execute turns it into RENDER_LIMIT.
      state.walk(dot, tree.root);
      return out.join('');
    } finally {
      this.nesting--;
    }
  }
}

interface Variable {
  name: string;
  value: GoValue;
  /** The value has Go static type interface{} (came out of a map or slice). */
  boxed: boolean;
}

function paramName(p: GoParam): string {
  if (typeof p !== 'string') return p.name;
  switch (p) {
    case 'any':
      return 'interface {}';
    case 'value':
      return 'reflect.Value';
    case 'map':
      return 'map[string]interface {}';
    case 'slice':
      return '[]interface {}';
    case 'bytes':
      return '[]uint8';
    default:
      return p;
  }
}

function paramKind(p: GoParam): string {
  return typeof p === 'string' ? p : p.kind;
}

function canBeNil(p: GoParam): boolean {
  const k = paramKind(p);
  return k === 'any' || k === 'value' || k === 'map' || k === 'slice' || k === 'bytes';
}

function assignable(v: GoValue, p: GoParam): boolean {
  switch (paramKind(p)) {
    case 'any':
    case 'value':
      return true;
    case 'string':
      return typeof v === 'string';
    case 'int':
    case 'int64':
      return typeof v === 'bigint';
    case 'float64':
      return typeof v === 'number';
    case 'bool':
      return typeof v === 'boolean';
    case 'map': {
      if (!isGoMap(v)) return false;
      // A map of another Go map type (`split`'s map[string]string) is not assignable
      // to map[string]interface{}; named types over it (chartutil.Values) are.
      const t = typeName(v);
      return !t.startsWith('map[') || t === 'map[string]interface {}';
    }
    case 'slice':
      return Array.isArray(v);
    case 'bytes':
      return v instanceof Uint8Array;
  }
  return false;
}

class State {
  node: Node | null = null;
  /** Dot has static type interface{} (a range element), which Go names in some errors. */
  private dotBoxed = false;

  constructor(
    readonly exec: Execution,
    readonly set: TemplateSet,
    readonly tmpl: Tree,
    readonly out: string[],
    readonly vars: Variable[],
    readonly depth: number,
  ) {}

  // ---- variables

  private mark(): number {
    return this.vars.length;
  }
  private pop(mark: number): void {
    this.vars.length = mark;
  }
  private push(name: string, value: GoValue): void {
    this.vars.push({ name, value, boxed: false });
  }
  private setVar(name: string, value: GoValue, boxed = false): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      const v = this.vars[i]!;
      if (v.name === name) {
        v.value = value;
        v.boxed = boxed;
        return;
      }
    }
    this.errorf(`undefined variable: ${name}`);
  }
  private setTopVar(n: number, value: GoValue, boxed: boolean): void {
    const v = this.vars[this.vars.length - n]!;
    v.value = value;
    v.boxed = boxed;
  }
  private lookupVar(name: string): Variable {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i]!.name === name) return this.vars[i]!;
    return this.errorf(`undefined variable: ${name}`);
  }

  // ---- errors

  private at(node: Node): void {
    this.node = node;
  }

  errorf(msg: string, cause?: unknown): never {
    const name = this.tmpl.name;
    if (this.node === null) {
      throw new TemplateError('TEMPLATE_EXEC', `template: ${name}: ${msg}`, { templateName: name, cause });
    }
    const n = this.node;
    const text = n.tree.text.slice(0, n.pos);
    const nl = text.lastIndexOf('\n');
    const line = 1 + countNewlines(text);
    const col = nl === -1 ? byteLength(text) : byteLength(text.slice(nl + 1));
    const context = nodeString(n);
    const file = n.tree.parseName;
    throw new TemplateError(
      'TEMPLATE_EXEC',
      `template: ${file}:${line}:${col}: executing ${quote(name)} at <${context}>: ${msg}`,
      { templateName: name, location: { file, line, column: col }, context, cause },
    );
  }

  // ---- output

  private write(s: string): void {
    if (s.length === 0) return;
    this.exec.charge(s.length);
    this.out.push(s);
  }

  // ---- walking

  walk(dot: GoValue, node: Node): void {
    this.exec.step();
    this.at(node);
    switch (node.type) {
      case 'action': {
        const val = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.printValue(node, val);
        return;
      }
      case 'break':
        throw BREAK;
      case 'continue':
        throw CONTINUE;
      case 'comment':
        return;
      case 'if':
      case 'with':
        this.walkIfOrWith(node, dot);
        return;
      case 'list':
        for (const n of node.nodes) this.walk(dot, n);
        return;
      case 'range':
        this.walkRange(dot, node);
        return;
      case 'template':
        this.walkTemplate(dot, node);
        return;
      case 'text':
        this.write(node.text);
        return;
      default:
        this.errorf(`unknown node: ${nodeString(node)}`);
    }
  }

  private walkIfOrWith(node: BranchNode, dot: GoValue): void {
    const mark = this.mark();
    try {
      const val = this.evalPipeline(dot, node.pipe);
      if (isTrue(val)) {
        if (node.type === 'with') this.walkWithDot(val, false, node.list);
        else this.walk(dot, node.list);
      } else if (node.elseList) this.walk(dot, node.elseList);
    } finally {
      this.pop(mark);
    }
  }

  private walkWithDot(dot: GoValue, boxed: boolean, list: Node): void {
    const saved = this.dotBoxed;
    this.dotBoxed = boxed;
    try {
      this.walk(dot, list);
    } finally {
      this.dotBoxed = saved;
    }
  }

  private walkRange(dot: GoValue, r: BranchNode): void {
    this.at(r);
    const outer = this.mark();
    try {
      const val = this.evalPipeline(dot, r.pipe);
      const mark = this.mark();
      const decl = r.pipe.decl;
      let boxed = false;
      const oneIteration = (index: GoValue, elem: GoValue): void => {
        if (decl.length > 0) {
          if (r.pipe.isAssign) {
            if (decl.length > 1) this.setVar(decl[0]!.ident[0]!, index);
            else this.setVar(decl[0]!.ident[0]!, elem, boxed);
          } else this.setTopVar(1, elem, boxed);
        }
        if (decl.length > 1) {
          if (r.pipe.isAssign) this.setVar(decl[1]!.ident[0]!, elem, boxed);
          else this.setTopVar(2, index, false);
        }
        try {
          this.walkWithDot(elem, boxed, r.list);
        } catch (e) {
          if (e !== CONTINUE) throw e;
        } finally {
          this.pop(mark);
        }
      };
      let ran = false;
      try {
        if (Array.isArray(val)) {
          boxed = true;
          for (let i = 0; i < val.length; i++) {
            ran = true;
            oneIteration(BigInt(i), val[i]!);
          }
        } else if (val instanceof Uint8Array) {
          for (let i = 0; i < val.length; i++) {
            ran = true;
            oneIteration(BigInt(i), BigInt(val[i]!));
          }
        } else if (isGoMap(val)) {
          boxed = true;
          for (const k of sortedKeys(val)) {
            ran = true;
            oneIteration(k, mapGet(val, k) ?? null);
          }
        } else if (typeof val === 'bigint') {
          if (decl.length > 1)
            this.errorf(`can't use ${sprint([val])} to iterate over more than one variable`);
          for (let i = 0n; i < val; i++) {
            ran = true;
            oneIteration(MISSING, i);
          }
        } else if (val !== MISSING && val !== null) {
          this.errorf(`range can't iterate over ${sprint([val])}`);
        }
      } catch (e) {
        if (e === BREAK) return;
        throw e;
      }
      if (!ran && r.elseList) this.walk(dot, r.elseList);
    } finally {
      this.pop(outer);
    }
  }

  private walkTemplate(dot: GoValue, t: TemplateNode): void {
    this.at(t);
    const tmpl = this.set.lookup(t.name);
    if (tmpl === undefined) this.errorf(`template ${quote(t.name)} not defined`);
    if (this.depth === GO_MAX_EXEC_DEPTH)
      this.errorf(`exceeded maximum template depth (${GO_MAX_EXEC_DEPTH})`);
    const d = this.evalPipeline(dot, t.pipe);
    const exec = this.exec;
    if (++exec.nesting > exec.limits.maxDepth) {
      exec.nesting--;
      throw new RenderLimitError('maxDepth', `template calls nested deeper than ${exec.limits.maxDepth}`);
    }
    try {
      const s = new State(
        exec,
        this.set,
        tmpl,
        this.out,
        [{ name: '$', value: d, boxed: false }],
        this.depth + 1,
      );
      s.walk(d, tmpl.root);
    } finally {
      exec.nesting--;
    }
  }

  // ---- evaluation

  private evalPipeline(dot: GoValue, pipe: PipeNode | null): GoValue {
    if (pipe === null) return MISSING;
    this.at(pipe);
    let value: Final = NO_FINAL;
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(dot, cmd, value);
      // Go unwraps interface values: a nil interface becomes the invalid value.
      if (value === null) value = MISSING;
    }
    const v = value as GoValue;
    for (const variable of pipe.decl) {
      if (pipe.isAssign) this.setVar(variable.ident[0]!, v);
      else this.push(variable.ident[0]!, v);
    }
    return v;
  }

  private notAFunction(args: readonly ArgNode[], final: Final): void {
    if (args.length > 1 || final !== NO_FINAL)
      this.errorf(`can't give argument to non-function ${nodeString(args[0]!)}`);
  }

  private evalCommand(dot: GoValue, cmd: CommandNode, final: Final): GoValue {
    const first = cmd.args[0]!;
    switch (first.type) {
      case 'field':
        return this.evalFieldNode(dot, first, cmd.args, final);
      case 'chain':
        return this.evalChainNode(dot, first, cmd.args, final);
      case 'identifier':
        return this.evalFunction(dot, first, cmd, cmd.args, final);
      case 'pipe':
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first);
      case 'variable':
        return this.evalVariableNode(dot, first, cmd.args, final);
    }
    this.at(first);
    this.notAFunction(cmd.args, final);
    switch (first.type) {
      case 'bool':
        return first.value;
      case 'dot':
        return dot;
      case 'nil':
        return this.errorf('nil is not a command');
      case 'number':
        return this.idealConstant(first);
      case 'string':
        return first.text;
    }
    return this.errorf(`can't evaluate command ${quote(nodeString(first))}`);
  }

  private idealConstant(n: NumberNode): GoValue {
    this.at(n);
    if (n.isComplex) return this.errorf(`complex constant ${n.text} is not supported`);
    if (n.isFloat && !isHexInt(n.text) && !n.text.startsWith("'") && /[.eEpP]/.test(n.text)) return n.float64;
    if (n.isInt) return n.int64;
    if (n.isUint) return this.errorf(`${n.text} overflows int`);
    return MISSING;
  }

  private evalFieldNode(
    dot: GoValue,
    field: FieldNode,
    args: readonly ArgNode[] | null,
    final: Final,
  ): GoValue {
    this.at(field);
    return this.evalFieldChain(dot, dot, this.dotBoxed, field, field.ident, args, final);
  }

  private evalChainNode(
    dot: GoValue,
    chain: ChainNode,
    args: readonly ArgNode[] | null,
    final: Final,
  ): GoValue {
    this.at(chain);
    if (chain.field.length === 0) this.errorf('internal error: no fields in evalChainNode');
    if (chain.node.type === 'nil') this.errorf(`indirection through explicit nil in ${nodeString(chain)}`);
    const pipe = this.evalArg(dot, null, chain.node);
    return this.evalFieldChain(dot, pipe, false, chain, chain.field, args, final);
  }

  private evalVariableNode(
    dot: GoValue,
    variable: VariableNode,
    args: readonly ArgNode[] | null,
    final: Final,
  ): GoValue {
    this.at(variable);
    const v = this.lookupVar(variable.ident[0]!);
    if (variable.ident.length === 1) {
      this.notAFunction(args ?? [variable], final);
      return v.value;
    }
    return this.evalFieldChain(dot, v.value, v.boxed, variable, variable.ident.slice(1), args, final);
  }

  private evalFieldChain(
    dot: GoValue,
    receiver: GoValue,
    boxed: boolean,
    node: Node,
    ident: readonly string[],
    args: readonly ArgNode[] | null,
    final: Final,
  ): GoValue {
    const n = ident.length;
    for (let i = 0; i < n - 1; i++) {
      // A map element has static type interface{}; struct fields and method results are concrete.
      const next = isGoMap(receiver);
      receiver = this.evalField(dot, ident[i]!, node, null, NO_FINAL, receiver, boxed);
      boxed = next;
    }
    return this.evalField(dot, ident[n - 1]!, node, args, final, receiver, boxed);
  }

  private evalFunction(
    dot: GoValue,
    node: IdentifierNode,
    cmd: Node,
    args: readonly ArgNode[] | null,
    final: Final,
  ): GoValue {
    this.at(node);
    const name = node.ident;
    const funcs = this.set.funcs;
    if (Object.hasOwn(funcs, name)) return this.evalCall(dot, funcs[name]!, false, cmd, name, args, final);
    if (Object.hasOwn(BUILTINS, name))
      return this.evalCall(dot, BUILTINS[name]!, true, cmd, name, args, final);
    return this.errorf(`${quote(name)} is not a defined function`);
  }

  private evalField(
    dot: GoValue,
    fieldName: string,
    node: Node,
    args: readonly ArgNode[] | null,
    final: Final,
    receiver: GoValue,
    boxed = false,
  ): GoValue {
    if (receiver === MISSING) {
      if (this.set.missingKey === 'error') this.errorf(`nil data; no entry for key ${quote(fieldName)}`);
      return MISSING;
    }
    if (receiver === null) return this.errorf(`nil pointer evaluating interface {}.${fieldName}`);
    const hasArgs = (args !== null && args.length > 1) || final !== NO_FINAL;
    if (receiver instanceof GoStruct) {
      const method = receiver.method(fieldName);
      if (method !== undefined) return this.evalCall(dot, method, false, node, fieldName, args, final);
      const field = receiver.field(fieldName);
      if (field !== undefined) {
        if (hasArgs) this.errorf(`${fieldName} has arguments but cannot be invoked as function`);
        return field;
      }
    } else if (isGoMap(receiver)) {
      const method = mapMethod(receiver, fieldName);
      if (method !== undefined) return this.evalCall(dot, method, false, node, fieldName, args, final);
      if (hasArgs) this.errorf(`${fieldName} is not a method but has arguments`);
      const result = mapGet(receiver, fieldName);
      if (result !== undefined) return result;
      switch (this.set.missingKey) {
        case 'zero':
          return null;
        case 'error':
          return this.errorf(`map has no entry for key ${quote(fieldName)}`);
        default:
          return MISSING;
      }
    } else if (Array.isArray(receiver)) {
      const method = mapMethod(receiver, fieldName);
      if (method !== undefined) return this.evalCall(dot, method, false, node, fieldName, args, final);
    }
    return this.errorf(
      `can't evaluate field ${fieldName} in type ${boxed ? 'interface {}' : typeName(receiver)}`,
    );
  }

  private evalCall(
    dot: GoValue,
    fn: GoFunc,
    isBuiltin: boolean,
    node: Node,
    name: string,
    args: readonly ArgNode[] | null,
    final: Final,
  ): GoValue {
    const argNodes = args === null ? [] : args.slice(1);
    const hasFinal = final !== NO_FINAL;
    const numIn = argNodes.length + (hasFinal ? 1 : 0);
    let numFixed = argNodes.length;
    const params = fn.params;
    if (fn.variadic !== undefined) {
      numFixed = params.length;
      if (numIn < numFixed)
        this.errorf(
          `wrong number of args for ${name}: want at least ${params.length} got ${argNodes.length}`,
        );
    } else if (numIn !== params.length) {
      this.errorf(`wrong number of args for ${name}: want ${params.length} got ${numIn}`);
    }

    if (isBuiltin && (name === 'and' || name === 'or')) {
      let v: GoValue = MISSING;
      for (const arg of argNodes) {
        v = this.evalArg(dot, 'value', arg);
        if (isTrue(v) === (name === 'or')) return v;
      }
      if (hasFinal) v = this.validateType(final as GoValue, 'value');
      return v;
    }

    const argv: GoValue[] = [];
    let i = 0;
    for (; i < numFixed && i < argNodes.length; i++) argv.push(this.evalArg(dot, params[i]!, argNodes[i]!));
    if (fn.variadic !== undefined)
      for (; i < argNodes.length; i++) argv.push(this.evalArg(dot, fn.variadic, argNodes[i]!));
    if (hasFinal) {
      let t: GoParam;
      if (fn.variadic !== undefined) t = numIn - 1 < numFixed ? params[numIn - 1]! : fn.variadic;
      else t = params[params.length - 1]!;
      argv.push(this.validateType(final as GoValue, t));
    }
    this.exec.step();
    let callee = fn;
    if (isBuiltin && name === 'call') {
      // Go names the callee as written (`.X.F`), or by its reflect.Value when piped.
      const calleeName =
        argNodes.length === 0 ? reflectValueString(final as GoValue) : nodeString(argNodes[0]!);
      callee = { params: [], variadic: 'value', call: (a, ctx) => callFunc(calleeName, a, ctx) };
    }
    let result: GoValue;
    try {
      result = callee.call(argv, this.funcContext());
    } catch (e) {
      if (isStackOverflow(e)) throw e;
      if (isFatalRenderError(e) || e === BREAK || e === CONTINUE) throw e;
      if (this.exec.limits.signal?.aborted && e === this.exec.limits.signal.reason) throw e;
      this.at(node);
      const msg = e instanceof Error ? e.message : String(e);
      return this.errorf(`error calling ${name}: ${msg}`, e);
    }
    // One call can be expensive (key generation, hashing a large string): check the
    // deadline after every call, not only every 1024 steps.
    this.exec.checkpoint();
    if (result === undefined) return null;
    // Strings built by functions count against the output budget, so that a
    // template cannot grow memory without bound through variables (`$s = printf "%s%s" $s $s`).
    if (typeof result === 'string') this.exec.charge(result.length);
    return result;
  }

  private funcContext(): FuncContext {
    const exec = this.exec;
    const set = this.set;
    return {
      templates: set,
      templateName: this.tmpl.name,
      executeTemplate: (name, data, other) => exec.executeTemplate(other ?? set, name, data),
      charge: (n) => exec.charge(n),
      checkpoint: () => exec.checkpoint(),
      scratch: exec.scratch,
    };
  }

  private validateType(value: GoValue, typ: GoParam | null): GoValue {
    if (value === MISSING) {
      if (typ === null) return MISSING;
      if (canBeNil(typ)) return paramKind(typ) === 'value' ? MISSING : null;
      return this.errorf(`invalid value; expected ${paramName(typ)}`);
    }
    if (typ === null) return value;
    if (assignable(value, typ)) return value;
    const got = value === null ? 'interface {}' : typeName(value);
    return this.errorf(`wrong type for value; expected ${paramName(typ)}; got ${got}`);
  }

  private evalArg(dot: GoValue, typ: GoParam | null, n: ArgNode): GoValue {
    this.at(n);
    switch (n.type) {
      case 'dot':
        return this.validateType(dot, typ);
      case 'nil':
        if (typ !== null && canBeNil(typ)) return paramKind(typ) === 'value' ? MISSING : null;
        return this.errorf(`cannot assign nil to ${typ === null ? '<nil>' : paramName(typ)}`);
      case 'field':
        return this.validateType(this.evalFieldNode(dot, n, [n], NO_FINAL), typ);
      case 'variable':
        return this.validateType(this.evalVariableNode(dot, n, null, NO_FINAL), typ);
      case 'pipe':
        return this.validateType(this.evalPipeline(dot, n), typ);
      case 'identifier':
        return this.validateType(this.evalFunction(dot, n, n, null, NO_FINAL), typ);
      case 'chain':
        return this.validateType(this.evalChainNode(dot, n, null, NO_FINAL), typ);
    }
    switch (typ === null ? 'none' : paramKind(typ)) {
      case 'bool':
        if (n.type === 'bool') return n.value;
        return this.errorf(`expected bool; found ${nodeString(n)}`);
      case 'float64':
        if (n.type === 'number' && n.isFloat) return n.float64;
        return this.errorf(`expected float; found ${nodeString(n)}`);
      case 'int':
      case 'int64':
        if (n.type === 'number' && n.isInt) return n.int64;
        return this.errorf(`expected integer; found ${nodeString(n)}`);
      case 'any':
      case 'value':
        return this.evalEmptyInterface(dot, n);
      case 'string':
        if (n.type === 'string') return n.text;
        return this.errorf(`expected string; found ${nodeString(n)}`);
    }
    return this.errorf(
      `can't handle ${nodeString(n)} for arg of type ${typ === null ? '<nil>' : paramName(typ)}`,
    );
  }

  private evalEmptyInterface(dot: GoValue, n: ArgNode): GoValue {
    this.at(n);
    switch (n.type) {
      case 'bool':
        return n.value;
      case 'dot':
        return dot;
      case 'field':
        return this.evalFieldNode(dot, n, null, NO_FINAL);
      case 'identifier':
        return this.evalFunction(dot, n, n, null, NO_FINAL);
      case 'nil':
        return this.errorf("evalEmptyInterface: nil (can't happen)");
      case 'number':
        return this.idealConstant(n);
      case 'string':
        return n.text;
      case 'variable':
        return this.evalVariableNode(dot, n, null, NO_FINAL);
      case 'pipe':
        return this.evalPipeline(dot, n);
    }
    return this.errorf(`can't handle assignment of ${nodeString(n)} to empty interface argument`);
  }

  private printValue(n: Node, v: GoValue): void {
    this.at(n);
    if (v === MISSING) {
      this.write('<no value>');
      return;
    }
    switch (typeof v) {
      case 'string':
        this.write(v);
        return;
      case 'bigint':
        this.write(v.toString());
        return;
      case 'boolean':
        this.write(v ? 'true' : 'false');
        return;
    }
    if (isGoFunc(v)) this.errorf(`can't print ${nodeString(n)} of type ${typeName(v)}`);
    // A struct whose String() has a pointer receiver (common.KubeVersion) prints with it
    // when Go can take its address: a field, variable or dot printed by the action itself
    // (not a function's result; fmt functions never do).
    const addressable =
      v instanceof GoStruct && n.type === 'action' && addressablePipe(n.pipe)
        ? (v as { addressableString?: () => string }).addressableString
        : undefined;
    if (typeof addressable === 'function') {
      this.write(addressable.call(v));
      return;
    }
    this.write(sprint([v]));
  }
}

/** Whether a pipeline's value is addressable in Go (it ends in a field, variable or dot). */
function addressablePipe(p: PipeNode): boolean {
  const last = p.cmds[p.cmds.length - 1];
  if (last === undefined || last.args.length !== 1) return false;
  const a = last.args[0]!;
  if (a.type === 'pipe') return addressablePipe(a);
  return a.type === 'field' || a.type === 'chain' || a.type === 'variable' || a.type === 'dot';
}

/** reflect.Value.String(): the string itself, else `<T Value>`. */
function reflectValueString(v: GoValue): string {
  if (typeof v === 'string') return v;
  if (v === MISSING) return '<invalid Value>';
  return `<${v === null ? 'interface {}' : typeName(v)} Value>`;
}

function isHexInt(s: string): boolean {
  return s.length > 2 && s[0] === '0' && (s[1] === 'x' || s[1] === 'X') && !/[pP]/.test(s);
}

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

export type { MissingKey };
