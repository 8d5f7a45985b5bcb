/**
 * Parser for Go text/template (text/template/parse/parse.go semantics and error
 * messages). Produces one {@link Tree} per file and per `define`/`block`.
 */
import type {
  ArgNode,
  BranchNode,
  CommandNode,
  ElseNode,
  EndNode,
  ListNode,
  Node,
  PipeNode,
  TemplateNode,
  Tree,
  VariableNode,
} from './ast.js';
import { isEmptyTree, nodeString } from './ast.js';
import { isStackOverflow, RenderLimitError, TemplateError } from './errors.js';
import { quote } from './fmt.js';
import { type Item, Lexer, T } from './lexer.js';
import { parseNumber, unquote } from './literals.js';
import { byteLength } from './value.js';

/** Go's parse.maxStackDepth for nested parenthesised expressions. */
const GO_MAX_STACK_DEPTH = 10000;

/** Parser bounds (see docs/rendering.md). @public */
export interface ParseLimits {
  /** Nested parentheses allowed (Go: 10000). Default 1000 (JS stack safety). */
  maxParenDepth: number;
  /** Nested if/with/range/block levels allowed (Go: unbounded). Default 1000. */
  maxNesting: number;
  /**
   * Lexical items (tokens) a template set may parse in total, over all its files, its
   * `tpl` texts and those of the sets it was cloned from (Go: unbounded). Bounds the
   * memory held by parse trees. Default 2 M (real-world charts: well under 100 k).
   */
  maxItems?: number;
}

const DEFAULT_MAX_ITEMS = 2_000_000;

export const DEFAULT_PARSE_LIMITS: ParseLimits = {
  maxParenDepth: 1000,
  maxNesting: 1000,
  maxItems: DEFAULT_MAX_ITEMS,
};

function itemString(i: Item): string {
  if (i.typ === T.EOF) return 'EOF';
  if (i.typ === T.Error) return i.val;
  if (i.typ > T.Keyword) return `<${i.val}>`;
  if (byteLength(i.val) > 10) return quote([...i.val].slice(0, 10).join('')) + '...';
  return quote(i.val);
}

class Parser {
  private readonly lex: Lexer;
  private readonly token: Item[] = [];
  private peekCount = 0;
  private vars: string[] = ['$'];
  private actionLine = 0;
  private rangeDepth = 0;
  private stackDepth = 0;
  private nesting = 0;
  private tree: Tree;
  /** Items read from the lexer so far, plus those the set had parsed before. */
  items: number;

  constructor(
    private readonly name: string,
    private readonly text: string,
    private readonly hasFunction: (name: string) => boolean,
    private readonly treeSet: Map<string, Tree>,
    private readonly limits: ParseLimits,
    itemsBefore: number,
  ) {
    this.items = itemsBefore;
    this.lex = new Lexer(text, { breakOK: !hasFunction('break'), continueOK: !hasFunction('continue') });
    this.tree = this.newTree(name);
  }

  private newTree(name: string): Tree {
    return {
      name,
      parseName: this.name,
      text: this.text,
      root: { type: 'list', pos: 0, tree: null!, nodes: [] },
    };
  }

  // ---- tokens

  private next(): Item {
    if (this.peekCount > 0) this.peekCount--;
    else this.token[0] = this.lexItem();
    return this.token[this.peekCount]!;
  }
  private lexItem(): Item {
    const max = this.limits.maxItems ?? DEFAULT_MAX_ITEMS;
    if (++this.items > max)
      throw new RenderLimitError(
        'maxParseItems',
        `template: ${this.name}: templates larger than ${max} tokens in total`,
      );
    return this.lex.nextItem();
  }
  private backup(): void {
    this.peekCount++;
  }
  private backup2(t1: Item): void {
    this.token[1] = t1;
    this.peekCount = 2;
  }
  private backup3(t2: Item, t1: Item): void {
    this.token[1] = t1;
    this.token[2] = t2;
    this.peekCount = 3;
  }
  private peek(): Item {
    if (this.peekCount > 0) return this.token[this.peekCount - 1]!;
    this.peekCount = 1;
    this.token[0] = this.lexItem();
    return this.token[0];
  }
  private nextNonSpace(): Item {
    let t: Item;
    do t = this.next();
    while (t.typ === T.Space);
    return t;
  }
  private peekNonSpace(): Item {
    const t = this.nextNonSpace();
    this.backup();
    return t;
  }

