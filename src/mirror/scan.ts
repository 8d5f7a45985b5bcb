/**
 * Chart scanning: a small {@link Scanner} interface, a policy evaluation
 * ({@link evaluateFindings}, {@link runScanners}) and a built-in scanner
 * ({@link builtinScanner}) whose checks need no template rendering.
 *
 * The built-in checks are textual heuristics over `values.yaml` and template
 * sources. They target the "compromised maintainer" threat (a new chart version
 * that adds a ClusterRoleBinding, a pre-install hook or an init container that
 * reads Secrets); they are a tripwire, not a proof that a chart is safe. See
 * docs/scanning.md for each rule's known false positives and negatives.
 */

import { ChartproofError, redact } from '../errors.js';
import type { Chart, ChartFile } from '../chart/types.js';

/** Finding severities, lowest first. @public */
export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';

/** Every {@link Severity}, lowest first. @public */
export const SEVERITIES: readonly Severity[] = Object.freeze(['info', 'low', 'medium', 'high', 'critical']);

function isSeverity(value: unknown): value is Severity {
  return typeof value === 'string' && (SEVERITIES as readonly string[]).includes(value);
}

/** True when severity `a` is at least as severe as `b` (`severityAtLeast('high', 'medium')` is true). @public */
export function severityAtLeast(a: Severity, b: Severity): boolean {
  return SEVERITIES.indexOf(a) >= SEVERITIES.indexOf(b);
}

/** One result of a scanner. @public */
export interface Finding {
  /** Stable rule id, e.g. `cluster-scoped-rbac`. Branch on this, not on `message`. */
  rule: string;
  severity: Severity;
  /** Human-readable; not API. */
  message: string;
  /** `name-version` of the chart, with subcharts as a path: `app-1.0.0 > common-2.0.0`. */
  chart: string;
  /** Path inside the chart (`templates/job.yaml`, `values.yaml`), when the finding has one. */
  file?: string;
  /** 1-based line in `file`, when known (values are parsed, so value findings carry `detail.path` instead). */
  line?: number;
  /** Name of the scanner that produced the finding; set by {@link runScanners}. */
  scanner?: string;
  /** Rule-specific data (image reference, hook types, values path, ...). */
  detail?: Record<string, unknown>;
}

/** Options of {@link Scanner.scan} and {@link runScanners}. @public */
export interface ScanOptions {
  signal?: AbortSignal;
}

/**
 * A chart scanner. Implementations receive the loaded chart (subcharts in
 * `chart.dependencies`) and return findings; they must not modify the chart.
 * External tools (trivy, kubescape, ...) can be wrapped behind this interface
 * outside the library.
 * @public
 */
export interface Scanner {
  /** Short name used in reports and in `scanner-error` findings. */
  name: string;
  scan(chart: Chart, options?: ScanOptions): Promise<Finding[]>;
}

/**
 * Severity thresholds: findings at or above `block` block the chart; findings at or
 * above `warn` (and below `block`) are warnings. An unset threshold never triggers.
 * @public
 */
export interface ScanPolicy {
  block?: Severity;
  warn?: Severity;
}

/** The outcome of applying a {@link ScanPolicy} to findings. @public */
export interface ScanVerdict {
  /** True when at least one finding reached the `block` threshold. */
  blocked: boolean;
  /** Every finding, in deterministic order (chart, file, line, rule). */
  findings: Finding[];
  /** Findings at or above `block`. */
  blocking: Finding[];
  /** Findings at or above `warn` that are not blocking. */
  warnings: Finding[];
}

function compareText(a: string | undefined, b: string | undefined): number {
  const x = a ?? '';
  const y = b ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Orders findings by chart, file, line, rule (then message), without locale rules. @public */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    compareText(a.chart, b.chart) ||
    compareText(a.file, b.file) ||
    (a.line ?? 0) - (b.line ?? 0) ||
    compareText(a.rule, b.rule) ||
    compareText(a.message, b.message)
  );
}

