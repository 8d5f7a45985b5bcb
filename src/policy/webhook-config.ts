/**
 * The `admissionregistration.k8s.io/v1` ValidatingWebhookConfiguration that sends Helm
 * release Secrets and Pods to the chartproof webhook ({@link createAdmissionServer}).
 *
 * Two webhooks, because a webhook rule cannot select Secrets by `type`:
 * - `releases.chartproof.dev`: CREATE/UPDATE of `secrets`, narrowed by the
 *   `objectSelector` `owner=helm` (the label Helm puts on every release Secret and
 *   lists them by) and a `matchConditions` CEL test of `object.type` or that label
 *   (Helm does not check the type: an `owner=helm` Secret of another type is denied);
 * - `pods.chartproof.dev`: CREATE/UPDATE of `pods` and `pods/ephemeralcontainers`.
 *
 * Excluded namespaces of the trust config become a `namespaceSelector` on
 * `kubernetes.io/metadata.name` (exact names) and a `matchConditions` expression
 * (patterns with `*`/`?`, which label selectors cannot express); the webhook's own
 * namespace is excluded too, so that its Pods can start while it is down.
 *
 * Field rules follow the apiserver's validation
 * (kubernetes `pkg/apis/admissionregistration/validation`): timeoutSeconds 1–30,
 * sideEffects `None`, admissionReviewVersions `[v1]`, exactly one of url/service,
 * https URLs without user info, query or fragment, service paths of DNS-1123 segments.
 */
import { stringify } from 'yaml';
import { ChartproofError } from '../errors.js';
import type { AdmissionFailurePolicy } from './admission.js';
import { HELM_RELEASE_SECRET_TYPE } from './release.js';
import type { TrustConfig } from './trust.js';

/** Default `timeoutSeconds` (the apiserver's default, and the webhook's review deadline). @public */
export const DEFAULT_WEBHOOK_TIMEOUT_SECONDS = 10;
/** Default path of the validating endpoint (see {@link createAdmissionServer}). @public */
export const DEFAULT_WEBHOOK_PATH = '/validate';

/** A Kubernetes label selector. @public */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: {
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    values?: string[];
  }[];
}

/** One `webhooks[]` entry of a ValidatingWebhookConfiguration. @public */
export interface ValidatingWebhook {
  name: string;
  admissionReviewVersions: string[];
  sideEffects: 'None' | 'NoneOnDryRun';
  failurePolicy: AdmissionFailurePolicy;
  matchPolicy: 'Exact' | 'Equivalent';
  timeoutSeconds: number;
  clientConfig: {
    url?: string;
    service?: { namespace: string; name: string; path?: string; port?: number };
    caBundle?: string;
  };
  rules: {
    operations: string[];
    apiGroups: string[];
    apiVersions: string[];
    resources: string[];
    scope?: 'Cluster' | 'Namespaced' | '*';
  }[];
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  matchConditions?: { name: string; expression: string }[];
}

/** An `admissionregistration.k8s.io/v1` ValidatingWebhookConfiguration. @public */
export interface ValidatingWebhookConfiguration {
  apiVersion: 'admissionregistration.k8s.io/v1';
  kind: 'ValidatingWebhookConfiguration';
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  webhooks: ValidatingWebhook[];
}

/** Options of {@link generateWebhookConfiguration}. @public */
export interface WebhookConfigOptions {
  /** The Service in front of the webhook (in-cluster). Exactly one of `service` and `url`. */
  service?: { namespace: string; name: string; port?: number; path?: string };
  /** An `https://` URL (a webhook outside the cluster); no user info, query or fragment. */
  url?: string;
  /** PEM of the CA that signed the serving certificate (becomes `caBundle`, base64). */
  caBundle?: string | Uint8Array;
  /** Default `Fail`; match the webhook's own failure policy. */
  failurePolicy?: AdmissionFailurePolicy;
  /** 1–30. Default {@link DEFAULT_WEBHOOK_TIMEOUT_SECONDS}. */
  timeoutSeconds?: number;
  /** `metadata.name`. Default the trust config's `name`. */
  name?: string;
  /** Which webhooks to include. Default both. */
  releases?: boolean;
  pods?: boolean;
}

