import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseTrustConfig, type TrustConfig } from '../../src/policy/trust.js';
import { generateWebhookConfiguration } from '../../src/policy/webhook-config.js';

// biome-ignore lint/suspicious/noExplicitAny: documents checked field by field
type Json = Record<string, any>;

const SHARED = join(process.cwd(), '..', 'shared', 'vectors', 'admission');
const VWC_FIXTURE = 'k8s-api-testdata_admissionregistration.k8s.io.v1.ValidatingWebhookConfiguration.json';
const haveVectors = existsSync(join(SHARED, VWC_FIXTURE));
if (!haveVectors)
  console.warn(`webhook config vector comparison skipped: ${SHARED}/${VWC_FIXTURE} not found`);

const PEM_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
  type: 'spki',
  format: 'pem',
}) as string;

const CA = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';

function trust(extra: Json = {}): TrustConfig {
  return parseTrustConfig({ registries: ['registry.test'], verify: { keys: [PEM_KEY] }, ...extra });
}

// ---------------------------------------------------------------------------------------------
// The apiserver's rules for a ValidatingWebhookConfiguration on CREATE, written out by hand
// from kubernetes pkg/apis/admissionregistration/validation/validation.go
// (validateValidatingWebhookConfiguration, validateValidatingWebhook, validateRuleWithOperations,
// validateResources) and apiserver pkg/util/webhook/validation.go (ValidateWebhookURL,
// ValidateWebhookService), plus the v1 OpenAPI required fields (name, clientConfig,
// sideEffects, admissionReviewVersions).

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const TOP_FIELDS = new Set(['apiVersion', 'kind', 'metadata', 'webhooks']);
const WEBHOOK_FIELDS = new Set([
  'name',
  'clientConfig',
  'rules',
  'failurePolicy',
  'matchPolicy',
  'namespaceSelector',
  'objectSelector',
  'sideEffects',
  'timeoutSeconds',
  'admissionReviewVersions',
  'matchConditions',
]);

function labelKeyOk(key: string): boolean {
  const [prefix, name] = key.includes('/') ? key.split('/', 2) : [undefined, key];
  if (prefix !== undefined && (!DNS_SUBDOMAIN.test(prefix) || prefix.length > 253)) return false;
  return name !== undefined && name.length <= 63 && QUALIFIED_NAME.test(name);
}

function checkSelector(sel: Json, path: string, errors: string[]): void {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) {
    if (!labelKeyOk(k)) errors.push(`${path}.matchLabels: invalid key ${k}`);
    if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v))
      errors.push(`${path}.matchLabels.${k}: invalid value`);
  }
  for (const [i, e] of (sel.matchExpressions ?? []).entries()) {
    const p = `${path}.matchExpressions[${i}]`;
    if (!labelKeyOk(e.key)) errors.push(`${p}.key: invalid`);
    if (['In', 'NotIn'].includes(e.operator)) {
      if (!Array.isArray(e.values) || e.values.length === 0)
        errors.push(`${p}.values: must be specified when operator is In or NotIn`);
      for (const v of e.values ?? [])
        if (v.length > 63 || !LABEL_VALUE.test(v)) errors.push(`${p}.values: ${v}`);
    } else if (['Exists', 'DoesNotExist'].includes(e.operator)) {
      if (e.values?.length) errors.push(`${p}.values: may not be specified when operator is Exists`);
    } else errors.push(`${p}.operator: not a valid selector operator ${e.operator}`);
  }
}

function checkResources(resources: string[], path: string, errors: string[]): void {
  if (!resources?.length) errors.push(`${path}: Required`);
  const hasStar = resources.includes('*');
  if (resources.includes('*/*') && resources.length > 1) errors.push(`${path}: '*/*' with other resources`);
  if (hasStar && resources.some((r) => r !== '*' && !r.includes('/')))
    errors.push(`${path}: '*' with other resources without subresources`);
  for (const r of resources) if (r === '') errors.push(`${path}: empty resource`);
}

