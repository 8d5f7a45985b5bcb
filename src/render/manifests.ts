/**
 * What Helm does with rendered template files before printing them: split each file
 * into YAML documents, tell hooks from ordinary manifests, sort by Helm's install
 * order of kinds, and print `helm template`'s stream (`---\n# Source: …`).
 *
 * Behaviour follows Helm v4.1.4 (`pkg/release/v1/util/manifest.go`,
 * `manifest_sorter.go`, `kind_sorter.go`, `pkg/action/action.go` renderResources and
 * `pkg/cmd/template.go`). Helm ≥ 4.2 changed the document splitting (trailing blank
 * lines kept); chartproof follows 4.1.4.
 */
import { ChartproofError } from '../errors.js';
import { isDepthLimitError, parseYamlDocumentBounded } from '../internal/bounded-parse.js';

/** Helm's install order of kinds; unknown kinds follow, alphabetically. @public */
export const INSTALL_ORDER: readonly string[] = [
  'PriorityClass',
  'Namespace',
  'NetworkPolicy',
  'ResourceQuota',
  'LimitRange',
  'PodSecurityPolicy',
  'PodDisruptionBudget',
  'ServiceAccount',
  'Secret',
  'SecretList',
  'ConfigMap',
  'StorageClass',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'CustomResourceDefinition',
  'ClusterRole',
  'ClusterRoleList',
  'ClusterRoleBinding',
  'ClusterRoleBindingList',
  'Role',
  'RoleList',
  'RoleBinding',
  'RoleBindingList',
  'Service',
  'DaemonSet',
  'Pod',
  'ReplicationController',
  'ReplicaSet',
  'Deployment',
  'HorizontalPodAutoscaler',
  'StatefulSet',
  'Job',
  'CronJob',
  'IngressClass',
  'Ingress',
  'APIService',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
];

const INSTALL_RANK = new Map(INSTALL_ORDER.map((k, i) => [k, i]));

/** Hook events Helm knows (`helm.sh/hook`), lower-cased. @public */
export type HookEvent =
  | 'pre-install'
  | 'post-install'
  | 'pre-delete'
  | 'post-delete'
  | 'pre-upgrade'
  | 'post-upgrade'
  | 'pre-rollback'
  | 'post-rollback'
  | 'test';

const HOOK_EVENTS: Record<string, HookEvent> = {
  'pre-install': 'pre-install',
  'post-install': 'post-install',
  'pre-delete': 'pre-delete',
  'post-delete': 'post-delete',
  'pre-upgrade': 'pre-upgrade',
  'post-upgrade': 'post-upgrade',
  'pre-rollback': 'pre-rollback',
  'post-rollback': 'post-rollback',
  test: 'test',
  'test-success': 'test',
};

/** The head of a rendered document, as Helm reads it (`SimpleHead`). @public */
export interface ManifestHead {
  apiVersion: string;
  kind: string;
  /** `metadata.name`, when the document has metadata. */
  name?: string;
  /** `metadata.annotations`, when present. */
  annotations?: Readonly<Record<string, string>>;
}

/** One rendered, non-hook document. @public */
export interface SortedManifest {
  /** Template path, e.g. `mychart/templates/deployment.yaml`. */
  path: string;
  /** The document text, surrounding whitespace trimmed. */
  content: string;
  head: ManifestHead;
}

/** One rendered hook document. @public */
export interface RenderedHook extends SortedManifest {
  events: HookEvent[];
  /** `helm.sh/hook-weight` as an integer (0 when absent or not an integer). */
  weight: number;
  deletePolicies: string[];
  outputLogPolicies: string[];
}

const WS = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
]);

function isGoSpace(c: number): boolean {
  return WS.has(c) || (c >= 0x2000 && c <= 0x200a);
}