function assertPolicy(policy: ScanPolicy): void {
  for (const key of ['block', 'warn'] as const) {
    const value = policy?.[key];
    if (value !== undefined && !isSeverity(value)) {
      throw new ChartproofError(
        'INVALID_ARGUMENT',
        `scan policy ${key} must be one of ${SEVERITIES.join(', ')}, got ${JSON.stringify(value)}`,
      );
    }
  }
}

/**
 * Splits findings by a policy. The returned lists are sorted with {@link compareFindings}.
 *
 * Errors ({@link ChartproofError}): `INVALID_ARGUMENT` for an unknown threshold.
 * @public
 */
export function evaluateFindings(findings: readonly Finding[], policy: ScanPolicy): ScanVerdict {
  assertPolicy(policy);
  const sorted = [...findings].sort(compareFindings);
  const blocking: Finding[] = [];
  const warnings: Finding[] = [];
  for (const f of sorted) {
    if (policy.block !== undefined && severityAtLeast(f.severity, policy.block)) blocking.push(f);
    else if (policy.warn !== undefined && severityAtLeast(f.severity, policy.warn)) warnings.push(f);
  }
  return { blocked: blocking.length > 0, findings: sorted, blocking, warnings };
}

/** `name-version` of a chart. */
function chartLabel(chart: Chart): string {
  return `${chart.metadata?.name ?? ''}-${chart.metadata?.version ?? ''}`;
}

function isValidFinding(f: unknown): f is Finding {
  const x = f as Finding | null;
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof x.rule === 'string' &&
    x.rule !== '' &&
    isSeverity(x.severity) &&
    typeof x.message === 'string' &&
    typeof x.chart === 'string'
  );
}

/**
 * Runs scanners over a chart (concurrently) and evaluates their findings with
 * `policy`.
 *
 * A scanner that throws, or returns something that is not a list of well-formed
 * findings, yields one `scanner-error` finding at `high` severity instead of its
 * results: a broken scanner must not silently pass a chart (with `block: high`
 * the chart is blocked). Aborting `signal` rejects with the abort reason instead.
 *
 * Errors ({@link ChartproofError}): `INVALID_ARGUMENT` for an unknown threshold.
 * @public
 */
export async function runScanners(
  chart: Chart,
  scanners: readonly Scanner[],
  policy: ScanPolicy,
  options: ScanOptions = {},
): Promise<ScanVerdict> {
  assertPolicy(policy);
  const { signal } = options;
  signal?.throwIfAborted();
  const results = await Promise.all(
    scanners.map(async (scanner): Promise<Finding[]> => {
      const name = String(scanner?.name ?? '');
      const failed = (reason: string): Finding[] => [
        {
          rule: 'scanner-error',
          severity: 'high',
          message: redact(`scanner '${name}' failed: ${reason}`),
          chart: chartLabel(chart),
          scanner: name,
          detail: { scanner: name },
        },
      ];
      let found: unknown;
      try {
        found = await scanner.scan(chart, signal ? { signal } : {});
      } catch (err) {
        if (signal?.aborted) throw err;
        return failed(err instanceof Error ? err.message : String(err));
      }
      if (!Array.isArray(found)) return failed('it did not return a list of findings');
      const bad = found.findIndex((f) => !isValidFinding(f));
      if (bad >= 0) return failed(`finding #${bad} is malformed (needs rule, severity, message, chart)`);
      return (found as Finding[]).map((f) => ({ ...f, scanner: name }));
    }),
  );
  signal?.throwIfAborted();
  return evaluateFindings(results.flat(), policy);
}

// ---------------------------------------------------------------------------
// Built-in scanner

/** Rule ids of {@link builtinScanner}. @public */
export type BuiltinRuleId =
  | 'image-not-allowed'
  | 'image-not-pinned'
  | 'cluster-scoped-rbac'
  | 'cluster-admin-binding'
  | 'admission-webhook'
  | 'crd-in-templates'
  | 'crd-directory'
  | 'helm-hook'
  | 'template-lookup'
  | 'v1-requirements'
  | 'host-path'
  | 'host-namespace'
  | 'privileged-container'
  | 'init-container'
  | 'secret-env';

