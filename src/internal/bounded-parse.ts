/**
 * Bounded parsing of JSON and YAML from outside (chart files, lock files, repository
 * indexes, registry answers, mirror specs, credential files, signature material).
 *
 * Size limits bound the bytes; they do not bound the work a parser does on them: a
 * 4 MiB `values.yaml` of `[` made the YAML composer recurse until the stack overflowed
 * after 10 s and 3.7 GB. Every document is therefore checked BEFORE it is parsed by a
 * linear, allocation-free scan that computes an upper bound of its nesting depth:
 *
 * - JSON: `[` and `{` outside strings.
 * - YAML: the `yaml` package's own lexer (the exact tokens its parser consumes, so a
 *   quote, comment or block scalar is recognised exactly as the parser will), counting
 *   flow collections (`[`, `{`) and, for block collections, the distinct indentation
 *   columns of the lines and indicators (`-`, `?`, `:`) that can open one; each column
 *   counts twice (a block sequence may sit at its parent mapping's column). The scan
 *   stops at the first token past the limit, so a hostile document costs microseconds.
 * - YAML aliases: a document with aliases is also checked after parsing, on the node
 *   tree (linear, memoised): the depth reached through aliases is bounded the same
 *   way, and an alias inside the node it names (a cycle) is refused, so no consumer
 *   walking the plain values can recurse without end.
 *
 * Internal: never exported from the public entry points.
 */

import {
  type Document,
  isAlias,
  isCollection,
  isPair,
  isScalar,
  Lexer,
  type Node,
  parseAllDocuments,
  parseDocument,
  visit,
  YAMLParseError,
} from 'yaml';
import { ChartproofError, type ErrorSource } from '../errors.js';

/**
 * Default nesting-depth bound. Real documents stay far below it (the deepest
 * `values.yaml` among the real-world charts in the test vectors scans to 24), while
 * the composer and every recursive walker stay far from the stack limit.
 */
export const DEFAULT_MAX_DEPTH = 128;

/**
 * Nodes (scalars, block entries `-`/`?`, flow collections, aliases) a YAML document may have before it is
 * parsed. The `yaml` package needs about 1 KiB and several microseconds per node, so
 * a wide document within the size limits (5 MiB of `- a`, 1.2 M nodes) would take
 * gigabytes and seconds; real chart files have a few thousand. Classic repository
 * indexes pass a higher bound.
 */
export const DEFAULT_MAX_NODES = 300_000;

/** What is parsed, for messages, where it came from, and the bound. */
export interface BoundedParseOptions {
  /** Names the document in messages (a file name, `manifest sha256:…`, `token response`). */
  what: string;
  /** Where the document came from; recorded as the error's `source`. */
  source?: ErrorSource;
  /** Nesting-depth bound (default {@link DEFAULT_MAX_DEPTH}). */
  maxDepth?: number;
  /** YAML only: node-count bound (default {@link DEFAULT_MAX_NODES}). */
  maxNodes?: number;
}

function depthError(options: BoundedParseOptions, how: string, max: number): ChartproofError {
  return new ChartproofError(
    'DEPTH_LIMIT_EXCEEDED',
    `${options.what} nests deeper than ${max} levels${how}`,
    options.source ? { source: options.source } : {},
  );
}

/**
 * True for the errors thrown here: callers that wrap parse errors in their own code
 * let these through (or re-throw them with the same code and `source`).
 */
export function isDepthLimitError(e: unknown): e is ChartproofError {
  return e instanceof ChartproofError && (e.code === 'DEPTH_LIMIT_EXCEEDED' || NODE_LIMIT_ERRORS.has(e));
}

/** The node-count errors thrown here (callers treat them like depth errors). */
const NODE_LIMIT_ERRORS = new WeakSet<ChartproofError>();

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_SQUARE = 0x5b;
const CLOSE_SQUARE = 0x5d;
const OPEN_CURLY = 0x7b;
const CLOSE_CURLY = 0x7d;

/**
 * Throws `DEPTH_LIMIT_EXCEEDED` when `text`, read as JSON, nests arrays and objects
 * deeper than the bound. Linear, allocation-free; invalid JSON is left to the parser.
 */
export function assertJsonDepth(text: string, options: BoundedParseOptions): void {
  const max = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  let depth = 0;
  let inString = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_SQUARE || c === OPEN_CURLY) {
      if (++depth > max) throw depthError(options, '', max);
    } else if ((c === CLOSE_SQUARE || c === CLOSE_CURLY) && depth > 0) depth--;
  }
}

/**
 * `JSON.parse` after {@link assertJsonDepth}. Syntax errors are thrown as the
 * `SyntaxError` of `JSON.parse` (callers wrap them with their own code); the depth
 * error is a `ChartproofError`.
 */
export function parseJsonBounded(text: string, options: BoundedParseOptions): unknown {
  assertJsonDepth(text, options);
  return JSON.parse(text) as unknown;
}

const DOCUMENT = '\x02';
const FLOW_END = '\x18';
const SCALAR = '\x1f';
const BOM = '\ufeff';

