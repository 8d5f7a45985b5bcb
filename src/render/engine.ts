/**
 * Helm's template engine (`pkg/engine/engine.go`, Helm v4.1.4) on top of the Go
 * text/template port: which templates of a chart tree are rendered and under which
 * names, what each sees as `.` (`.Values`, `.Chart`, `.Files`, `.Release`,
 * `.Capabilities`, `.Template`, `.Subcharts`), Helm's own functions (`include`, `tpl`,
 * `required`, `fail`, `lookup`, `getHostByName`) and Helm's error messages.
 */
import type { Chart, ChartFile, ChartMetadata } from '../chart/types.js';
import { ChartproofError } from '../errors.js';
import { goYamlMarshal } from './funcs/yaml.js';
import { RenderLimitError, TemplateError } from './template/errors.js';
import {
  type FuncContext,
  type FuncMap,
  type GoMap,
  type GoValue,
  goFunc,
  isGoMap,
  MISSING,
  mapGet,
  mapSet,
  newGoMap,
  TemplateSet,
} from './template/index.js';
import { mapTypeName, withMethods } from './template/methods.js';

const WARN_START = 'HELM_ERR_START';
const WARN_END = 'HELM_ERR_END';
/** Helm's include recursion bound (`recursionMaxNums`). */
const RECURSION_MAX = 1000;
const INCLUDE_COUNTS = Symbol('include counts');

function warnWrap(msg: string): string {
  return `${WARN_START}${msg}${WARN_END}`;
}

/** Options of {@link renderTemplates}. @public */
export interface EngineOptions {
  /** Base functions (Sprig and Helm's data functions); Helm's engine functions are added. */
  funcs: FuncMap;
  /** `missingkey=error` instead of Helm's `zero` (Helm's lint `--strict`). */
  strict?: boolean;
  signal?: AbortSignal;
  /** Absolute deadline (epoch ms) for the whole render. */
  deadline?: number;
  /**
   * Total characters all templates may produce together (each execution gets what the
   * earlier ones left). Default: the executor's per-execution default.
   */
  maxOutput?: number;
}

interface Renderable {
  text: string;
  vals: GoMap;
  basePath: string;
}

function goString(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function stringList(v: unknown): GoValue[] {
  return Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : String(x))) : [];
}

function stringMap(v: unknown): GoMap {
  const m = newGoMap();
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) mapSet(m, k, goString(x));
  }
  return m;
}

/**
 * `.Chart`: Helm v4 passes the metadata as a map keyed by the Go field names
 * (`structToMap`), plus `IsRoot`. Absent strings are "", absent slices empty.
 */
export function metadataAsMap(md: ChartMetadata, isRoot: boolean): GoMap {
  const m = newGoMap();
  const set = (k: string, v: GoValue) => mapSet(m, k, v);
  set('Name', goString(md.name));
  set('Home', goString(md.home));
  set('Sources', stringList(md.sources));
  set('Version', goString(md.version));
  set('Description', goString(md.description));
  set('Keywords', stringList(md.keywords));
  set(
    'Maintainers',
    (md.maintainers ?? []).map((x) => {
      const o = newGoMap();
      mapSet(o, 'Name', goString(x?.name));
      mapSet(o, 'Email', goString(x?.email));
      mapSet(o, 'URL', goString(x?.url));
      return o;
    }),
  );
  set('Icon', goString(md.icon));
  set('APIVersion', goString(md.apiVersion));
  set('Condition', goString(md.condition));
  set('Tags', goString(md.tags));
  set('AppVersion', goString(md.appVersion));
  set('Deprecated', md.deprecated === true);
  set('Annotations', stringMap(md.annotations));
  set('KubeVersion', goString(md.kubeVersion));
  set(
    'Dependencies',
    (md.dependencies ?? []).map((d) => {
      const o = newGoMap();
      mapSet(o, 'Name', goString(d.name));
      mapSet(o, 'Version', goString(d.version));
      mapSet(o, 'Repository', goString(d.repository));
      mapSet(o, 'Condition', goString(d.condition));
      mapSet(o, 'Tags', stringList(d.tags));
      mapSet(o, 'Enabled', d.enabled === true);
      mapSet(o, 'ImportValues', Array.isArray(d['import-values']) ? (d['import-values'] as GoValue[]) : []);
      mapSet(o, 'Alias', goString(d.alias));
      return o;
    }),
  );
  set('Type', goString(md.type));
  set('IsRoot', isRoot);
  return m;
}