/** A rule of {@link builtinScanner} with its default severity. @public */
export interface BuiltinRule {
  id: BuiltinRuleId;
  severity: Severity;
  summary: string;
}

/**
 * The built-in rules and their default severities. `template-lookup` is `high` when
 * the looked-up kind is (or may be) a Secret and `medium` otherwise; an override
 * applies to both.
 * @public
 */
export const BUILTIN_RULES: readonly BuiltinRule[] = Object.freeze([
  { id: 'image-not-allowed', severity: 'high', summary: 'image outside the allowed list' },
  { id: 'image-not-pinned', severity: 'low', summary: 'image referenced by tag only, no digest' },
  { id: 'cluster-scoped-rbac', severity: 'high', summary: 'ClusterRole or ClusterRoleBinding' },
  { id: 'cluster-admin-binding', severity: 'critical', summary: 'ClusterRoleBinding to cluster-admin' },
  { id: 'admission-webhook', severity: 'high', summary: 'Mutating/ValidatingWebhookConfiguration' },
  { id: 'crd-in-templates', severity: 'medium', summary: 'CustomResourceDefinition in templates/' },
  { id: 'crd-directory', severity: 'info', summary: 'file in crds/ (installed untemplated)' },
  { id: 'helm-hook', severity: 'medium', summary: 'helm.sh/hook annotation' },
  { id: 'template-lookup', severity: 'medium', summary: '`lookup` reads cluster objects' },
  { id: 'v1-requirements', severity: 'low', summary: 'apiVersion v1 chart with requirements.yaml' },
  { id: 'host-path', severity: 'high', summary: 'hostPath volume' },
  { id: 'host-namespace', severity: 'high', summary: 'hostNetwork/hostPID/hostIPC: true' },
  { id: 'privileged-container', severity: 'high', summary: 'privileged: true' },
  { id: 'init-container', severity: 'info', summary: 'init containers' },
  { id: 'secret-env', severity: 'info', summary: 'environment from secretKeyRef' },
] satisfies BuiltinRule[]);

/** Options of {@link builtinScanner}. @public */
export interface BuiltinScannerOptions {
  /**
   * Allowed images, matched against the fully qualified reference
   * (`docker.io/library/nginx:1.25`, `registry.internal.example/team/app@sha256:…`).
   * An entry with `*` or `?` is a glob over the whole reference (`*` also matches
   * `/`, as in Kyverno): `registry.internal.example/*`. Any other entry is a prefix
   * ending at a path, tag or digest boundary: `docker.io/bitnami` allows
   * `docker.io/bitnami/nginx:1.25` but not `docker.io/bitnamix/nginx`.
   * If unset, `image-not-allowed` is never reported; an empty list allows nothing.
   */
  allowedImages?: readonly string[];
  /** Per-rule severity overrides. */
  severities?: Partial<Record<BuiltinRuleId, Severity>>;
}

const SECRET_KIND = /^secrets?$/i;

/**
 * The built-in scanner (`name: 'builtin'`). It reads `values.yaml` (parsed) and
 * template, `crds/` and `requirements.yaml` sources line by line, without rendering,
 * in the chart and all its subcharts. Rules: {@link BUILTIN_RULES}.
 *
 * Errors ({@link ChartproofError}): `INVALID_ARGUMENT` for an unknown rule id or
 * severity in `severities`, or a non-string / empty `allowedImages` entry.
 * @public
 */