  // ---- errors

  private errorf(msg: string): never {
    const line = this.token[0]?.line ?? 1;
    throw new TemplateError('TEMPLATE_PARSE', `template: ${this.name}:${line}: ${msg}`, {
      templateName: this.name,
      location: { file: this.name, line },
    });
  }
  private expect(expected: T, context: string): Item {
    const token = this.nextNonSpace();
    if (token.typ !== expected) this.unexpected(token, context);
    return token;
  }
  private unexpected(token: Item, context: string): never {
    if (token.typ === T.Error) {
      let extra = '';
      if (this.actionLine !== 0 && this.actionLine !== token.line) {
        extra = ` in action started at ${this.name}:${this.actionLine}`;
        if (token.val.endsWith(' action')) extra = extra.slice(' in action'.length);
      }
      this.errorf(`${token.val}${extra}`);
    }
    this.errorf(`unexpected ${itemString(token)} in ${context}`);
  }

  // ---- node constructors

  private list(pos: number): ListNode {
    return { type: 'list', pos, tree: this.tree, nodes: [] };
  }
  private variable(pos: number, ident: string): VariableNode {
    return { type: 'variable', pos, tree: this.tree, ident: ident.split('.') };
  }

  // ---- grammar

  parse(): void {
    this.tree.root = this.list(this.peek().pos);
    while (this.peek().typ !== T.EOF) {
      if (this.peek().typ === T.LeftDelim) {
        const delim = this.next();
        if (this.nextNonSpace().typ === T.Define) {
          this.withSubTree('definition', () => this.parseDefinition());
          continue;
        }
        this.backup2(delim);
      }
      const n = this.textOrAction();
      if (n.type === 'end' || n.type === 'else') this.errorf(`unexpected ${nodeString(n)}`);
      this.tree.root.nodes.push(n);
    }
    this.add(this.tree);
  }

  /** Runs fn with a fresh tree and variable scope, as Go's startParse does for define/block. */
  private withSubTree(name: string, fn: () => void): void {
    const saved = {
      tree: this.tree,
      vars: this.vars,
      stackDepth: this.stackDepth,
      rangeDepth: this.rangeDepth,
    };
    this.tree = this.newTree(name);
    this.vars = ['$'];
    this.stackDepth = 0;
    this.rangeDepth = 0;
    try {
      fn();
    } finally {
      this.tree = saved.tree;
      this.vars = saved.vars;
      this.stackDepth = saved.stackDepth;
      this.rangeDepth = saved.rangeDepth;
    }
  }

  private add(tree: Tree): void {
    const old = this.treeSet.get(tree.name);
    if (old === undefined || isEmptyTree(old.root)) {
      this.treeSet.set(tree.name, tree);
      return;
    }
    if (!isEmptyTree(tree.root)) this.errorf(`template: multiple definition of template ${quote(tree.name)}`);
  }

  private parseDefinition(): void {
    const context = 'define clause';
    const name = this.nextNonSpace();
    if (name.typ !== T.String && name.typ !== T.RawString) this.unexpected(name, context);
    const tree = this.tree as { name: string };
    tree.name = this.unquote(name.val);
    this.expect(T.RightDelim, context);
    const [root, end] = this.itemList();
    this.tree.root = root;
    if (end.type !== 'end') this.errorf(`unexpected ${nodeString(end)} in ${context}`);
    this.add(this.tree);
  }

  private unquote(s: string): string {
    try {
      return unquote(s);
    } catch (e) {
      return this.errorf((e as Error).message);
    }
  }

