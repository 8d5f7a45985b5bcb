/**
 * Security rules evaluated on rendered objects ({@link evaluateWorkloadRules}): what a
 * chart really deploys once its templates are rendered, as opposed to the mirror's
 * text heuristics over template sources. The rules are listed in `catalog.ts`
 * (`WORKLOAD_RULES`); pod and RBAC rules live in `pod-rules.ts` and
 * `rbac-rules.ts`; docs/scanning.md has the table and every deviation from Trivy.
 */
import { ChartproofError } from '../errors.js';
import type { Severity } from './severity.js';
import type { ParsedManifest } from '../render/parse.js';
import { RULES, type WorkloadRule, type WorkloadRuleId } from './catalog.js';
import { type Ctx, emit, strings } from './context.js';
import { describe, type WorkloadFinding } from './finding.js';
import { type ContainerImage, listImages } from './images.js';
import { checkPod } from './pod-rules.js';
import { get, isMap, objectsOf, podSpecsOf, type WorkloadObject } from './pods.js';
import { checkBinding, checkRole } from './rbac-rules.js';

/** Options of {@link evaluateWorkloadRules}. @public */
export interface WorkloadRuleOptions {
  /** Chart label for findings (`app-1.0.0`); default ``. */
  chart?: string;
  /**
   * Allowed images, matched against the normalised reference, with the mirror
   * scanner's semantics: an entry with `*`/`?` is a glob over the whole reference (`*`
   * matches `/` too); any other entry is a prefix ending at a path, tag or digest
   * boundary (`docker.io/bitnami`, `registry.internal.example/`). Unset: the rule is off;
   * `[]` allows nothing.
   */
  allowedImages?: readonly string[];
  /** Per-rule severity overrides (an override replaces every severity of the rule). */
  severities?: Partial<Record<WorkloadRuleId, Severity>>;
  signal?: AbortSignal;
}

const SEVERITY_NAMES = ['info', 'low', 'medium', 'high', 'critical'];

// ---- kinds, hooks, services, images ----