export function builtinScanner(options: BuiltinScannerOptions = {}): Scanner {
  const severityOf = new Map<string, Severity>(BUILTIN_RULES.map((r) => [r.id, r.severity]));
  for (const [rule, severity] of Object.entries(options.severities ?? {})) {
    if (!severityOf.has(rule)) {
      throw new ChartproofError('INVALID_ARGUMENT', `unknown built-in scan rule '${rule}'`);
    }
    if (!isSeverity(severity)) {
      throw new ChartproofError(
        'INVALID_ARGUMENT',
        `severity of rule '${rule}' must be one of ${SEVERITIES.join(', ')}, got ${JSON.stringify(severity)}`,
      );
    }
  }
  let allowed: ((ref: string) => boolean) | undefined;
  if (options.allowedImages !== undefined) {
    const matchers = options.allowedImages.map((entry) => {
      if (typeof entry !== 'string' || entry.trim() === '') {
        throw new ChartproofError('INVALID_ARGUMENT', 'allowedImages entries must be non-empty strings');
      }
      return imageMatcher(entry.trim());
    });
    allowed = (ref) => matchers.some((m) => m(ref));
  }
  const overrides = options.severities ?? {};
  const ctx: RuleContext = {
    severity: (rule, fallback) => overrides[rule] ?? fallback ?? (severityOf.get(rule) as Severity),
    allowed,
  };
  return {
    name: 'builtin',
    async scan(chart: Chart, scanOptions: ScanOptions = {}): Promise<Finding[]> {
      const findings: Finding[] = [];
      scanChart(chart, '', ctx, findings, scanOptions.signal);
      return findings.sort(compareFindings);
    },
  };
}

interface RuleContext {
  severity(rule: BuiltinRuleId, fallback?: Severity): Severity;
  allowed: ((normalizedRef: string) => boolean) | undefined;
}

type Emit = (
  rule: BuiltinRuleId,
  message: string,
  at: { file?: string; line?: number },
  detail?: Record<string, unknown>,
  severity?: Severity,
) => void;

function scanChart(
  chart: Chart,
  parent: string,
  ctx: RuleContext,
  out: Finding[],
  signal?: AbortSignal,
): void {
  signal?.throwIfAborted();
  const label = parent ? `${parent} > ${chartLabel(chart)}` : chartLabel(chart);
  const emit: Emit = (rule, message, at, detail, severity) => {
    const f: Finding = { rule, severity: ctx.severity(rule, severity), message, chart: label };
    if (at.file !== undefined) f.file = at.file;
    if (at.line !== undefined) f.line = at.line;
    if (detail !== undefined) f.detail = detail;
    out.push(f);
  };

  scanValues(chart.values ?? {}, ctx, emit);
  for (const file of chart.templates ?? []) scanTemplate(file, ctx, emit);
  for (const file of chart.files ?? []) {
    if (file.name.startsWith('crds/') && /\.(ya?ml|json)$/i.test(file.name)) scanCrdFile(file, emit);
  }
  if (
    chart.metadata?.apiVersion === 'v1' &&
    (chart.files ?? []).some((f) => f.name === 'requirements.yaml')
  ) {
    emit(
      'v1-requirements',
      'apiVersion v1 chart declares dependencies in requirements.yaml (legacy mechanism; prefer apiVersion v2 with dependencies in Chart.yaml)',
      { file: 'requirements.yaml' },
    );
  }
  for (const sub of chart.dependencies ?? []) scanChart(sub, label, ctx, out, signal);
}

// ---- images ----

// distribution/reference grammar (simplified): [domain[:port]/]path[:tag][@digest]
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const IMAGE_REF = new RegExp(
  `^(?:[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]+)?/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*` +
    '(?::[\\w][\\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$',
);

/** True when `s` parses as a container image reference. */
function looksLikeImageRef(s: string): boolean {
  return s.length <= 512 && IMAGE_REF.test(s);
}

interface ImageRef {
  normalized: string;
  tag?: string;
  digest?: string;
}

