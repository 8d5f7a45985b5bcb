/**
 * Text analysis used by the built-in chart scanner ({@link builtinScanner}): container
 * image reference parsing, normalisation and allow-list matching, Bitnami-style image
 * maps in values, and line-oriented reading of template sources (template and YAML
 * comment stripping, `{{ … }}` action extraction, operand reading, line numbers,
 * `---` document splitting with top-level `kind:` lines).
 *
 * Everything here is self-contained and internal: nothing is re-exported from an
 * entry point.
 */
import { isRecord as isMap } from '../internal/guards.js';

// ---- images ----

// distribution/reference grammar (simplified): [domain[:port]/]path[:tag][@digest]
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const IMAGE_REF = new RegExp(
  `^(?:[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]+)?/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*` +
    '(?::[\\w][\\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$',
);

/** True when `s` parses as a container image reference. @internal */
export function looksLikeImageRef(s: string): boolean {
  return s.length <= 512 && IMAGE_REF.test(s);
}

/** A parsed image reference: fully qualified text, tag and digest. @internal */
export interface ImageRef {
  normalized: string;
  tag?: string;
  digest?: string;
}

/** Parses and fully qualifies an image reference the way Docker does (`nginx` → `docker.io/library/nginx`). @internal */
export function parseImageRef(ref: string): ImageRef {
  let name = ref;
  let digest: string | undefined;
  const at = name.indexOf('@');
  if (at >= 0) {
    digest = name.slice(at + 1);
    name = name.slice(0, at);
  }
  let tag: string | undefined;
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/')) {
    tag = name.slice(colon + 1);
    name = name.slice(0, colon);
  }
  const slash = name.indexOf('/');
  const first = slash >= 0 ? name.slice(0, slash) : '';
  let registry = 'docker.io';
  let path = name;
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = first === 'index.docker.io' ? 'docker.io' : first;
    path = name.slice(slash + 1);
  }
  if (registry === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  const normalized = `${registry}/${path}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
  const out: ImageRef = { normalized };
  if (tag) out.tag = tag;
  if (digest) out.digest = digest;
  return out;
}

/** Matcher of one `allowedImages` entry (glob with `*` / `?`, else a boundary-aware prefix). @internal */
export function imageMatcher(entry: string): (ref: string) => boolean {
  if (/[*?]/.test(entry)) {
    const source = [...entry]
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
      .join('');
    const re = new RegExp(`^${source}$`);
    return (ref) => re.test(ref);
  }
  return (ref) => {
    if (ref === entry) return true;
    if (!ref.startsWith(entry)) return false;
    if (entry.endsWith('/')) return true;
    const next = ref[entry.length];
    return next === '/' || next === ':' || next === '@';
  };
}

// ---- values ----

/** True for a plain object (not null, not an array). @internal */
export { isMap };

/** Trimmed non-empty string, or a number as text; undefined otherwise. @internal */
export function scalarText(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() === '' ? undefined : v.trim();
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return undefined;
}

/** `{registry?, repository, tag?, digest?}` (Bitnami style) → reference, or undefined. @internal */
export function composeImage(m: Record<string, unknown>): string | undefined {
  const repository = scalarText(m.repository);
  if (!repository) return undefined;
  const registry = scalarText(m.registry);
  const tag = scalarText(m.tag);
  const digest = scalarText(m.digest);
  const ref = `${registry ? `${registry}/` : ''}${repository}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
  return ref.includes('{{') ? undefined : ref;
}

// ---- templates ----

/** Replaces every character except line breaks with a space, keeping offsets and line numbers. */
function blank(s: string): string {
  return s.replace(/[^\n]/g, ' ');
}

/** Template text with `{{/* … *\/}}` comments blanked out. @internal */
export function withoutTemplateComments(text: string): string {
  return text.replace(/\{\{-?\s*\/\*[\s\S]*?\*\/\s*-?\}\}/g, blank);
}

/** A `{{ … }}` template action. @internal */
export interface Action {
  /** Text between `{{` and `}}`. */
  body: string;
  /** Offset of `body` in the file. */
  offset: number;
}

/** Finds `{{ … }}` actions, skipping Go string, raw string and char literals. @internal */
export function findActions(text: string): Action[] {
  const actions: Action[] = [];
  let i = text.indexOf('{{');
  while (i >= 0) {
    const start = i + 2;
    let j = start;
    let end = -1;
    while (j < text.length) {
      const c = text[j];
      if (c === '"' || c === "'") {
        j = skipQuoted(text, j, c);
      } else if (c === '`') {
        const close = text.indexOf('`', j + 1);
        j = close < 0 ? text.length : close + 1;
      } else if (c === '}' && text[j + 1] === '}') {
        end = j;
        break;
      } else {
        j++;
      }
    }
    if (end < 0) break;
    actions.push({ body: text.slice(start, end), offset: start });
    i = text.indexOf('{{', end + 2);
  }
  return actions;
}