/**
 * Throws `DEPTH_LIMIT_EXCEEDED` when the YAML stream `source` may nest deeper than the
 * bound (an upper bound, see the module comment). Returns the bound it computed and the
 * number of aliases seen (then the parsed tree needs {@link assertAliasDepth}).
 */
export function assertYamlDepth(
  source: string,
  options: BoundedParseOptions,
): { depth: number; aliases: number } {
  const max = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  const maxNodes = options.maxNodes ?? DEFAULT_MAX_NODES;
  let nodes = 0;
  // Columns of the open block levels, strictly increasing; at most max/2 entries.
  const columns: number[] = [];
  let flow = 0;
  let column = 0;
  let lineStart = true; // only whitespace since the last line break
  let expectNode = true; // a block collection may open at the next token
  let aliases = 0;
  let inFlowBlocks = 0;
  let colons = 0; // `:` indicators in the current flow entry
  let deepest = 0;
  let scalar = false; // the token is a scalar's source (it follows the SCALAR marker)
  for (const token of new Lexer().lex(source, false)) {
    const first = scalar ? '' : token[0];
    const isScalar = scalar;
    scalar = token === SCALAR;
    if (scalar) continue;
    if (
      (isScalar || token === '-' || token === '?' || first === '[' || first === '{' || first === '*') &&
      ++nodes > maxNodes
    ) {
      const e = new ChartproofError(
        'SIZE_LIMIT_EXCEEDED',
        `${options.what} has more than ${maxNodes} YAML nodes`,
        options.source ? { source: options.source } : {},
      );
      NODE_LIMIT_ERRORS.add(e);
      throw e;
    }
    if (token === DOCUMENT) {
      columns.length = 0;
      expectNode = true;
      continue;
    }
    if (token === FLOW_END) {
      flow = 0; // the lexer and the parser close every open flow collection
      continue;
    }
    if (token === BOM) continue;
    if (first === ' ' || first === '\t') {
      column += token.length;
      continue;
    }
    if (first === '\n' || first === '\r') {
      column = 0;
      lineStart = true;
      expectNode = true;
      continue;
    }
    if (first === '#' || (first === '%' && lineStart)) {
      column += token.length;
      continue;
    }
    if (!isScalar && lineStart && column === 0 && (token === '---' || token === '...')) {
      columns.length = 0;
      column += token.length;
      lineStart = false;
      expectNode = true;
      continue;
    }
    if (flow > 0 && !isScalar && (token === '-' || (token === ':' && ++colons > 1))) {
      // A block sequence, or a mapping nested in a compact one (`[a: b: c]`), inside a
      // flow collection is an error the parser still nests; count each (invalid
      // documents may be over-estimated freely).
      if (2 * columns.length + flow + ++inFlowBlocks > max) throw depthError(options, '', max);
    } else if (flow === 0 && expectNode) {
      // A line less indented than a block level closes it (only a line start can).
      if (lineStart) while (columns.length > 0 && columns[columns.length - 1]! > column) columns.pop();
      if (columns.length === 0 || columns[columns.length - 1]! < column) {
        columns.push(column);
        if (2 * columns.length + inFlowBlocks > max) throw depthError(options, '', max);
      }
      expectNode = first === '&' || first === '!';
    }
    // Indicators may open a block collection at the next token, even mid-line (the
    // parser nests `a: b: c` leniently).
    if (!isScalar && (token === '-' || token === '?' || token === ':')) expectNode = true;
    if (first === ',' || first === '[' || first === '{' || first === ']' || first === '}') colons = 0;
    if (first === '[' || first === '{') {
      if (token.length === 1 && 2 * columns.length + inFlowBlocks + ++flow > max)
        throw depthError(options, '', max);
    } else if ((token === ']' || token === '}') && flow > 0) flow--;
    else if (first === '*') aliases++;
    deepest = Math.max(deepest, 2 * columns.length + inFlowBlocks + flow);
    lineStart = false;
    const nl = token.lastIndexOf('\n');
    if (nl < 0) column += token.length;
    else {
      column = token.length - nl - 1;
      // A multi-line token (block scalar, multi-line scalar) ending at an indentation.
      if (/^[ \t]*$/.test(token.slice(nl + 1))) {
        lineStart = true;
        expectNode = true;
      }
    }
  }
  return { depth: deepest, aliases };
}

/**
 * Checks the depth of a parsed YAML document as its plain values will have it, aliases
 * followed, and refuses an alias inside the node it names (a cyclic value). One walk in
 * document order: anchors are recorded as they are met (an alias names the latest one
 * before it, as in YAML) and heights are memoised, so the cost is linear in the nodes
 * (the `yaml` package's own `Alias.resolve` walks the whole document per alias).
 * Recursion never goes deeper than the bound.
 */