/** Parses and fully qualifies an image reference the way Docker does (`nginx` → `docker.io/library/nginx`). */
function parseImageRef(ref: string): ImageRef {
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

function imageMatcher(entry: string): (ref: string) => boolean {
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

function checkImage(
  written: string,
  ctx: RuleContext,
  emit: Emit,
  at: { file?: string; line?: number },
  extra: Record<string, unknown>,
): void {
  const ref = parseImageRef(written);
  const detail = { image: written, normalized: ref.normalized, ...extra };
  if (ctx.allowed && !ctx.allowed(ref.normalized)) {
    emit('image-not-allowed', `image ${written} is not in the allowed images`, at, detail);
  }
  if (!ref.digest) {
    emit(
      'image-not-pinned',
      ref.tag
        ? `image ${written} is referenced by tag only (no digest); the tag can be moved`
        : `image ${written} has neither tag nor digest (the tag is chosen at install time)`,
      at,
      detail,
    );
  }
}

// ---- values ----

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function scalarText(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() === '' ? undefined : v.trim();
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return undefined;
}

/** `{registry?, repository, tag?, digest?}` (Bitnami style) → reference, or undefined. */
function composeImage(m: Record<string, unknown>): string | undefined {
  const repository = scalarText(m.repository);
  if (!repository) return undefined;
  const registry = scalarText(m.registry);
  const tag = scalarText(m.tag);
  const digest = scalarText(m.digest);
  const ref = `${registry ? `${registry}/` : ''}${repository}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
  return ref.includes('{{') ? undefined : ref;
}

function isImageKey(key: string): boolean {
  return /image$/i.test(key);
}

const TRUE_VALUE = (v: unknown) => v === true || v === 'true';

function scanValues(values: Record<string, unknown>, ctx: RuleContext, emit: Emit): void {
  const at = { file: 'values.yaml' };
  const seen = new Set<unknown>();
  const image = (ref: string | undefined, path: string) => {
    if (ref !== undefined && looksLikeImageRef(ref)) checkImage(ref, ctx, emit, at, { path });
  };
  const walk = (node: unknown, path: string, underImages: boolean): void => {
    if (typeof node !== 'object' || node === null || seen.has(node)) return;
    seen.add(node);
    const entries: [string, unknown][] = Array.isArray(node)
      ? node.map((v, i) => [String(i), v])
      : Object.entries(node as Record<string, unknown>);
    if (!Array.isArray(node) && !underImages) {
      const m = node as Record<string, unknown>;
      // A map with repository plus tag/registry/digest is an image whatever its key.
      if (typeof m.repository === 'string' && ('tag' in m || 'registry' in m || 'digest' in m)) {
        image(composeImage(m), path);
        return;
      }
    }
    for (const [key, value] of entries) {
      const p = path ? (Array.isArray(node) ? `${path}[${key}]` : `${path}.${key}`) : key;
      if (underImages || (!Array.isArray(node) && (isImageKey(key) || key === 'images'))) {
        if (typeof value === 'string') {
          image(value.trim(), p);
          continue;
        }
        if (isMap(value) && typeof value.repository === 'string') {
          image(composeImage(value), p);
          continue;
        }
        if (key === 'images' || underImages) {
          walk(value, p, true);
          continue;
        }
      }
      if (Array.isArray(node)) {
        walk(value, p, false);
        continue;
      }
      if (/^(hostNetwork|hostPID|hostIPC)$/.test(key) && TRUE_VALUE(value)) {
        emit('host-namespace', `values set ${key}: true (pod shares the node's namespace)`, at, {
          path: p,
          key,
        });
      } else if (key === 'privileged' && TRUE_VALUE(value)) {
        emit('privileged-container', 'values set privileged: true', at, { path: p });
      } else if (
        key === 'hostPath' &&
        (scalarText(value) !== undefined || (isMap(value) && scalarText(value.path)))
      ) {
        emit('host-path', 'values set a hostPath (node filesystem mounted into a pod)', at, { path: p });
      } else if (/initContainers$/i.test(key) && nonEmpty(value)) {
        emit('init-container', `values define init containers (${key})`, at, { path: p });
      } else if (key === 'secretKeyRef' && isMap(value)) {
        emit('secret-env', 'values read an environment variable from a Secret (secretKeyRef)', at, {
          path: p,
        });
      }
      walk(value, p, false);
    }
  };
  walk(values, '', false);
}

function nonEmpty(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (isMap(v)) return Object.keys(v).length > 0;
  return typeof v === 'string' && v.trim() !== '';
}

// ---- templates ----

const decoder = new TextDecoder('utf-8');

/** Replaces every character except line breaks with a space, keeping offsets and line numbers. */
function blank(s: string): string {
  return s.replace(/[^\n]/g, ' ');
}