/** gobwas/glob with `/` as separator: `*`, `**`, `?`, `[…]`, `[!…]`, `{a,b}`. */
export function globToRegExp(pattern: string): RegExp | undefined {
  let re = '';
  let depth = 0;
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === '\\') {
      i++;
      if (i >= chars.length) return undefined;
      re += escapeRe(chars[i] as string);
    } else if (c === '*') {
      if (chars[i + 1] === '*') {
        re += '.*';
        i++;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      let j = i + 1;
      let neg = false;
      if (chars[j] === '!') {
        neg = true;
        j++;
      }
      let body = '';
      let closed = false;
      for (; j < chars.length; j++) {
        const d = chars[j] as string;
        if (d === ']') {
          closed = true;
          break;
        }
        if (d === '-' && body !== '') body += '-';
        else body += escapeRe(d);
      }
      if (!closed || body === '') return undefined;
      re += neg ? `[^${body}]` : `[${body}]`;
      i = j;
    } else if (c === '{') {
      depth++;
      re += '(?:';
    } else if (c === '}' && depth > 0) {
      depth--;
      re += ')';
    } else if (c === ',' && depth > 0) re += '|';
    else re += escapeRe(c);
  }
  if (depth !== 0) return undefined;
  return new RegExp(`^${re}$`, 'su');
}

function escapeRe(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? `\\${c}` : c;
}

const decoder = new TextDecoder();

function basename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

/** `.Files`: a map of path → bytes with Helm's methods (`Get`, `GetBytes`, `Glob`, `AsConfig`, `AsSecrets`, `Lines`). */
export function filesValue(entries: Iterable<readonly [string, Uint8Array]>): GoMap {
  const m = newGoMap();
  for (const [k, v] of entries) mapSet(m, k, v);
  const bytesOf = (name: string): Uint8Array => {
    const v = mapGet(m, name);
    return v instanceof Uint8Array ? v : new Uint8Array(0);
  };
  const toConfig = (enc: (b: Uint8Array) => string): string => {
    const out = newGoMap();
    for (const k of Object.keys(m)) mapSet(out, basename(k), enc(bytesOf(k)));
    return goYamlMarshal(out).replace(/\n$/, '');
  };
  return withMethods(m, 'engine.files', {
    Get: goFunc(['string'], ([name]) => decoder.decode(bytesOf(name as string))),
    GetBytes: goFunc(['string'], ([name]) => bytesOf(name as string)),
    Glob: goFunc(['string'], ([pattern]) => {
      const re = globToRegExp(pattern as string) ?? /^.*$/su;
      return filesValue(Object.keys(m).flatMap((k) => (re.test(k) ? [[k, bytesOf(k)] as const] : [])));
    }),
    AsConfig: goFunc([], () => toConfig((b) => decoder.decode(b))),
    AsSecrets: goFunc([], () => toConfig((b) => Buffer.from(b).toString('base64'))),
    Lines: goFunc(['string'], ([path]) => {
      if (!Object.hasOwn(m, path as string)) return [];
      let s = decoder.decode(bytesOf(path as string));
      if (s.endsWith('\n')) s = s.slice(0, -1);
      return s.split('\n');
    }),
  });
}

/** A chart in the render tree, with the name and path Helm gives it. */
interface TreeNode {
  chart: Chart;
  /** Name after aliasing (`metadata.name`). */
  name: string;
  /** `ChartFullPath`: `parent/charts/name`. */
  fullPath: string;
  isRoot: boolean;
  children: TreeNode[];
}

function treeOf(chart: Chart, parent?: TreeNode): TreeNode {
  const name = chart.metadata.name;
  const node: TreeNode = {
    chart,
    name,
    fullPath: parent ? `${parent.fullPath}/charts/${name}` : name,
    isRoot: parent === undefined,
    children: [],
  };
  node.children = chart.dependencies.map((d) => treeOf(d, node));
  return node;
}