/** The apiserver's CREATE validation of a ValidatingWebhookConfiguration; returns the errors. */
function apiserverErrors(doc: Json): string[] {
  const errors: string[] = [];
  for (const k of Object.keys(doc)) if (!TOP_FIELDS.has(k)) errors.push(`unknown field ${k}`);
  if (doc.apiVersion !== 'admissionregistration.k8s.io/v1') errors.push('apiVersion');
  if (doc.kind !== 'ValidatingWebhookConfiguration') errors.push('kind');
  const name = doc.metadata?.name;
  if (typeof name !== 'string' || !DNS_SUBDOMAIN.test(name) || name.length > 253)
    errors.push('metadata.name: a DNS-1123 subdomain');
  for (const [k, v] of Object.entries(doc.metadata?.labels ?? {}))
    if (!labelKeyOk(k) || !LABEL_VALUE.test(String(v))) errors.push(`metadata.labels.${k}`);
  const names = new Set<string>();
  for (const [i, hook] of (doc.webhooks ?? []).entries()) {
    const p = `webhooks[${i}]`;
    for (const k of Object.keys(hook)) if (!WEBHOOK_FIELDS.has(k)) errors.push(`${p}: unknown field ${k}`);
    // IsFullyQualifiedName: a DNS-1123 subdomain with at least three segments.
    if (typeof hook.name !== 'string' || !DNS_SUBDOMAIN.test(hook.name) || hook.name.split('.').length < 3)
      errors.push(`${p}.name: should be a domain with at least three segments separated by dots`);
    if (names.has(hook.name)) errors.push(`${p}.name: Duplicate value`);
    names.add(hook.name);
    for (const [j, rule] of (hook.rules ?? []).entries()) {
      const r = `${p}.rules[${j}]`;
      if (!rule.operations?.length) errors.push(`${r}.operations: Required`);
      if (rule.operations?.length > 1 && rule.operations.includes('*')) errors.push(`${r}.operations: '*'`);
      for (const op of rule.operations ?? [])
        if (!['*', 'CREATE', 'UPDATE', 'DELETE', 'CONNECT'].includes(op))
          errors.push(`${r}.operations: ${op}`);
      if (!rule.apiGroups?.length) errors.push(`${r}.apiGroups: Required`);
      if (!rule.apiVersions?.length) errors.push(`${r}.apiVersions: Required`);
      for (const v of rule.apiVersions ?? []) if (v === '') errors.push(`${r}.apiVersions: empty`);
      checkResources(rule.resources, `${r}.resources`, errors);
      if (rule.scope !== undefined && !['Cluster', 'Namespaced', '*'].includes(rule.scope))
        errors.push(`${r}.scope`);
    }
    if (hook.failurePolicy !== undefined && !['Ignore', 'Fail'].includes(hook.failurePolicy))
      errors.push(`${p}.failurePolicy`);
    if (hook.matchPolicy !== undefined && !['Exact', 'Equivalent'].includes(hook.matchPolicy))
      errors.push(`${p}.matchPolicy`);
    // requireNoSideEffects on create: None or NoneOnDryRun, and required.
    if (!['None', 'NoneOnDryRun'].includes(hook.sideEffects)) errors.push(`${p}.sideEffects`);
    if (
      hook.timeoutSeconds !== undefined &&
      !(Number.isInteger(hook.timeoutSeconds) && hook.timeoutSeconds >= 1 && hook.timeoutSeconds <= 30)
    )
      errors.push(`${p}.timeoutSeconds: the timeout value must be between 1 and 30 seconds`);
    if (hook.namespaceSelector) checkSelector(hook.namespaceSelector, `${p}.namespaceSelector`, errors);
    if (hook.objectSelector) checkSelector(hook.objectSelector, `${p}.objectSelector`, errors);
    const cc = hook.clientConfig ?? {};
    if ((cc.url === undefined) === (cc.service === undefined))
      errors.push(`${p}.clientConfig: exactly one of url or service is required`);
    if (cc.url !== undefined) {
      const u = new URL(cc.url);
      if (u.protocol !== 'https:')
        errors.push(`${p}.clientConfig.url: 'https' is the only allowed URL scheme`);
      if (u.username || u.password || u.search || u.hash)
        errors.push(`${p}.clientConfig.url: user/query/fragment`);
    }
    if (cc.service !== undefined) {
      const s = cc.service;
      if (!s.name) errors.push(`${p}.clientConfig.service.name: Required`);
      if (!s.namespace) errors.push(`${p}.clientConfig.service.namespace: Required`);
      const port = s.port ?? 443;
      if (!(port >= 1 && port <= 65535)) errors.push(`${p}.clientConfig.service.port`);
      if (s.path !== undefined && s.path !== '' && s.path !== '/') {
        if (!s.path.startsWith('/')) errors.push(`${p}.clientConfig.service.path: must start with a '/'`);
        for (const seg of s.path.slice(1).replace(/\/$/, '').split('/'))
          if (!DNS_SUBDOMAIN.test(seg)) errors.push(`${p}.clientConfig.service.path: segment ${seg}`);
      }
    }
    if (cc.caBundle !== undefined && !/^[A-Za-z0-9+/]*={0,2}$/.test(cc.caBundle))
      errors.push(`${p}.clientConfig.caBundle: not base64`);
    // admissionReviewVersions: required, no duplicates, DNS-1035 labels, one of v1/v1beta1.
    const versions: string[] = hook.admissionReviewVersions ?? [];
    if (versions.length === 0) errors.push(`${p}.admissionReviewVersions: Required`);
    if (new Set(versions).size !== versions.length) errors.push(`${p}.admissionReviewVersions: duplicate`);
    if (versions.length > 0 && !versions.some((v) => v === 'v1' || v === 'v1beta1'))
      errors.push(`${p}.admissionReviewVersions: must include at least one of v1, v1beta1`);
    const conditions: Json[] = hook.matchConditions ?? [];
    if (conditions.length > 64) errors.push(`${p}.matchConditions: at most 64`);
    const condNames = new Set<string>();
    for (const c of conditions) {
      if (!labelKeyOk(c.name)) errors.push(`${p}.matchConditions.name: ${c.name}`);
      if (condNames.has(c.name)) errors.push(`${p}.matchConditions.name: duplicate ${c.name}`);
      condNames.add(c.name);
      if (typeof c.expression !== 'string' || c.expression === '')
        errors.push(`${p}.matchConditions.expression`);
    }
  }
  return errors;
}