/** What {@link generateWebhookConfiguration} returns. @public */
export interface WebhookConfigResult {
  document: ValidatingWebhookConfiguration;
  /** The document as YAML. */
  yaml: string;
  /** Deployment notes the options call for (no CA bundle, …). */
  warnings: string[];
}

// DNS-1123 label (namespaces, path segments are subdomains) and subdomain (names).
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const invalid = (message: string): never => {
  throw new ChartproofError('INVALID_ARGUMENT', message, { source: 'local' });
};

function celString(s: string): string {
  return `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** A namespace wildcard (`*`, `?`) as an anchored RE2 pattern. */
function wildcardRegExp(pattern: string): string {
  return `^${pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.')}$`;
}

function checkService(s: NonNullable<WebhookConfigOptions['service']>): void {
  if (!DNS_LABEL.test(s.namespace) || s.namespace.length > 63)
    invalid(`service namespace ${JSON.stringify(s.namespace)} is not a DNS-1123 label`);
  if (!DNS_LABEL.test(s.name) || s.name.length > 63)
    invalid(`service name ${JSON.stringify(s.name)} is not a DNS-1123 label`);
  if (s.port !== undefined && !(Number.isInteger(s.port) && s.port >= 1 && s.port <= 65535))
    invalid(`service port ${s.port} is not between 1 and 65535`);
  const path = s.path ?? DEFAULT_WEBHOOK_PATH;
  if (!path.startsWith('/')) invalid(`service path ${JSON.stringify(path)} must start with '/'`);
  const segments = path.slice(1).replace(/\/$/, '');
  if (segments !== '')
    for (const seg of segments.split('/'))
      if (!DNS_SUBDOMAIN.test(seg) || seg.length > 253)
        invalid(
          `service path ${JSON.stringify(path)}: segment ${JSON.stringify(seg)} is not a DNS-1123 subdomain`,
        );
}

function checkUrl(text: string): void {
  const u = URL.canParse(text)
    ? new URL(text)
    : invalid(`webhook URL ${JSON.stringify(text)} is not a valid URL`);
  if (u.protocol !== 'https:')
    invalid(`webhook URL ${JSON.stringify(text)}: https is the only allowed scheme`);
  if (u.username !== '' || u.password !== '') invalid('webhook URL: user information is not permitted');
  if (u.search !== '' || text.includes('?')) invalid('webhook URL: query parameters are not permitted');
  if (u.hash !== '' || text.includes('#')) invalid('webhook URL: fragments are not permitted');
}

function pemToBundle(ca: string | Uint8Array): string {
  const text = typeof ca === 'string' ? ca : Buffer.from(ca).toString('utf8');
  if (!text.includes('-----BEGIN CERTIFICATE-----'))
    invalid('the CA bundle is not a PEM certificate (-----BEGIN CERTIFICATE-----)');
  if (Buffer.byteLength(text) > 1024 * 1024) invalid('the CA bundle is larger than 1 MiB');
  return Buffer.from(text).toString('base64');
}

/**
 * Generates the ValidatingWebhookConfiguration for the chartproof admission webhook
 * from a trust config: the release-Secret and Pod webhooks, `sideEffects: None`,
 * `admissionReviewVersions: [v1]`, the failure policy and timeout, the excluded
 * namespaces, and the CA bundle.
 * @throws ChartproofError `INVALID_ARGUMENT` for options the apiserver would refuse
 *   (timeout outside 1–30, both or neither of url/service, a non-https URL, …)
 * @public
 */
export function generateWebhookConfiguration(
  trust: TrustConfig,
  options: WebhookConfigOptions,
): WebhookConfigResult {
  const warnings: string[] = [];
  if ((options.url === undefined) === (options.service === undefined))
    invalid('give exactly one of a service (namespace/name) or an https URL');
  if (options.service) checkService(options.service);
  if (options.url !== undefined) checkUrl(options.url);
  const timeoutSeconds = options.timeoutSeconds ?? DEFAULT_WEBHOOK_TIMEOUT_SECONDS;
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 30)
    invalid(`timeoutSeconds must be an integer from 1 to 30, got ${timeoutSeconds}`);
  const failurePolicy = options.failurePolicy ?? 'Fail';
  if (failurePolicy !== 'Fail' && failurePolicy !== 'Ignore')
    invalid(`failurePolicy must be Fail or Ignore, got ${JSON.stringify(failurePolicy)}`);
  const name = options.name ?? trust.name;
  if (!DNS_SUBDOMAIN.test(name) || name.length > 253)
    invalid(`configuration name ${JSON.stringify(name)} is not a DNS-1123 subdomain`);
  const releases = options.releases ?? true;
  const pods = options.pods ?? true;
  if (!releases && !pods) invalid('at least one of the release and Pod webhooks is needed');

  const clientConfig: ValidatingWebhook['clientConfig'] = {};
  if (options.service) {
    const { namespace, name: svc, port, path } = options.service;
    clientConfig.service = { namespace, name: svc, path: path ?? DEFAULT_WEBHOOK_PATH };
    if (port !== undefined) clientConfig.service.port = port;
  } else clientConfig.url = options.url!;
  if (options.caBundle !== undefined) clientConfig.caBundle = pemToBundle(options.caBundle);
  else
    warnings.push(
      options.service
        ? 'no CA bundle: the apiserver cannot verify the webhook certificate; pass the CA that signed it ' +
            "(--ca-file) or let cert-manager's CA injector fill caBundle"
        : 'no CA bundle: the apiserver verifies the webhook URL against its system trust roots',
    );

  // Exact names go to the namespace selector; wildcard patterns need CEL.
  const exact = new Set<string>();
  const patterns: string[] = [];
  for (const ns of trust.excludeNamespaces) {
    if (/[*?]/.test(ns)) patterns.push(ns);
    else exact.add(ns);
  }
  // The webhook's own namespace: with failurePolicy Fail its Pods could never start again.
  if (options.service) exact.add(options.service.namespace);
  const namespaceSelector: LabelSelector | undefined =
    exact.size > 0
      ? { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...exact] }] }
      : undefined;
  const excludeCondition =
    patterns.length > 0
      ? {
          name: 'exclude-namespaces',
          expression: `![${patterns.map((p) => celString(wildcardRegExp(p))).join(', ')}].exists(p, request.namespace.matches(p))`,
        }
      : undefined;

  const base = (hookName: string): ValidatingWebhook => ({
    name: hookName,
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    failurePolicy,
    matchPolicy: 'Equivalent',
    timeoutSeconds,
    clientConfig: structuredClone(clientConfig),
    rules: [],
  });
  const webhooks: ValidatingWebhook[] = [];
  if (releases) {
    const hook = base('releases.chartproof.dev');
    hook.rules = [
      {
        operations: ['CREATE', 'UPDATE'],
        apiGroups: [''],
        apiVersions: ['v1'],
        resources: ['secrets'],
        scope: 'Namespaced',
      },
    ];
    if (namespaceSelector) hook.namespaceSelector = structuredClone(namespaceSelector);
    hook.objectSelector = { matchLabels: { owner: 'helm' } };
    hook.matchConditions = [
      {
        name: 'helm-release-secrets',
        // Helm reads any Secret labelled owner=helm, whatever its type: those are sent too
        // (and denied); the type test keeps an UPDATE that drops the label in view.
        expression: `(has(object.type) && object.type == ${celString(HELM_RELEASE_SECRET_TYPE)}) || (has(object.metadata.labels) && 'owner' in object.metadata.labels && object.metadata.labels['owner'] == 'helm')`,
      },
    ];
    if (excludeCondition) hook.matchConditions.push({ ...excludeCondition });
    webhooks.push(hook);
  }
  if (pods) {
    const hook = base('pods.chartproof.dev');
    hook.rules = [
      {
        operations: ['CREATE', 'UPDATE'],
        apiGroups: [''],
        apiVersions: ['v1'],
        resources: ['pods', 'pods/ephemeralcontainers'],
        scope: 'Namespaced',
      },
    ];
    if (namespaceSelector) hook.namespaceSelector = structuredClone(namespaceSelector);
    if (excludeCondition) hook.matchConditions = [{ ...excludeCondition }];
    webhooks.push(hook);
  }
  const document: ValidatingWebhookConfiguration = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name, labels: { 'app.kubernetes.io/managed-by': 'chartproof' } },
    webhooks,
  };
  return { document, yaml: stringify(document, { lineWidth: 0 }), warnings };
}