function valuesTyped(m: GoMap): GoMap {
  return mapTypeName(m) === undefined ? withMethods(m, 'common.Values', {}) : m;
}

/** `.Values.<name>` of the parent's values when it is a map (Helm's `Values.Table`). */
function table(values: GoValue | undefined, name: string): GoMap | undefined {
  if (values === undefined || !isGoMap(values)) return undefined;
  const v = mapGet(values, name);
  return v !== undefined && isGoMap(v) ? v : undefined;
}

function recAllTemplates(node: TreeNode, templates: Map<string, Renderable>, parentVals: GoMap): GoMap {
  const subcharts = newGoMap();
  const next = newGoMap();
  mapSet(next, 'Chart', metadataAsMap(node.chart.metadata, node.isRoot));
  mapSet(next, 'Files', filesValue(node.chart.files.map((f: ChartFile) => [f.name, f.data] as const)));
  mapSet(next, 'Release', mapGet(parentVals, 'Release') ?? null);
  mapSet(next, 'Capabilities', mapGet(parentVals, 'Capabilities') ?? null);
  mapSet(next, 'Values', newGoMap());
  mapSet(next, 'Subcharts', subcharts);
  if (node.isRoot) {
    // The top `.Values` is a common.Values (a named map type): `%T`/`typeOf` name it, and
    // `x.(map[string]interface{})` assertions (sprig's `dig`) reject it, as in Helm.
    // Subcharts' `.Values` stay unnamed: they are also the parent's `.Values.<sub>` map.
    const top = mapGet(parentVals, 'Values');
    mapSet(next, 'Values', top !== undefined && isGoMap(top) ? valuesTyped(top) : (top ?? newGoMap()));
  } else {
    const t = table(mapGet(parentVals, 'Values'), node.name);
    if (t !== undefined) mapSet(next, 'Values', t);
  }
  for (const child of node.children) mapSet(subcharts, child.name, recAllTemplates(child, templates, next));
  const library = (node.chart.metadata.type ?? '').toLowerCase() === 'library';
  for (const t of node.chart.templates) {
    if (library && !basename(t.name).startsWith('_')) continue;
    templates.set(joinPath(node.fullPath, t.name), {
      text: decoder.decode(t.data),
      vals: next,
      basePath: joinPath(node.fullPath, 'templates'),
    });
  }
  return next;
}