function checkObject(ctx: Ctx, o: WorkloadObject): void {
  const what = describe(o);
  const rbac = o.apiVersion?.startsWith('rbac.authorization.k8s.io/') ?? false;
  if (rbac && (o.kind === 'Role' || o.kind === 'ClusterRole')) checkRole(ctx, o);
  let admin = false;
  if (rbac && (o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding')) admin = checkBinding(ctx, o);
  if (rbac && (o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding') && !admin) {
    emit(ctx, o, 'cluster-scoped-rbac', `${what} grants cluster-wide permissions`);
  }
  if (o.kind === 'MutatingWebhookConfiguration' || o.kind === 'ValidatingWebhookConfiguration') {
    const hooks = Array.isArray(o.object.webhooks) ? o.object.webhooks.filter(isMap) : [];
    emit(ctx, o, 'admission-webhook', `${what} intercepts API requests cluster-wide`, {
      detail: {
        webhooks: hooks.map((h) => (typeof h.name === 'string' ? h.name : '?')),
        failurePolicy: hooks.map((h) => (typeof h.failurePolicy === 'string' ? h.failurePolicy : null)),
      },
    });
  }
  if (o.kind === 'CustomResourceDefinition') {
    const fromCrds = /(^|\/)crds\//.test(o.manifest.source ?? '');
    emit(
      ctx,
      o,
      fromCrds ? 'crd-directory' : 'crd-in-templates',
      fromCrds
        ? `${what} comes from crds/ (installed as-is, never upgraded by Helm)`
        : `${what} is rendered from templates (cluster-scoped, removed on uninstall)`,
      { detail: { group: get(o.object, 'spec', 'group') ?? null } },
    );
  }
  const hook = get(o.object, 'metadata', 'annotations', 'helm.sh/hook');
  if (typeof hook === 'string') {
    const hooks = hook
      .split(',')
      .map((h) => h.trim())
      .filter((h) => h !== '');
    emit(
      ctx,
      o,
      'helm-hook',
      `${what} is a Helm hook (${hooks.join(', ')}): runs outside the normal install order`,
      {
        field: 'metadata.annotations.helm.sh/hook',
        detail: { hooks },
      },
    );
  }
  if (o.kind === 'Service' && (o.apiVersion === 'v1' || o.apiVersion === undefined)) {
    const type = get(o.object, 'spec', 'type');
    if (type === 'LoadBalancer') {
      emit(ctx, o, 'service-load-balancer', `${what} is exposed through a cloud load balancer`, {
        field: 'spec.type',
      });
    } else if (type === 'NodePort') {
      emit(ctx, o, 'service-node-port', `${what} opens a port on every node`, { field: 'spec.type' });
    }
    const ips = strings(get(o.object, 'spec', 'externalIPs'));
    if (ips.length > 0) {
      emit(ctx, o, 'service-external-ips', `${what} sets externalIPs ${ips.join(', ')}`, {
        field: 'spec.externalIPs',
        detail: { externalIPs: ips },
      });
    }
  }
  for (const pod of podSpecsOf(o)) checkPod(ctx, o, pod);
}

function checkImage(ctx: Ctx, o: WorkloadObject, img: ContainerImage): void {
  const extra: Partial<WorkloadFinding> = {
    containerKind: img.containerKind,
    field: img.field,
    detail: { image: img.image, normalized: img.normalized },
  };
  if (img.container !== undefined) extra.container = img.container;
  // image fields are already prefixed with the List item path
  const at = { ...o, at: '' };
  const label = `${img.containerKind} '${img.container ?? '?'}' of ${describe(o)}`;
  if (ctx.allowed && !ctx.allowed(img.normalized)) {
    emit(
      ctx,
      at,
      'image-not-allowed',
      `${label} uses ${img.image}, which is not in the allowed images`,
      extra,
    );
  }
  if (!img.pinned) {
    emit(
      ctx,
      at,
      'image-not-pinned',
      `${label} uses ${img.image} by tag (no digest); the tag can be moved`,
      extra,
    );
    if (img.tag === 'latest') {
      emit(
        ctx,
        at,
        'image-tag-latest',
        `${label} uses ${img.image}, which resolves to the moving tag latest`,
        extra,
      );
    }
  }
}

/** Matcher of one allowed-images entry (the mirror scanner's semantics). @internal */
export function imageAllowed(entry: string): (ref: string) => boolean {
  if (/[*?]/.test(entry)) {
    const source = [...entry]
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
      .join('');
    const re = new RegExp(`^${source}$`, 's');
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

function compare(a: WorkloadFinding, b: WorkloadFinding): number {
  const t = (x: string | undefined, y: string | undefined) =>
    (x ?? '') < (y ?? '') ? -1 : (x ?? '') > (y ?? '') ? 1 : 0;
  return (
    t(a.file, b.file) ||
    t(a.object?.kind, b.object?.kind) ||
    t(a.object?.name, b.object?.name) ||
    t(a.rule, b.rule) ||
    t(a.field, b.field) ||
    t(a.message, b.message)
  );
}

/**
 * Evaluates the rules ({@link WORKLOAD_RULES}) on rendered manifests and returns the
 * findings, sorted by file, object, rule and field. Image findings (`image-invalid`,
 * `image-not-allowed`, `image-not-pinned`, `image-tag-latest`) come from
 * {@link listImages}. Nothing throws on odd shapes: a field of the wrong type is
 * treated as absent.
 *
 * Errors ({@link ChartproofError}): `INVALID_ARGUMENT` for an unknown rule id or
 * severity in `severities`, or an empty `allowedImages` entry. Aborting `signal`
 * throws its reason.
 * @public
 */
export function evaluateWorkloadRules(
  manifests: readonly ParsedManifest[],
  options: WorkloadRuleOptions = {},
): WorkloadFinding[] {
  const overrides = options.severities ?? {};
  for (const [rule, sev] of Object.entries(overrides)) {
    if (!RULES.has(rule as WorkloadRuleId)) {
      throw new ChartproofError('INVALID_ARGUMENT', `unknown workload rule '${rule}'`);
    }
    if (typeof sev !== 'string' || !SEVERITY_NAMES.includes(sev)) {
      throw new ChartproofError(
        'INVALID_ARGUMENT',
        `severity of rule '${rule}' must be one of ${SEVERITY_NAMES.join(', ')}, got ${JSON.stringify(sev)}`,
      );
    }
  }
  let allowed: ((ref: string) => boolean) | undefined;
  if (options.allowedImages !== undefined) {
    const matchers = options.allowedImages.map((e) => {
      if (typeof e !== 'string' || e.trim() === '') {
        throw new ChartproofError('INVALID_ARGUMENT', 'allowedImages entries must be non-empty strings');
      }
      return imageAllowed(e.trim());
    });
    allowed = (ref) => matchers.some((m) => m(ref));
  }
  const chart = options.chart ?? '';
  const objects = objectsOf(manifests);
  const serviceAccounts = new Map<string, unknown>();
  for (const o of objects) {
    if (o.kind !== 'ServiceAccount' || o.apiVersion !== 'v1' || o.name === undefined) continue;
    const v = o.object.automountServiceAccountToken;
    if (o.namespace !== undefined) serviceAccounts.set(`${o.namespace}/${o.name}`, v);
    serviceAccounts.set(o.name, v);
  }
  const ctx: Ctx = {
    chart,
    severity: (rule, fallback) => overrides[rule] ?? fallback ?? (RULES.get(rule) as WorkloadRule).severity,
    out: [],
    serviceAccounts,
  };
  if (allowed) ctx.allowed = allowed;
  for (const o of objects) {
    options.signal?.throwIfAborted();
    checkObject(ctx, o);
  }
  const inventory = listImages(manifests, { chart });
  for (const f of inventory.findings) {
    f.severity = ctx.severity('image-invalid', f.severity);
    ctx.out.push(f);
  }
  const byIndex = new Map<number, WorkloadObject[]>();
  for (const o of objects) byIndex.set(o.manifest.index, [...(byIndex.get(o.manifest.index) ?? []), o]);
  for (const img of inventory.images) {
    const candidates = byIndex.get(img.index) ?? [];
    const o =
      candidates.find(
        (c) =>
          c.kind === img.kind && c.name === img.name && (c.at === '' || img.field.startsWith(`${c.at}.`)),
      ) ?? candidates[0];
    if (o) checkImage(ctx, o, img);
  }
  return ctx.out.sort(compare);
}
