/**
 * The built-in chart scanner ({@link builtinScanner}): checks that need no template
 * rendering, as textual heuristics over `values.yaml` and template sources.
 *
 * They target the "compromised maintainer" threat (a new chart version that adds a
 * ClusterRoleBinding, a pre-install hook or an init container that reads Secrets);
 * they are a tripwire, not a proof that a chart is safe. See docs/scanning.md for
 * each rule's known false positives and negatives. The text helpers live in
 * `scan-text.ts`; the {@link Scanner} interface and policy evaluation in `scan.ts`.
 */

import type { Chart, ChartFile } from '../chart/types.js';
import { ChartproofError } from '../errors.js';
import {
  chartLabel,
  compareFindings,
  type Finding,
  SEVERITIES,
  type ScanOptions,
  type Scanner,
  type Severity,
} from './scan.js';
import { isSeverity } from '../workloads/severity.js';
import {
  bindsClusterAdmin,
  composeImage,
  documentKinds,
  findActions,
  imageMatcher,
  isMap,
  lineAt,
  lineIndex,
  looksLikeImageRef,
  parseImageRef,
  readOperand,
  scalarText,
  skipQuoted,
  type Token,
  unquote,
  withoutTemplateComments,
  yamlLines,
} from './scan-text.js';

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

const ITEM = String.raw`^\s*(?:-\s+)?`;
const HOOK_LINE = new RegExp(`${ITEM}(["']?)helm\\.sh/hook\\1\\s*:\\s*(.*)$`);
const IMAGE_LINE = new RegExp(`${ITEM}(["']?)image\\1\\s*:\\s*(.+)$`);
const HOST_PATH_LINE = new RegExp(`${ITEM}hostPath\\s*:`);
const HOST_NS_LINE = new RegExp(`${ITEM}(hostNetwork|hostPID|hostIPC)\\s*:\\s*(["']?)true\\2\\s*$`);
const PRIVILEGED_LINE = new RegExp(`${ITEM}privileged\\s*:\\s*(["']?)true\\1\\s*$`);
const INIT_LINE = new RegExp(`${ITEM}initContainers\\s*:\\s*(.*)$`);
const SECRET_REF_LINE = new RegExp(`${ITEM}secretKeyRef\\s*:`);

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