/** Go's `strings.TrimSpace` (Unicode White_Space; unlike JS `trim`, keeps U+FEFF, drops U+0085). @public */
export function goTrimSpace(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isGoSpace(s.charCodeAt(a))) a++;
  while (b > a && isGoSpace(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** RE2's `\s`: tab, newline, form feed, carriage return, space (not vertical tab). */
function isRe2Space(c: number): boolean {
  return c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d || c === 0x20;
}

/**
 * Splits a rendered file into documents as Helm v4.1.4 does: the text is trimmed, then
 * split at `(?:^|\s*\n)---\s*` (so `---` at the start of a line, whatever follows it),
 * each piece trimmed and empty pieces dropped. Linear in the input.
 * @public
 */
export function splitManifests(text: string): string[] {
  const s = goTrimSpace(text);
  const docs: string[] = [];
  let start = 0; // start of the current piece
  let from = 0; // where the next separator may begin
  const take = (end: number) => {
    const d = goTrimSpace(s.slice(start, end));
    if (d !== '') docs.push(d);
  };
  const skipWs = (i: number) => {
    while (i < s.length && isRe2Space(s.charCodeAt(i))) i++;
    return i;
  };
  if (s.startsWith('---')) {
    from = skipWs(3);
    start = from;
    docs.length = 0;
  }
  for (;;) {
    const nl = s.indexOf('\n---', from);
    if (nl < 0) break;
    take(nl);
    start = skipWs(nl + 4);
    from = start;
  }
  take(s.length);
  return docs;
}

function headOf(path: string, doc: string): ManifestHead {
  let value: unknown;
  try {
    const d = parseYamlDocumentBounded(
      doc,
      { uniqueKeys: false, prettyErrors: false },
      { what: path, maxNodes: 2_000_000 },
    );
    // go-yaml v2 decodes the first document and ignores what follows a `...` line.
    const [error, multiple] = [
      d.errors.find((e) => e.code !== 'MULTIPLE_DOCS'),
      d.errors.find((e) => e.code === 'MULTIPLE_DOCS'),
    ];
    if (error) throw error;
    value = d.toJS({ maxAliasCount: 100 });
    if (multiple && (value === null || value === undefined)) throw multiple;
  } catch (err) {
    if (isDepthLimitError(err)) throw err;
    throw new ChartproofError(
      'TEMPLATE_OUTPUT_INVALID',
      `YAML parse error on ${path}: error converting YAML to JSON: ${goYamlMessage(doc, err)}`,
      { cause: err },
    );
  }
  const head: ManifestHead = { apiVersion: '', kind: '' };
  if (value === null || value === undefined) return head;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ChartproofError(
      'TEMPLATE_OUTPUT_INVALID',
      `YAML parse error on ${path}: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ${Array.isArray(value) ? 'array' : jsonKind(value)} into Go value of type util.SimpleHead`,
    );
  }
  const o = value as Record<string, unknown>;
  const str = (v: unknown, field: string): string => {
    if (v === undefined || v === null) return '';
    if (typeof v === 'string') return v;
    throw new ChartproofError(
      'TEMPLATE_OUTPUT_INVALID',
      `YAML parse error on ${path}: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ${jsonKind(v)} into Go struct field ${field} of type string`,
    );
  };
  head.apiVersion = str(own(o, 'apiVersion'), 'SimpleHead.apiVersion');
  head.kind = str(own(o, 'kind'), 'SimpleHead.kind');
  const meta = own(o, 'metadata');
  if (meta !== undefined && meta !== null) {
    if (typeof meta !== 'object' || Array.isArray(meta)) {
      throw new ChartproofError(
        'TEMPLATE_OUTPUT_INVALID',
        `YAML parse error on ${path}: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ${jsonKind(meta)} into Go struct field SimpleHead.metadata of type struct { Name string "json:\\"name\\""; Annotations map[string]string "json:\\"annotations\\"" }`,
      );
    }
    const m = meta as Record<string, unknown>;
    head.name = str(own(m, 'name'), 'SimpleHead.metadata.name');
    const ann = own(m, 'annotations');
    if (ann !== undefined && ann !== null) {
      if (typeof ann !== 'object' || Array.isArray(ann)) {
        throw new ChartproofError(
          'TEMPLATE_OUTPUT_INVALID',
          `YAML parse error on ${path}: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ${jsonKind(ann)} into Go struct field .metadata.annotations of type map[string]string`,
        );
      }
      const out: Record<string, string> = Object.create(null);
      for (const [k, v] of Object.entries(ann as Record<string, unknown>)) {
        out[k] = str(v, '.metadata.annotations');
      }
      head.annotations = out;
    }
  }
  return head;
}

/**
 * go-yaml's wording for the YAML errors templates commonly produce (a line without a
 * `key:` inside a mapping is `yaml: line N: could not find expected ':'`, N being the
 * line after the offending one); other errors keep the YAML library's message after
 * go-yaml's `yaml: ` prefix (docs/rendering.md lists this difference).
 */
function goYamlMessage(doc: string, err: unknown): string {
  const e = err as { code?: string; message?: string; pos?: [number, number] };
  const lineOf = (offset: number) => {
    let n = 0;
    for (let i = 0; i < offset && i < doc.length; i++) if (doc.charCodeAt(i) === 10) n++;
    return n;
  };
  if (e.code === 'MISSING_CHAR' && /^Implicit map keys/.test(e.message ?? '') && e.pos) {
    return `yaml: line ${lineOf(e.pos[0]) + 2}: could not find expected ':'`;
  }
  return `yaml: ${e.message ?? String(err)}`;
}

function own(o: Record<string, unknown>, k: string): unknown {
  return Object.hasOwn(o, k) ? o[k] : undefined;
}

function jsonKind(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'bigint') return 'number';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'string') return 'string';
  if (Array.isArray(v)) return 'array';
  return 'object';
}