  private itemList(): [ListNode, EndNode | ElseNode] {
    const list = this.list(this.peekNonSpace().pos);
    while (this.peekNonSpace().typ !== T.EOF) {
      const n = this.textOrAction();
      if (n.type === 'end' || n.type === 'else') return [list, n];
      list.nodes.push(n);
    }
    return this.errorf('unexpected EOF');
  }

  private textOrAction(): Node {
    const token = this.nextNonSpace();
    switch (token.typ) {
      case T.Text:
        return { type: 'text', pos: token.pos, tree: this.tree, text: token.val };
      case T.LeftDelim:
        this.actionLine = token.line;
        try {
          return this.action();
        } finally {
          this.actionLine = 0;
        }
      case T.Comment:
        return { type: 'comment', pos: token.pos, tree: this.tree, text: token.val };
      default:
        return this.unexpected(token, 'input');
    }
  }

  private action(): Node {
    const token = this.nextNonSpace();
    switch (token.typ) {
      case T.Block:
        return this.blockControl();
      case T.Break:
      case T.Continue: {
        const word = token.typ === T.Break ? 'break' : 'continue';
        const t = this.nextNonSpace();
        if (t.typ !== T.RightDelim) this.unexpected(t, `{{${word}}}`);
        if (this.rangeDepth === 0) this.errorf(`{{${word}}} outside {{range}}`);
        return { type: word, pos: token.pos, tree: this.tree, line: token.line };
      }
      case T.Else:
        return this.elseControl();
      case T.End:
        return { type: 'end', pos: this.expect(T.RightDelim, 'end').pos, tree: this.tree };
      case T.If:
        return this.control('if');
      case T.Range:
        return this.control('range');
      case T.Template:
        return this.templateControl();
      case T.With:
        return this.control('with');
    }
    this.backup();
    const t = this.peek();
    const pipe = this.pipeline('command', T.RightDelim);
    return { type: 'action', pos: t.pos, tree: this.tree, line: t.line, pipe };
  }

  private pipeline(context: string, end: T): PipeNode {
    const token = this.peekNonSpace();
    const pipe: PipeNode = {
      type: 'pipe',
      pos: token.pos,
      tree: this.tree,
      line: token.line,
      isAssign: false,
      decl: [],
      cmds: [],
    };
    for (;;) {
      const v = this.peekNonSpace();
      if (v.typ === T.Variable) {
        this.next();
        const tokenAfterVariable = this.peek();
        const next = this.peekNonSpace();
        if (next.typ === T.Assign || next.typ === T.Declare) {
          pipe.isAssign = next.typ === T.Assign;
          this.nextNonSpace();
          pipe.decl.push(this.variable(v.pos, v.val));
          this.vars.push(v.val);
        } else if (next.typ === T.Char && next.val === ',') {
          this.nextNonSpace();
          pipe.decl.push(this.variable(v.pos, v.val));
          this.vars.push(v.val);
          if (context === 'range' && pipe.decl.length < 2) {
            const p = this.peekNonSpace().typ;
            if (p === T.Variable || p === T.RightDelim || p === T.RightParen) continue;
            this.errorf('range can only initialize variables');
          }
          this.errorf(`too many declarations in ${context}`);
        } else if (tokenAfterVariable.typ === T.Space) {
          this.backup3(v, tokenAfterVariable);
        } else {
          this.backup2(v);
        }
      }
      break;
    }
    for (;;) {
      const t = this.nextNonSpace();
      if (t.typ === end) {
        this.checkPipeline(pipe, context);
        return pipe;
      }
      switch (t.typ) {
        case T.Bool:
        case T.CharConstant:
        case T.Complex:
        case T.Dot:
        case T.Field:
        case T.Identifier:
        case T.Number:
        case T.Nil:
        case T.RawString:
        case T.String:
        case T.Variable:
        case T.LeftParen:
          this.backup();
          pipe.cmds.push(this.command());
          break;
        default:
          this.unexpected(t, context);
      }
    }
  }