describe('apiserverErrors (the hand-written rules) catches what the apiserver refuses', () => {
  it('flags broken documents', () => {
    const good = generateWebhookConfiguration(trust(), {
      service: { namespace: 'cp', name: 'hook' },
    }).document;
    expect(apiserverErrors(good)).toEqual([]);
    const broken: Json = structuredClone(good);
    broken.webhooks[0].timeoutSeconds = 31;
    broken.webhooks[0].sideEffects = 'Unknown';
    broken.webhooks[0].name = 'releases.chartproof';
    broken.webhooks[0].admissionReviewVersions = ['v2'];
    broken.webhooks[1].clientConfig.url = 'http://x.example/validate';
    broken.webhooks[1].namespaceSelector.matchExpressions[0].values = [];
    broken.webhooks[1].name = broken.webhooks[0].name;
    expect(apiserverErrors(broken)).toEqual([
      'webhooks[0].name: should be a domain with at least three segments separated by dots',
      'webhooks[0].sideEffects',
      'webhooks[0].timeoutSeconds: the timeout value must be between 1 and 30 seconds',
      'webhooks[0].admissionReviewVersions: must include at least one of v1, v1beta1',
      'webhooks[1].name: should be a domain with at least three segments separated by dots',
      'webhooks[1].name: Duplicate value',
      'webhooks[1].namespaceSelector.matchExpressions[0].values: must be specified when operator is In or NotIn',
      'webhooks[1].clientConfig: exactly one of url or service is required',
      "webhooks[1].clientConfig.url: 'https' is the only allowed URL scheme",
    ]);
  });
});