export function assertAliasDepth(doc: Document.Parsed, options: BoundedParseOptions): void {
  const max = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  const heights = new Map<unknown, number>();
  const anchors = new Map<string, unknown>();
  const open = new Set<unknown>();
  const tooDeep = () => depthError(options, ' once aliases are expanded', max);
  const height = (node: unknown, depth: number): number => {
    if (depth > max) throw tooDeep();
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      if (target === undefined) return 0; // unresolved: the parser reports it
      if (open.has(target))
        throw new ChartproofError(
          'DEPTH_LIMIT_EXCEEDED',
          `${options.what}: alias *${node.source} is inside the node it refers to (a cyclic value)`,
          options.source ? { source: options.source } : {},
        );
      const known = heights.get(target);
      if (known === undefined) return height(target, depth);
      if (depth + known > max) throw tooDeep();
      return known;
    }
    const anchor = (node as { anchor?: unknown } | null)?.anchor;
    if (typeof anchor === 'string' && anchor !== '') anchors.set(anchor, node);
    if (!isCollection(node)) return 0;
    const known = heights.get(node);
    if (known !== undefined) {
      if (depth + known > max) throw tooDeep();
      return known;
    }
    open.add(node);
    let h = 0;
    for (const item of node.items as unknown[]) {
      if (isPair(item)) {
        h = Math.max(h, 1 + height(item.key, depth + 1), 1 + height(item.value, depth + 1));
      } else h = Math.max(h, 1 + height(item, depth + 1));
    }
    open.delete(node);
    heights.set(node, h);
    return h;
  };
  height(doc.contents as Node | null, 0);
}

/** `yaml` parse options as the call sites pass them (the option types are a union). */
// biome-ignore lint/suspicious/noExplicitAny: the yaml option types are a union of several interfaces.
type YamlOptions = any;

/**
 * `parseDocument` after {@link assertYamlDepth}, plus {@link assertAliasDepth} when the
 * document has aliases. Parse errors stay in `doc.errors`, as with `parseDocument`.
 */
export function parseYamlDocumentBounded(
  source: string,
  yamlOptions: YamlOptions,
  options: BoundedParseOptions,
): Document.Parsed {
  const { aliases } = assertYamlDepth(source, options);
  const unique = linearUniqueKeys(yamlOptions);
  const doc = parseDocument(source, unique.options) as Document.Parsed;
  if (unique.check) checkUniqueKeys(doc, source);
  if (aliases > 0 && doc.errors.length === 0) assertAliasDepth(doc, options);
  return doc;
}

/**
 * yaml's own `uniqueKeys` check compares each key with every earlier key of its map
 * (quadratic: a 1.3 MB document of 100 000 keys took over two minutes). When the caller
 * wants unique keys (yaml's default), the parse runs without it and {@link checkUniqueKeys}
 * does the same check in one pass; a custom comparison is left to yaml.
 */
function linearUniqueKeys(yamlOptions: YamlOptions): { options: YamlOptions; check: boolean } {
  const wanted = (yamlOptions as { uniqueKeys?: unknown }).uniqueKeys;
  if (wanted !== undefined && wanted !== true) return { options: yamlOptions, check: false };
  return { options: { ...yamlOptions, uniqueKeys: false } as YamlOptions, check: true };
}

/**
 * Adds yaml's `DUPLICATE_KEY` error for each mapping with two equal scalar keys (yaml's
 * default comparison: the same node, or scalars of equal value), in one pass per map.
 */
function checkUniqueKeys(doc: Document.Parsed, source: string): void {
  if (doc.errors.length > 0) return;
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const key = pair.key.value;
        if (seen.has(key)) {
          const at = pair.key.range?.[0] ?? 0;
          const line = source.slice(0, at).split('\n').length;
          const column = at - source.lastIndexOf('\n', at - 1);
          doc.errors.push(
            new YAMLParseError(
              [at, at + 1],
              'DUPLICATE_KEY',
              `Map keys must be unique at line ${line}, column ${column}`,
            ),
          );
          return visit.BREAK;
        }
        seen.add(key);
      }
      return undefined;
    },
  });
}

/** `parseAllDocuments` after {@link assertYamlDepth} (and the alias check per document). */
export function parseAllYamlDocumentsBounded(
  source: string,
  yamlOptions: YamlOptions,
  options: BoundedParseOptions,
): Document.Parsed[] {
  const { aliases } = assertYamlDepth(source, options);
  const unique = linearUniqueKeys(yamlOptions);
  const parsed = parseAllDocuments(source, unique.options);
  const docs = (Array.isArray(parsed) ? parsed : [parsed]) as Document.Parsed[];
  if (unique.check) for (const doc of docs) checkUniqueKeys(doc, source);
  if (aliases > 0) for (const doc of docs) if (doc.errors.length === 0) assertAliasDepth(doc, options);
  return docs;
}

/**
 * Like `YAML.parse`: the first parse error is thrown as is (a `YAMLParseError`), the
 * depth errors as `ChartproofError`s; warnings are dropped (no console output).
 */
export function parseYamlBounded(
  source: string,
  yamlOptions: YamlOptions,
  options: BoundedParseOptions,
): unknown {
  const doc = parseYamlDocumentBounded(source, yamlOptions, options);
  if (doc.errors.length > 0) throw doc.errors[0];
  return doc.toJS(yamlOptions) as unknown;
}