/** Template text with `{{/* … *\/}}` comments blanked out. */
function withoutTemplateComments(text: string): string {
  return text.replace(/\{\{-?\s*\/\*[\s\S]*?\*\/\s*-?\}\}/g, blank);
}

interface Action {
  /** Text between `{{` and `}}`. */
  body: string;
  /** Offset of `body` in the file. */
  offset: number;
}

/** Finds `{{ … }}` actions, skipping Go string, raw string and char literals. */
function findActions(text: string): Action[] {
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

function skipQuoted(text: string, from: number, quote: string): number {
  let j = from + 1;
  while (j < text.length && text[j] !== quote && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
  return j + 1;
}

interface Token {
  text: string;
  literal: boolean;
}

/** Reads the next operand after `from`: a string literal or a bare word. */
function readOperand(body: string, from: number): { token?: Token; next: number } {
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

function lineIndex(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  return starts;
}

function lineAt(starts: number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] as number) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

/** `lookup` calls inside actions (not in string literals, not `.lookup` fields or `$lookup` variables). */
function scanLookups(text: string, file: string, emit: Emit): void {
  const starts = lineIndex(text);
  for (const action of findActions(text)) {
    const body = action.body;
    let i = 0;
    while (i < body.length) {
      const c = body[i] as string;
      if (c === '"' || c === "'") {
        i = skipQuoted(body, i, c);
        continue;
      }
      if (c === '`') {
        const close = body.indexOf('`', i + 1);
        i = close < 0 ? body.length : close + 1;
        continue;
      }
      const before = i === 0 ? '' : (body[i - 1] as string);
      const after = body[i + 6] ?? '';
      if (body.startsWith('lookup', i) && !/[\w.$]/.test(before) && (after === '' || /[\s)]/.test(after))) {
        const args: Token[] = [];
        let next = i + 6;
        for (let n = 0; n < 4; n++) {
          const r = readOperand(body, next);
          if (!r.token) break;
          args.push(r.token);
          next = r.next;
        }
        const [apiVersion, kind, namespace, name] = args;
        const readsSecrets = !kind?.literal || SECRET_KIND.test(kind.text);
        const kindText = kind?.literal ? kind.text : null;
        const line = lineAt(starts, action.offset + i);
        emit(
          'template-lookup',
          kindText === null
            ? 'template calls lookup with a kind that is not a literal (it may read Secrets from the cluster)'
            : `template reads ${kindText} objects from the cluster with lookup`,
          { file, line },
          {
            apiVersion: apiVersion?.literal ? apiVersion.text : null,
            kind: kindText,
            namespace: namespace?.literal ? namespace.text : null,
            name: name?.literal ? name.text : null,
          },
          readsSecrets ? 'high' : 'medium',
        );
        i = next;
        continue;
      }
      i++;
    }
  }
}

/**
 * Lines of a template as YAML text: template comments blanked, YAML `#` comments
 * cut (a `#` at line start or after whitespace, outside actions and quotes).
 */
function yamlLines(text: string): string[] {
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
const ITEM = String.raw`^\s*(?:-\s+)?`;
const HOOK_LINE = new RegExp(`${ITEM}(["']?)helm\\.sh/hook\\1\\s*:\\s*(.*)$`);
const IMAGE_LINE = new RegExp(`${ITEM}(["']?)image\\1\\s*:\\s*(.+)$`);
const HOST_PATH_LINE = new RegExp(`${ITEM}hostPath\\s*:`);
const HOST_NS_LINE = new RegExp(`${ITEM}(hostNetwork|hostPID|hostIPC)\\s*:\\s*(["']?)true\\2\\s*$`);
const PRIVILEGED_LINE = new RegExp(`${ITEM}privileged\\s*:\\s*(["']?)true\\1\\s*$`);
const INIT_LINE = new RegExp(`${ITEM}initContainers\\s*:\\s*(.*)$`);
const SECRET_REF_LINE = new RegExp(`${ITEM}secretKeyRef\\s*:`);
const DOC_SEPARATOR = /^---(\s|$)/;

function unquote(s: string): string {
  const t = s.trim();
  if (t.length >= 2 && (t[0] === '"' || t[0] === "'") && t[t.length - 1] === t[0]) return t.slice(1, -1);
  return t;
}

/** True when the document's `roleRef` names `cluster-admin` (block or flow style). */
function bindsClusterAdmin(lines: string[]): boolean {
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

/** Top-level `kind:` lines (column 0) of each `---` document, with 1-based line numbers. */
function documentKinds(lines: string[]): { kind: string; line: number; doc: string[] }[] {
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

function scanKinds(lines: string[], file: string, inCrds: boolean, emit: Emit): string[] {
  const kinds: string[] = [];
  for (const { kind, line, doc } of documentKinds(lines)) {
    kinds.push(kind);
    const at = { file, line };
    if (kind === 'ClusterRoleBinding' && bindsClusterAdmin(doc)) {
      emit('cluster-admin-binding', 'ClusterRoleBinding grants cluster-admin', at, { kind });
    } else if (kind === 'ClusterRole' || kind === 'ClusterRoleBinding') {
      emit('cluster-scoped-rbac', `${kind} grants cluster-wide permissions`, at, { kind });
    } else if (kind === 'MutatingWebhookConfiguration' || kind === 'ValidatingWebhookConfiguration') {
      emit('admission-webhook', `${kind} intercepts API requests cluster-wide`, at, { kind });
    } else if (kind === 'CustomResourceDefinition' && !inCrds) {
      emit(
        'crd-in-templates',
        'CustomResourceDefinition in templates (cluster-scoped, removed on uninstall)',
        at,
        {
          kind,
        },
      );
    }
  }
  return kinds;
}

function scanCrdFile(file: ChartFile, emit: Emit): void {
  const lines = yamlLines(decoder.decode(file.data));
  const kinds = scanKinds(lines, file.name, true, emit);
  emit(
    'crd-directory',
    `${file.name} is installed as-is, before templates, and never upgraded by Helm`,
    { file: file.name },
    {
      kinds,
    },
  );
}

function scanTemplate(file: ChartFile, ctx: RuleContext, emit: Emit): void {
  const text = withoutTemplateComments(decoder.decode(file.data));
  scanLookups(text, file.name, emit);
  // NOTES.txt is rendered (lookups run) but never applied as manifests.
  if (/(^|\/)NOTES\.txt$/.test(file.name)) return;
  const lines = yamlLines(text);
  scanKinds(lines, file.name, false, emit);
  lines.forEach((line, i) => {
    const at = { file: file.name, line: i + 1 };
    const hook = HOOK_LINE.exec(line);
    if (hook) {
      const value = unquote(hook[2] as string);
      const hooks = value.includes('{{')
        ? []
        : value
            .split(',')
            .map((h) => h.trim())
            .filter((h) => h !== '');
      emit(
        'helm-hook',
        hooks.length > 0
          ? `Helm hook (${hooks.join(', ')}): runs outside the normal install order`
          : 'Helm hook with templated hook types',
        at,
        { hooks },
      );
      return;
    }
    const img = IMAGE_LINE.exec(line);
    if (img) {
      const value = unquote(img[2] as string);
      if (!value.includes('{{') && looksLikeImageRef(value)) checkImage(value, ctx, emit, at, {});
      return;
    }
    const hostNs = HOST_NS_LINE.exec(line);
    const init = INIT_LINE.exec(line);
    if (HOST_PATH_LINE.test(line)) {
      emit('host-path', 'hostPath volume mounts the node filesystem into a pod', at);
    } else if (hostNs) {
      emit('host-namespace', `${hostNs[1]}: true shares the node's namespace with the pod`, at, {
        key: hostNs[1],
      });
    } else if (PRIVILEGED_LINE.test(line)) {
      emit('privileged-container', 'privileged: true gives the container full access to the node', at);
    } else if (init) {
      if (!/^(\[\s*\]|null|~)$/.test((init[1] as string).trim())) {
        emit('init-container', 'init containers run before the main containers', at);
      }
    } else if (SECRET_REF_LINE.test(line)) {
      emit('secret-env', 'environment variable read from a Secret (secretKeyRef)', at);
    }
  });
}