/** Go's strconv.Atoi for a hook weight (0 on any error, as Helm). */
function atoi(s: string): number {
  if (!/^[+-]?[0-9]+$/.test(s)) return 0;
  const n = Number(s);
  return Number.isSafeInteger(n) && Math.abs(n) <= 2 ** 63 ? n : 0;
}

function splitPolicies(v: string | undefined): string[] {
  if (v === undefined) return [];
  return v.split(',').map((p) => goTrimSpace(p).toLowerCase());
}

function compareGoStrings(a: string, b: string): number {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return Buffer.compare(x, y);
}

function kindLess(a: string, b: string): boolean {
  const ra = INSTALL_RANK.get(a);
  const rb = INSTALL_RANK.get(b);
  if (ra === undefined && rb === undefined) return a !== b && compareGoStrings(a, b) < 0;
  if (ra === undefined) return false;
  if (rb === undefined) return true;
  return ra < rb;
}

function stableSortByKind<T extends { head: ManifestHead }>(items: T[]): T[] {
  return items
    .map((item, i) => ({ item, i }))
    .sort((x, y) => {
      if (kindLess(x.item.head.kind, y.item.head.kind)) return -1;
      if (kindLess(y.item.head.kind, x.item.head.kind)) return 1;
      return x.i - y.i;
    })
    .map((x) => x.item);
}

/** The result of {@link sortManifests}. @public */
export interface SortedRender {
  manifests: SortedManifest[];
  hooks: RenderedHook[];
}

/**
 * Helm's `SortManifests`: files in byte order of their paths (partials `_*` and blank
 * files skipped), each split into documents; documents with a known `helm.sh/hook`
 * become hooks (unknown hook events drop the document, as Helm does), the rest are
 * manifests; both sorted stably by install order of kinds.
 * @public
 */
export function sortManifests(files: ReadonlyMap<string, string>): SortedRender {
  const manifests: SortedManifest[] = [];
  const hooks: RenderedHook[] = [];
  const paths = [...files.keys()].sort(compareGoStrings);
  for (const path of paths) {
    const content = files.get(path) ?? '';
    const base = path.slice(path.lastIndexOf('/') + 1);
    if (base.startsWith('_')) continue;
    if (goTrimSpace(content) === '') continue;
    for (const doc of splitManifests(content)) {
      const head = headOf(path, doc);
      const ann = head.annotations;
      const hookTypes = ann && Object.keys(ann).length > 0 ? ann['helm.sh/hook'] : undefined;
      if (hookTypes === undefined) {
        manifests.push({ path, content: doc, head });
        continue;
      }
      const events: HookEvent[] = [];
      let unknown = false;
      for (const t of hookTypes.split(',')) {
        const e = HOOK_EVENTS[goTrimSpace(t).toLowerCase()];
        if (e === undefined || !Object.hasOwn(HOOK_EVENTS, goTrimSpace(t).toLowerCase())) {
          unknown = true;
          break;
        }
        events.push(e);
      }
      if (unknown) continue;
      hooks.push({
        path,
        content: doc,
        head,
        events,
        weight: atoi(ann?.['helm.sh/hook-weight'] ?? ''),
        deletePolicies: splitPolicies(ann?.['helm.sh/hook-delete-policy']),
        outputLogPolicies: splitPolicies(ann?.['helm.sh/hook-output-log-policy']),
      });
    }
  }
  return { manifests: stableSortByKind(manifests), hooks: stableSortByKind(hooks) };
}

/** One document of `helm template`'s stream. */
function sourced(path: string, content: string): string {
  return `---\n# Source: ${path}\n${content}\n`;
}

/** A CRD file of a chart (`crds/`), printed verbatim with `--include-crds`. @public */
export interface CrdFile {
  /** Path as Helm prints it, e.g. `mychart/crds/crd.yaml`. */
  path: string;
  content: string;
}

/** Output options of {@link formatTemplateOutput}, as `helm template`'s flags. @public */
export interface TemplateOutputOptions {
  /** CRD files to print first (`--include-crds`). */
  crds?: readonly CrdFile[];
  /** `--no-hooks`. */
  noHooks?: boolean;
  /** `--skip-tests`. */
  skipTests?: boolean;
  /** `--show-only` paths or globs, relative to the top chart (`templates/x.yaml`). */
  showOnly?: readonly string[];
}

/**
 * `helm template`'s standard output for a sorted render, byte for byte (v4.1.4).
 * Throws `TEMPLATE_NOT_FOUND` for a `--show-only` that matches nothing, with Helm's message.
 * @public
 */