  private checkPipeline(pipe: PipeNode, context: string): void {
    if (pipe.cmds.length === 0) this.errorf(`missing value for ${context}`);
    pipe.cmds.slice(1).forEach((c, i) => {
      switch (c.args[0]!.type) {
        case 'bool':
        case 'dot':
        case 'nil':
        case 'number':
        case 'string':
          this.errorf(`non executable command in pipeline stage ${i + 2}`);
      }
    });
  }

  private control(context: 'if' | 'range' | 'with'): BranchNode {
    if (++this.nesting > this.limits.maxNesting)
      throw new RenderLimitError(
        'maxNesting',
        `template: ${this.name}: control structures nested deeper than ${this.limits.maxNesting}`,
      );
    const mark = this.vars.length;
    try {
      const pipe = this.pipeline(context, T.RightDelim);
      if (context === 'range') this.rangeDepth++;
      let [list, next] = this.itemList();
      if (context === 'range') this.rangeDepth--;
      let elseList: ListNode | null = null;
      if (next.type === 'else') {
        if (context === 'if' && this.peek().typ === T.If) {
          this.next();
          elseList = this.list(next.pos);
          elseList.nodes.push(this.control('if'));
        } else if (context === 'with' && this.peek().typ === T.With) {
          this.next();
          elseList = this.list(next.pos);
          elseList.nodes.push(this.control('with'));
        } else {
          [elseList, next] = this.itemList();
          if (next.type !== 'end') this.errorf(`expected end; found ${nodeString(next)}`);
        }
      }
      return { type: context, pos: pipe.pos, tree: this.tree, line: pipe.line, pipe, list, elseList };
    } finally {
      this.vars.length = mark;
      this.nesting--;
    }
  }

  private elseControl(): ElseNode {
    const peek = this.peekNonSpace();
    if (peek.typ === T.If || peek.typ === T.With)
      return { type: 'else', pos: peek.pos, tree: this.tree, line: peek.line };
    const token = this.expect(T.RightDelim, 'else');
    return { type: 'else', pos: token.pos, tree: this.tree, line: token.line };
  }

  private templateName(token: Item, context: string): string {
    if (token.typ === T.String || token.typ === T.RawString) return this.unquote(token.val);
    return this.unexpected(token, context);
  }

  private blockControl(): TemplateNode {
    const context = 'block clause';
    const token = this.nextNonSpace();
    const name = this.templateName(token, context);
    const pipe = this.pipeline(context, T.RightDelim);
    if (++this.nesting > this.limits.maxNesting)
      throw new RenderLimitError(
        'maxNesting',
        `template: ${this.name}: control structures nested deeper than ${this.limits.maxNesting}`,
      );
    try {
      this.withSubTree(name, () => {
        const [root, end] = this.itemList();
        this.tree.root = root;
        if (end.type !== 'end') this.errorf(`unexpected ${nodeString(end)} in ${context}`);
        this.add(this.tree);
      });
    } finally {
      this.nesting--;
    }
    return { type: 'template', pos: token.pos, tree: this.tree, line: token.line, name, pipe };
  }

  private templateControl(): TemplateNode {
    const context = 'template clause';
    const token = this.nextNonSpace();
    const name = this.templateName(token, context);
    let pipe: PipeNode | null = null;
    if (this.nextNonSpace().typ !== T.RightDelim) {
      this.backup();
      pipe = this.pipeline(context, T.RightDelim);
    }
    return { type: 'template', pos: token.pos, tree: this.tree, line: token.line, name, pipe };
  }