describe('generateWebhookConfiguration', () => {
  it('a service-backed configuration: release Secrets by owner=helm and type, Pods, caBundle, exclusions', () => {
    const t = trust({ excludeNamespaces: ['kube-system', 'kube-*', 'flux-system'] });
    const out = generateWebhookConfiguration(t, {
      service: { namespace: 'chartproof', name: 'chartproof-webhook' },
      caBundle: CA,
      failurePolicy: 'Ignore',
      timeoutSeconds: 15,
    });
    expect(out.warnings).toEqual([]);
    const doc = out.document as unknown as Json;
    expect(apiserverErrors(doc)).toEqual([]);
    expect(parse(out.yaml)).toEqual(doc);
    expect(doc.metadata.name).toBe('chartproof');
    expect(doc.webhooks.map((w: Json) => w.name)).toEqual(['releases.chartproof.dev', 'pods.chartproof.dev']);
    const [releases, pods] = doc.webhooks;
    for (const w of doc.webhooks) {
      expect(w).toMatchObject({
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        failurePolicy: 'Ignore',
        timeoutSeconds: 15,
        clientConfig: {
          service: { namespace: 'chartproof', name: 'chartproof-webhook', path: '/validate' },
          caBundle: Buffer.from(CA).toString('base64'),
        },
      });
      // exact names (and the webhook's own namespace) by label, patterns by CEL
      expect(w.namespaceSelector).toEqual({
        matchExpressions: [
          {
            key: 'kubernetes.io/metadata.name',
            operator: 'NotIn',
            values: ['kube-system', 'flux-system', 'chartproof'],
          },
        ],
      });
      expect(w.matchConditions).toContainEqual({
        name: 'exclude-namespaces',
        expression: "!['^kube-.*$'].exists(p, request.namespace.matches(p))",
      });
    }
    expect(releases.rules).toEqual([
      {
        operations: ['CREATE', 'UPDATE'],
        apiGroups: [''],
        apiVersions: ['v1'],
        resources: ['secrets'],
        scope: 'Namespaced',
      },
    ]);
    expect(releases.objectSelector).toEqual({ matchLabels: { owner: 'helm' } });
    expect(releases.matchConditions[0]).toEqual({
      name: 'helm-release-secrets',
      expression:
        "(has(object.type) && object.type == 'helm.sh/release.v1') || (has(object.metadata.labels) && 'owner' in object.metadata.labels && object.metadata.labels['owner'] == 'helm')",
    });
    expect(pods.rules[0].resources).toEqual(['pods', 'pods/ephemeralcontainers']);
    expect(pods.objectSelector).toBeUndefined();
  });

  it('a URL-backed configuration with defaults; warns without a CA bundle', () => {
    const out = generateWebhookConfiguration(trust({ name: 'prod' }), {
      url: 'https://webhook.example:8443/validate',
    });
    const doc = out.document as unknown as Json;
    expect(apiserverErrors(doc)).toEqual([]);
    expect(doc.metadata.name).toBe('prod');
    for (const w of doc.webhooks) {
      expect(w.failurePolicy).toBe('Fail');
      expect(w.timeoutSeconds).toBe(10);
      expect(w.clientConfig).toEqual({ url: 'https://webhook.example:8443/validate' });
      expect(w.namespaceSelector).toBeUndefined();
    }
    expect(doc.webhooks[1].matchConditions).toBeUndefined();
    expect(out.warnings).toEqual([expect.stringMatching(/^no CA bundle: .*system trust roots/)]);
    const svc = generateWebhookConfiguration(trust(), { service: { namespace: 'a', name: 'b' } });
    expect(svc.warnings).toEqual([expect.stringMatching(/^no CA bundle: .*--ca-file/)]);
  });

  it('refuses options the apiserver would refuse', () => {
    const t = trust();
    const svc = { namespace: 'cp', name: 'hook' };
    const bad: [Json, RegExp][] = [
      [{ service: svc, timeoutSeconds: 0 }, /timeoutSeconds must be an integer from 1 to 30/],
      [{ service: svc, timeoutSeconds: 31 }, /from 1 to 30, got 31/],
      [{ service: svc, timeoutSeconds: 2.5 }, /from 1 to 30/],
      [{}, /exactly one of a service/],
      [{ service: svc, url: 'https://x.example' }, /exactly one of a service/],
      [{ url: 'http://x.example/validate' }, /https is the only allowed scheme/],
      [{ url: 'https://u:p@x.example/' }, /user information/],
      [{ url: 'https://x.example/?a=1' }, /query parameters/],
      [{ url: 'https://x.example/#f' }, /fragments/],
      [{ service: { namespace: 'Bad_NS', name: 'hook' } }, /not a DNS-1123 label/],
      [{ service: { ...svc, path: 'validate' } }, /must start with '\/'/],
      [{ service: { ...svc, path: '/Validate' } }, /not a DNS-1123 subdomain/],
      [{ service: { ...svc, port: 70000 } }, /port 70000/],
      [{ service: svc, caBundle: 'not pem' }, /not a PEM certificate/],
      [{ service: svc, failurePolicy: 'Never' }, /Fail or Ignore/],
      [{ service: svc, releases: false, pods: false }, /at least one/],
    ];
    for (const [options, message] of bad)
      expect(() => generateWebhookConfiguration(t, options), JSON.stringify(options)).toThrow(message);
  });
});