export function formatTemplateOutput(sorted: SortedRender, options: TemplateOutputOptions = {}): string {
  let manifest = '';
  for (const crd of options.crds ?? []) manifest += sourced(crd.path, crd.content);
  for (const m of sorted.manifests) manifest += sourced(m.path, m.content);
  let out = `${goTrimSpace(manifest)}\n`;
  if (!options.noHooks) {
    for (const h of sorted.hooks) {
      if (options.skipTests && h.events.includes('test')) continue;
      out += sourced(h.path, h.content);
    }
  }
  const showOnly = options.showOnly ?? [];
  if (showOnly.length === 0) return out;
  return formatShowOnly(out, showOnly);
}

/**
 * `--show-only` applied to a `helm template` stream: the documents whose `# Source:`
 * path (below the top chart) matches each pattern, in pattern order.
 * @public
 */
export function formatShowOnly(out: string, showOnly: readonly string[]): string {
  const docs = splitManifests(out);
  const selected: string[] = [];
  for (const pattern of showOnly) {
    let missing = true;
    for (const doc of docs) {
      const m = /# Source: [^/\n]+\/([^\n]+)/.exec(doc);
      if (!m) continue;
      if (!goPathMatch(pattern, m[1] as string)) continue;
      selected.push(doc);
      missing = false;
    }
    if (missing) {
      throw new ChartproofError('TEMPLATE_NOT_FOUND', `could not find template ${pattern} in chart`);
    }
  }
  return selected.map((d) => `---\n${d}\n`).join('');
}

/**
 * Go's `path/filepath.Match` on `/`-separated paths: `*` and `?` never match `/`,
 * `[…]` classes with `^` negation and ranges, `\` escapes. A malformed pattern
 * matches nothing (Helm ignores the error).
 * @public
 */
export function goPathMatch(pattern: string, name: string): boolean {
  const p = [...pattern];
  const n = [...name];
  // Iterative matcher with backtracking on the last star (linear-ish, bounded by |p|·|n|).
  const match = (pi: number, ni: number): boolean | undefined => {
    while (pi < p.length) {
      const c = p[pi] as string;
      if (c === '*') {
        while (pi < p.length && p[pi] === '*') pi++;
        if (pi === p.length) return !n.slice(ni).includes('/');
        for (let k = ni; k <= n.length; k++) {
          const r = match(pi, k);
          if (r === undefined) return undefined;
          if (r) return true;
          if (k < n.length && n[k] === '/') break;
        }
        return false;
      }
      if (ni >= n.length) return checkRest(p, pi);
      const ch = n[ni] as string;
      if (c === '?') {
        if (ch === '/') return false;
        pi++;
        ni++;
        continue;
      }
      if (c === '[') {
        const cls = parseClass(p, pi + 1);
        if (!cls) return undefined;
        if (ch === '/' || cls.test(ch) === cls.negated) return false;
        pi = cls.end;
        ni++;
        continue;
      }
      let lit = c;
      if (c === '\\') {
        pi++;
        if (pi >= p.length) return undefined;
        lit = p[pi] as string;
      }
      if (lit !== ch) return false;
      pi++;
      ni++;
    }
    return ni === n.length;
  };
  return match(0, 0) === true;
}

function checkRest(p: string[], pi: number): boolean | undefined {
  // Go validates the remainder of the pattern when the name runs out.
  for (let i = pi; i < p.length; i++) {
    if (p[i] === '[') {
      const cls = parseClass(p, i + 1);
      if (!cls) return undefined;
      i = cls.end - 1;
    } else if (p[i] === '\\') {
      if (i + 1 >= p.length) return undefined;
      i++;
    }
  }
  return false;
}

function parseClass(
  p: string[],
  i: number,
): { test: (c: string) => boolean; negated: boolean; end: number } | undefined {
  let negated = false;
  if (p[i] === '^') {
    negated = true;
    i++;
  }
  const ranges: [string, string][] = [];
  let first = true;
  for (;;) {
    if (i >= p.length) return undefined;
    if (p[i] === ']' && !first) {
      i++;
      break;
    }
    first = false;
    let lo = p[i] as string;
    if (lo === '\\') {
      i++;
      if (i >= p.length) return undefined;
      lo = p[i] as string;
    } else if (lo === '-' || lo === ']') return undefined;
    i++;
    let hi = lo;
    if (p[i] === '-') {
      i++;
      if (i >= p.length) return undefined;
      hi = p[i] as string;
      if (hi === '\\') {
        i++;
        if (i >= p.length) return undefined;
        hi = p[i] as string;
      } else if (hi === '-' || hi === ']') return undefined;
      i++;
    }
    ranges.push([lo, hi]);
  }
  const cp = (s: string) => s.codePointAt(0) ?? 0;
  return {
    negated,
    end: i,
    test: (c) => ranges.some(([lo, hi]) => cp(lo) <= cp(c) && cp(c) <= cp(hi)),
  };
}