  private command(): CommandNode {
    const cmd: CommandNode = { type: 'command', pos: this.peekNonSpace().pos, tree: this.tree, args: [] };
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand !== null) cmd.args.push(operand);
      const token = this.next();
      if (token.typ === T.Space) continue;
      if (token.typ === T.RightDelim || token.typ === T.RightParen) this.backup();
      else if (token.typ !== T.Pipe) this.unexpected(token, 'operand');
      break;
    }
    if (cmd.args.length === 0) this.errorf('empty command');
    return cmd;
  }

  private operand(): ArgNode | null {
    const node = this.term();
    if (node === null) return null;
    if (this.peek().typ === T.Field) {
      const pos = this.peek().pos;
      const fields: string[] = [];
      while (this.peek().typ === T.Field) fields.push(this.next().val.slice(1));
      const chain: ArgNode = { type: 'chain', pos, tree: this.tree, node, field: fields };
      switch (node.type) {
        case 'field':
          return { type: 'field', pos, tree: this.tree, ident: [...node.ident, ...fields] };
        case 'variable':
          return { type: 'variable', pos, tree: this.tree, ident: [...node.ident, ...fields] };
        case 'bool':
        case 'string':
        case 'number':
        case 'nil':
        case 'dot':
          this.errorf(`unexpected . after term ${quote(nodeString(node))}`);
      }
      return chain;
    }
    return node;
  }

  private term(): ArgNode | null {
    const token = this.nextNonSpace();
    const tree = this.tree;
    switch (token.typ) {
      case T.Identifier:
        if (!this.hasFunction(token.val)) this.errorf(`function ${quote(token.val)} not defined`);
        return { type: 'identifier', pos: token.pos, tree, ident: token.val };
      case T.Dot:
        return { type: 'dot', pos: token.pos, tree };
      case T.Nil:
        return { type: 'nil', pos: token.pos, tree };
      case T.Variable: {
        const v = this.variable(token.pos, token.val);
        if (!this.vars.includes(v.ident[0]!)) this.errorf(`undefined variable ${quote(v.ident[0]!)}`);
        return v;
      }
      case T.Field:
        return { type: 'field', pos: token.pos, tree, ident: token.val.slice(1).split('.') };
      case T.Bool:
        return { type: 'bool', pos: token.pos, tree, value: token.val === 'true' };
      case T.CharConstant:
      case T.Complex:
      case T.Number: {
        let fields: ReturnType<typeof parseNumber>;
        try {
          fields = parseNumber(
            token.val,
            token.typ === T.CharConstant ? 'char' : token.typ === T.Complex ? 'complex' : 'number',
          );
        } catch (e) {
          return this.errorf((e as Error).message);
        }
        return { type: 'number', pos: token.pos, tree, text: token.val, ...fields };
      }
      case T.LeftParen: {
        const max = Math.min(this.limits.maxParenDepth, GO_MAX_STACK_DEPTH);
        if (this.stackDepth >= max) {
          if (max < GO_MAX_STACK_DEPTH)
            throw new RenderLimitError(
              'maxParenDepth',
              `template: ${this.name}:${token.line}: parenthesised expressions nested deeper than ${max}`,
            );
          this.errorf('max expression depth exceeded');
        }
        this.stackDepth++;
        try {
          return this.pipeline('parenthesized pipeline', T.RightParen);
        } finally {
          this.stackDepth--;
        }
      }
      case T.String:
      case T.RawString:
        return { type: 'string', pos: token.pos, tree, quoted: token.val, text: this.unquote(token.val) };
    }
    this.backup();
    return null;
  }
}

/**
 * Parses one file (Go's parse.Parse): returns its trees — the file's own tree
 * under `name`, plus one per `define`/`block`. `budget.items` counts the lexical items
 * parsed so far against `limits.maxItems`; it is advanced when the parse succeeds.
 */
export function parseFile(
  name: string,
  text: string,
  hasFunction: (name: string) => boolean,
  limits: ParseLimits = DEFAULT_PARSE_LIMITS,
  budget: { items: number } = { items: 0 },
): Map<string, Tree> {
  const treeSet = new Map<string, Tree>();
  const p = new Parser(name, text, hasFunction, treeSet, limits, budget.items);
  try {
    p.parse();
  } catch (e) {
    if (isStackOverflow(e))
      throw new RenderLimitError(
        'maxParenDepth',
        `template: ${name}: template nesting exhausted the JavaScript stack`,
      );
    throw e;
  }
  budget.items = p.items;
  return treeSet;
}