describe.skipIf(!haveVectors)('generateWebhookConfiguration against the kubernetes/api fixture', () => {
  it('uses only fields the upstream all-fields fixture has, with the same shapes', () => {
    const fixture = JSON.parse(readFileSync(join(SHARED, VWC_FIXTURE), 'utf8'));
    const upstream = fixture.webhooks[0] as Json;
    const ours = generateWebhookConfiguration(trust({ excludeNamespaces: ['kube-*', 'x'] }), {
      service: { namespace: 'cp', name: 'hook', port: 8443 },
      caBundle: CA,
    }).document as unknown as Json;
    expect(ours.apiVersion).toBe(fixture.apiVersion);
    expect(ours.kind).toBe(fixture.kind);
    const shape = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.length > 0
          ? [shape(v[0])]
          : []
        : v !== null && typeof v === 'object'
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]))
          : typeof v;
    const upstreamShape = shape(upstream) as Json;
    for (const hook of ours.webhooks) {
      // every field we set exists upstream with the same JSON type (recursively)
      const check = (mine: unknown, theirs: unknown, path: string) => {
        if (mine !== null && typeof mine === 'object' && !Array.isArray(mine)) {
          expect(theirs, path).toBeTypeOf('object');
          // maps (matchLabels) have free keys: compare their values' type only
          const map = path.endsWith('.matchLabels');
          for (const [k, v] of Object.entries(mine)) {
            if (!map) expect(Object.keys(theirs as Json), `${path}.${k}`).toContain(k);
            check(v, map ? Object.values(theirs as Json)[0] : (theirs as Json)[k], `${path}.${k}`);
          }
        } else if (Array.isArray(mine)) {
          expect(Array.isArray(theirs), path).toBe(true);
          if (mine.length > 0) check(mine[0], (theirs as unknown[])[0], `${path}[0]`);
        } else expect(mine, path).toBe(theirs);
      };
      check(shape(hook), upstreamShape, hook.name);
    }
    // and the fixture itself is what the hand-written rules read (its values are placeholders)
    expect(Object.keys(upstream).sort()).toEqual([...WEBHOOK_FIELDS].sort());
  });
});