/** Go's path.Join for the simple relative paths charts use. */
function joinPath(a: string, b: string): string {
  const parts: string[] = [];
  for (const p of `${a}/${b}`.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..' && parts.length > 0 && parts[parts.length - 1] !== '..') parts.pop();
    else parts.push(p);
  }
  return parts.join('/');
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Helm's render order: deepest paths first, then reverse byte order. */
export function sortTemplateNames(names: Iterable<string>): string[] {
  const slashes = (s: string) => s.split('/').length - 1;
  return [...names].sort((a, b) => {
    const d = slashes(b) - slashes(a);
    return d !== 0 ? d : compareBytes(b, a);
  });
}

function includeCounts(ctx: FuncContext): Map<string, number> {
  let m = ctx.scratch.get(INCLUDE_COUNTS) as Map<string, number> | undefined;
  if (!m) {
    m = new Map();
    ctx.scratch.set(INCLUDE_COUNTS, m);
  }
  return m;
}

/** Helm's engine functions, bound to the current template set through the call context. */
export function engineFuncs(strict: boolean): FuncMap {
  const include = goFunc(['string', 'any'], ([name, data], ctx) => {
    const counts = includeCounts(ctx);
    const n = counts.get(name as string) ?? 0;
    if (n > RECURSION_MAX) {
      throw new RenderLimitError(
        'maxIncludeDepth',
        `rendering template has a nested reference name: ${name as string}: unable to execute template`,
      );
    }
    counts.set(name as string, n + 1);
    try {
      return ctx.executeTemplate(name as string, data ?? null);
    } finally {
      counts.set(name as string, (counts.get(name as string) ?? 1) - 1);
    }
  });
  const tpl = goFunc(['string', 'any'], ([text, vals], ctx) => {
    const clone = ctx.templates.clone({ missingKey: strict ? 'error' : 'zero' });
    const name = ctx.templates.name;
    try {
      clone.parse(name, text as string);
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      throw new TemplateError(
        'TEMPLATE_PARSE',
        `cannot parse template ${goQuote(text as string)}: ${e.message}`,
        {
          templateName: name,
          cause: e,
        },
      );
    }
    // Parsing a long text takes time the executor's step counter does not see.
    ctx.checkpoint();
    let out: string;
    try {
      out = ctx.executeTemplate(name, vals ?? null, clone);
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      throw new TemplateError(
        'TEMPLATE_EXEC',
        `error during tpl function execution for ${goQuote(text as string)}: ${e.message}`,
        { templateName: name, cause: e },
      );
    }
    return out.replaceAll('<no value>', '');
  });
  const required = goFunc(['string', 'any'], ([warn, val]) => {
    if (val === null || val === MISSING || val === '') throw new Error(warnWrap(warn as string));
    return val as GoValue;
  });
  const fail = goFunc(['string'], ([msg]) => {
    throw new Error(warnWrap(msg as string));
  });
  const lookup = goFunc(['string', 'string', 'string', 'string'], () => newGoMap());
  const getHostByName = goFunc(['string'], () => '');
  return { include, tpl, required, fail, lookup, getHostByName };
}

/** Go's %q for the short strings Helm quotes in tpl errors. */
function goQuote(s: string): string {
  return JSON.stringify(s).replace(/\\u007f/g, '\\x7f');
}

interface Traceable {
  location: string;
  message: string;
  executed: string;
}

function parseTraceable(s: string): Traceable | undefined {
  const prefix = 'template: ';
  if (!s.startsWith(prefix)) return undefined;
  const rest = s.slice(prefix.length);
  if (rest.startsWith('no template ')) return { location: '', message: s, executed: '' };
  const idx = rest.indexOf(': executing ');
  if (idx !== -1) {
    const name = rest.slice(0, idx);
    const after = rest.slice(idx + ': executing '.length);
    if (after.startsWith('"')) {
      const end = after.indexOf('"', 1);
      if (end !== -1) {
        const fn = after.slice(1, end);
        const afterFn = after.slice(end + 1);
        if (afterFn.startsWith(' at <')) {
          const afterAt = afterFn.slice(' at <'.length);
          const endLoc = afterAt.indexOf('>: ');
          if (endLoc !== -1) {
            let msg = afterAt.slice(endLoc + 3);
            const cut = msg.indexOf(' template:');
            if (cut !== -1) msg = msg.slice(0, cut);
            return {
              location: name,
              message: msg,
              executed: `executing "${fn}" at <${afterAt.slice(0, endLoc)}>:`,
            };
          }
        }
      }
    }
    return undefined;
  }
  const sep = rest.lastIndexOf(': ');
  if (sep === -1) return undefined;
  let msg = rest.slice(sep + 2);
  const cut = msg.indexOf(' template:');
  if (cut !== -1) msg = msg.slice(0, cut);
  return { location: rest.slice(0, sep), message: msg, executed: '' };
}

function traceableString(t: Traceable): string {
  let s = '';
  if (t.location !== '') s += `${t.location}\n  `;
  if (t.executed !== '') s += `${t.executed}\n    `;
  if (t.message !== '') s += `${t.message}\n`;
  return s;
}

/** The error chain as Go's errors.Unwrap would walk it. */
function chainOf(err: unknown): unknown[] {
  const out: unknown[] = [];
  let cur: unknown = err;
  for (let i = 0; cur !== undefined && cur !== null && i < 10_000; i++) {
    out.push(cur);
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return out;
}

/** Helm's `reformatExecErrorMsg`. */
export function reformatExecError(filename: string, err: TemplateError): ChartproofError {
  const msg = err.message;
  const tokens = splitN(msg, ': ', 3);
  if (tokens.length !== 3) {
    return new ChartproofError('TEMPLATE_EXEC', `execution error in (${filename}): ${msg}`, { cause: err });
  }
  const location = tokens[1] as string;
  const w = new RegExp(`${WARN_START}([\\s\\S]*)${WARN_END}`).exec(tokens[2] as string);
  if (w)
    return new ChartproofError('TEMPLATE_EXEC', `execution error at (${location}): ${w[1]}`, { cause: err });
  const locations: Traceable[] = [];
  for (const e of chainOf(err)) {
    const t = parseTraceable(e instanceof Error ? e.message : String(e));
    if (!t) return err;
    const last = locations[locations.length - 1];
    if (!last || last.location !== t.location || last.message !== t.message || last.executed !== t.executed) {
      locations.push(t);
    }
  }
  return new ChartproofError('TEMPLATE_EXEC', locations.map(traceableString).join('').trim(), { cause: err });
}

function splitN(s: string, sep: string, n: number): string[] {
  const out: string[] = [];
  let rest = s;
  while (out.length < n - 1) {
    const i = rest.indexOf(sep);
    if (i === -1) break;
    out.push(rest.slice(0, i));
    rest = rest.slice(i + sep.length);
  }
  out.push(rest);
  return out;
}

/** Helm's `cleanupParseError`. */
function cleanupParseError(filename: string, err: TemplateError): ChartproofError {
  const tokens = err.message.split(': ');
  if (tokens.length === 1) {
    return new ChartproofError('TEMPLATE_PARSE', `parse error in (${filename}): ${err.message}`, {
      cause: err,
    });
  }
  return new ChartproofError(
    'TEMPLATE_PARSE',
    `parse error at (${tokens[1]}): ${tokens[tokens.length - 1]}`,
    {
      cause: err,
    },
  );
}

/**
 * Renders every template of a (dependency-processed) chart tree with the top-level
 * render values (`{Values, Release, Capabilities}`), as Helm's `Engine.Render`:
 * returns template path → output (partials `_*` parsed but not rendered).
 * @public
 */
export function renderTemplates(chart: Chart, topValues: GoMap, options: EngineOptions): Map<string, string> {
  const templates = new Map<string, Renderable>();
  recAllTemplates(treeOf(chart), templates, topValues);
  const strict = options.strict === true;
  const set = new TemplateSet({
    name: 'gotpl',
    funcs: { ...options.funcs, ...engineFuncs(strict) },
    missingKey: strict ? 'error' : 'zero',
  });
  const keys = sortTemplateNames(templates.keys());
  for (const name of keys) {
    try {
      set.parse(name, (templates.get(name) as Renderable).text);
    } catch (e) {
      if (e instanceof TemplateError) throw cleanupParseError(name, e);
      throw e;
    }
    // Parsing is not metered by the executor: check the render's deadline between files.
    if (options.signal?.aborted)
      throw options.signal.reason ?? new ChartproofError('ABORTED', 'template rendering aborted');
    if (options.deadline !== undefined && Date.now() > options.deadline)
      throw new ChartproofError('TIMEOUT', 'template parsing exceeded its deadline');
  }
  const rendered = new Map<string, string>();
  // Rendered files are kept until the end: their total is what the output budget bounds.
  let used = 0;
  for (const name of keys) {
    if (basename(name).startsWith('_')) continue;
    const r = templates.get(name) as Renderable;
    const t = newGoMap();
    mapSet(t, 'Name', name);
    mapSet(t, 'BasePath', r.basePath);
    mapSet(r.vals, 'Template', t);
    let out: string;
    try {
      out = set.execute(name, r.vals, {
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.deadline !== undefined ? { deadline: options.deadline } : {}),
        ...(options.maxOutput !== undefined ? { maxOutput: Math.max(0, options.maxOutput - used) } : {}),
      });
    } catch (e) {
      if (e instanceof TemplateError && e.code === 'TEMPLATE_EXEC') throw reformatExecError(name, e);
      throw e;
    }
    used += out.length;
    rendered.set(name, out.replaceAll('<no value>', ''));
  }
  return rendered;
}