/** Offset just past the quoted literal starting at `from` (unterminated: past the line break or the end). @internal */
export function skipQuoted(text: string, from: number, quote: string): number {
  let j = from + 1;
  while (j < text.length && text[j] !== quote && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
  return j + 1;
}

/** An operand of a template action: a string literal (unquoted) or a bare word. @internal */
export interface Token {
  text: string;
  literal: boolean;
}

/** Reads the next operand after `from`: a string literal or a bare word. @internal */
export function readOperand(body: string, from: number): { token?: Token; next: number } {
  let j = from;
  while (j < body.length && /\s/.test(body[j] as string)) j++;
  const c = body[j];
  if (c === undefined || c === ')' || c === '|' || c === '-') return { next: j };
  if (c === '"') {
    const end = skipQuoted(body, j, '"');
    const raw = body.slice(j, end);
    let value = raw.slice(1, -1);
    try {
      value = JSON.parse(raw) as string;
    } catch {
      // keep the raw text
    }
    return { token: { text: value, literal: true }, next: end };
  }
  if (c === '`') {
    const close = body.indexOf('`', j + 1);
    const end = close < 0 ? body.length : close + 1;
    return { token: { text: body.slice(j + 1, end - 1), literal: true }, next: end };
  }
  let k = j;
  if (c === '(') {
    let depth = 0;
    for (; k < body.length; k++) {
      if (body[k] === '(') depth++;
      else if (body[k] === ')' && --depth === 0) {
        k++;
        break;
      }
    }
  } else {
    while (k < body.length && !/[\s)|]/.test(body[k] as string)) k++;
  }
  return { token: { text: body.slice(j, k), literal: false }, next: k };
}

/** Offsets at which each line of `text` starts. @internal */
export function lineIndex(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  return starts;
}

/** 1-based line of `offset`, given the line starts from {@link lineIndex}. @internal */
export function lineAt(starts: number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] as number) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}
/**
 * Lines of a template as YAML text: template comments blanked, YAML `#` comments
 * cut (a `#` at line start or after whitespace, outside actions and quotes).
 * @internal
 */
export function yamlLines(text: string): string[] {
  return text.split('\n').map((line) => {
    let inAction = false;
    let quote = '';
    for (let i = 0; i < line.length; i++) {
      const c = line[i] as string;
      if (inAction) {
        if (c === '}' && line[i + 1] === '}') {
          inAction = false;
          i++;
        }
      } else if (quote) {
        if (c === quote) quote = '';
      } else if (c === '{' && line[i + 1] === '{') {
        inAction = true;
        i++;
      } else if ((c === '"' || c === "'") && (i === 0 || /[\s:[{,]/.test(line[i - 1] as string))) {
        quote = c;
      } else if (c === '#' && (i === 0 || /\s/.test(line[i - 1] as string))) {
        return line.slice(0, i).trimEnd();
      }
    }
    return line.replace(/\r$/, '');
  });
}

const KIND_LINE = /^kind:\s*(["']?)([A-Za-z]+)\1\s*$/;
const DOC_SEPARATOR = /^---(\s|$)/;

/** Trims `s` and removes one pair of matching surrounding quotes. @internal */
export function unquote(s: string): string {
  const t = s.trim();
  if (t.length >= 2 && (t[0] === '"' || t[0] === "'") && t[t.length - 1] === t[0]) return t.slice(1, -1);
  return t;
}

/** True when the document's `roleRef` names `cluster-admin` (block or flow style). @internal */
export function bindsClusterAdmin(lines: string[]): boolean {
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)roleRef:\s*(.*)$/.exec(lines[i] as string);
    if (!m) continue;
    const rest = m[2] as string;
    if (rest !== '') return /\bname:\s*(["']?)cluster-admin\1\s*[,}]/.test(rest);
    const indent = (m[1] as string).length;
    for (let j = i + 1; j < lines.length; j++) {
      const line = lines[j] as string;
      if (line.trim() === '') continue;
      if (line.length - line.trimStart().length <= indent) break;
      if (/^\s*name:\s*(["']?)cluster-admin\1\s*$/.test(line)) return true;
    }
  }
  return false;
}

/** Top-level `kind:` lines (column 0) of each `---` document, with 1-based line numbers. @internal */
export function documentKinds(lines: string[]): { kind: string; line: number; doc: string[] }[] {
  const out: { kind: string; line: number; doc: string[] }[] = [];
  let doc: string[] = [];
  let kinds: { kind: string; line: number }[] = [];
  const flush = () => {
    for (const k of kinds) out.push({ ...k, doc });
    doc = [];
    kinds = [];
  };
  lines.forEach((line, i) => {
    if (DOC_SEPARATOR.test(line)) {
      flush();
      return;
    }
    doc.push(line);
    const m = KIND_LINE.exec(line);
    if (m) kinds.push({ kind: m[2] as string, line: i + 1 });
  });
  flush();
  return out;
}
