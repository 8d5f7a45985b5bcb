/**
 * Kyverno policies from a trust config: `policies.kyverno.io/v1` ImageValidatingPolicy
 * (signatures) plus a ValidatingPolicy (CEL, registry restriction) for Kyverno ≥ 1.17,
 * or one legacy `kyverno.io/v1` ClusterPolicy for older clusters.
 *
 * Kyverno verifies container images, not Helm charts: a Helm release Secret stores no
 * chart reference or digest (only name, version and content, gzipped and
 * base64-encoded twice), so no Kyverno rule can check the chart's signature. The
 * chartproof admission webhook does that (docs/admission.md); these policies cover the
 * images the chart deploys.
 */
import { stringify } from 'yaml';
import { ChartproofError } from '../errors.js';
import type { TrustConfig, TrustIdentity } from './trust.js';

/** Which Kyverno policy type to generate. @public */
export type KyvernoPolicyKind = 'ImageValidatingPolicy' | 'ClusterPolicy';

/** Options of {@link generateKyvernoPolicies}. @public */
export interface GenerateKyvernoOptions {
  /** Default `ImageValidatingPolicy` (with a ValidatingPolicy), Kyverno ≥ 1.17's stable types. */
  kind?: KyvernoPolicyKind;
}

/** A known Kyverno bug that the configuration runs into. @public */
export interface KyvernoWarning {
  /** The Kyverno issue, e.g. `kyverno#16664`. */
  issue: string;
  message: string;
}

/** Generated policies. @public */
export interface KyvernoPolicies {
  /** The Kubernetes objects, in apply order. */
  documents: Record<string, unknown>[];
  /** The documents as one multi-document YAML stream. */
  yaml: string;
  /** Known Kyverno bugs the chosen signature format and policy type hit. */
  warnings: KyvernoWarning[];
}

const POD_RULE = {
  apiGroups: [''],
  apiVersions: ['v1'],
  operations: ['CREATE', 'UPDATE'],
  resources: ['pods', 'pods/ephemeralcontainers'],
};

const ALL_CONTAINERS =
  'object.spec.containers + object.spec.?initContainers.orValue([]) + object.spec.?ephemeralContainers.orValue([])';

/** A CEL string literal (single quotes; backslashes and quotes escaped). */
function celString(s: string): string {
  return `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** A Kyverno wildcard (`*`, `?`) as an anchored RE2 pattern. */
function wildcardRegExp(pattern: string): string {
  return `^${pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.')}$`;
}

/** Image-reference globs covering everything under the allowed registries. */
function imageGlobs(trust: TrustConfig): string[] {
  return trust.registries.map((r) => `${r}/*`);
}

function annotations(title: string, description: string): Record<string, string> {
  return {
    'policies.kyverno.io/title': title,
    'policies.kyverno.io/category': 'Software Supply Chain Security',
    'policies.kyverno.io/subject': 'Pod',
    'policies.kyverno.io/description': description,
    'app.kubernetes.io/managed-by': 'chartproof',
  };
}

/** Known Kyverno bugs for the chosen format and kind (docs/admission.md lists them). */
export function kyvernoWarnings(trust: TrustConfig, kind: KyvernoPolicyKind): KyvernoWarning[] {
  const out: KyvernoWarning[] = [];
  if (trust.verify.signatureFormat !== 'bundle') return out;
  if (kind === 'ClusterPolicy') {
    out.push({
      issue: 'kyverno#16664',
      message:
        'ClusterPolicy verifyImages does not find cosign v3 bundle signatures on registries without the OCI referrers API ' +
        '(the fallback-tag index entries are typed application/vnd.oci.empty.v1+json and filtered out): "no signatures found". ' +
        'Sign with legacy signatures too (signatureFormat: both).',
    });
    out.push({
      issue: 'kyverno#16854',
      message:
        'ClusterPolicy verifyImages with cosignOCI11: true still reports "no signatures found" for images signed only with ' +
        'OCI 1.1 referrers (open on Kyverno 1.18.2). Sign with legacy signatures too (signatureFormat: both).',
    });
  } else if (trust.verify.keys.length > 0) {
    out.push({
      issue: 'kyverno#17363',
      message:
        'ImageValidatingPolicy with a cosign key attestor fails on Kyverno 1.19.0 for signatures stored only as ' +
        'Sigstore v0.3 bundle referrers ("accepted signatures do not match threshold, Found: 0, Expected 1"; worked on 1.18.1). ' +
        'Sign with legacy signatures too (signatureFormat: both) or run a Kyverno release with the fix.',
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------
// policies.kyverno.io/v1

function excludeConditions(trust: TrustConfig): Record<string, unknown>[] {
  if (trust.excludeNamespaces.length === 0) return [];
  const patterns = trust.excludeNamespaces.map((n) => celString(wildcardRegExp(n))).join(', ');
  return [
    {
      name: 'exclude-namespaces',
      expression: `![${patterns}].exists(p, request.namespace.matches(p))`,
    },
  ];
}

function actions(trust: TrustConfig): string[] {
  return trust.validationFailureAction === 'Enforce' ? ['Deny'] : ['Audit'];
}

function validatingPolicy(trust: TrustConfig): Record<string, unknown> {
  const allowed = trust.registries.map((r) => `c.image.startsWith(${celString(`${r}/`)})`).join(' || ');
  const spec: Record<string, unknown> = {
    validationActions: actions(trust),
    evaluation: { background: { enabled: true } },
    matchConstraints: { resourceRules: [POD_RULE] },
  };
  const conditions = excludeConditions(trust);
  if (conditions.length > 0) spec.matchConditions = conditions;
  spec.variables = [{ name: 'allContainers', expression: ALL_CONTAINERS }];
  spec.validations = [
    {
      expression: `variables.allContainers.all(c, ${allowed})`,
      message: `images must come from ${trust.registries.join(', ')}; mirror public images to the internal registry first`,
    },
  ];
  return {
    apiVersion: 'policies.kyverno.io/v1',
    kind: 'ValidatingPolicy',
    metadata: {
      name: `${trust.name}-restrict-registries`,
      annotations: annotations(
        'Restrict image registries',
        `Container images must come from the internal registries (${trust.registries.join(', ')}).`,
      ),
    },
    spec,
  };
}

/**
 * A trust-config regular expression as Kyverno must see it: cosign and Kyverno match
 * `subjectRegExp`/`issuerRegExp` with Go's unanchored `MatchString`, chartproof's
 * verifier over the whole value, so the generated policies anchor them.
 */
function anchored(re: string): string {
  return `^(?:${re})$`;
}

/** An exact value as an anchored RE2 pattern (metacharacters escaped). */
function exactRegExp(value: string): string {
  return `^${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
}

/**
 * The identity as a Kyverno keyless entry. `legacyWildcards`: ClusterPolicy matches
 * `subject` and `issuer` as Kyverno wildcards (`*`, `?`), not exactly, so a value
 * containing them is given as an escaped, anchored regular expression instead.
 */
function identityOf(id: TrustIdentity, legacyWildcards = false): Record<string, string> {
  const out: Record<string, string> = {};
  const wild = (v: string): boolean => legacyWildcards && /[*?]/.test(v);
  if (id.subject !== undefined) {
    if (wild(id.subject)) out.subjectRegExp = exactRegExp(id.subject);
    else out.subject = id.subject;
  }
  if (id.subjectRegExp !== undefined) out.subjectRegExp = anchored(id.subjectRegExp);
  if (id.issuer !== undefined) {
    if (wild(id.issuer)) out.issuerRegExp = exactRegExp(id.issuer);
    else out.issuer = id.issuer;
  }
  if (id.issuerRegExp !== undefined) out.issuerRegExp = anchored(id.issuerRegExp);
  return out;
}

function ivpolAttestors(trust: TrustConfig): Record<string, unknown>[] {
  const skip = trust.verify.tlog === 'skip';
  const ctlog = (): Record<string, unknown> | undefined => {
    const c: Record<string, unknown> = {};
    if (trust.verify.rekorUrl) c.url = trust.verify.rekorUrl;
    if (skip) {
      c.insecureIgnoreTlog = true;
      c.insecureIgnoreSCT = true;
    }
    return Object.keys(c).length > 0 ? c : undefined;
  };
  const out: Record<string, unknown>[] = trust.verify.keys.map((pem, i) => {
    const cosign: Record<string, unknown> = { key: { data: pem.trim() } };
    const c = ctlog();
    if (c) cosign.ctlog = c;
    return { name: `key${i}`, cosign };
  });
  if (trust.verify.identities.length > 0) {
    const cosign: Record<string, unknown> = {
      keyless: { identities: trust.verify.identities.map((id) => identityOf(id)) },
    };
    const c = ctlog();
    if (c) cosign.ctlog = c;
    out.push({ name: 'keyless', cosign });
  }
  return out;
}

function imageValidatingPolicy(trust: TrustConfig): Record<string, unknown> {
  const attestors = ivpolAttestors(trust);
  const list = attestors.map((a) => `attestors.${a.name as string}`).join(', ');
  const spec: Record<string, unknown> = {
    validationActions: actions(trust),
    failurePolicy: 'Fail',
    webhookConfiguration: { timeoutSeconds: 30 },
    evaluation: { background: { enabled: false } },
    matchConstraints: { resourceRules: [POD_RULE] },
  };
  const conditions = excludeConditions(trust);
  if (conditions.length > 0) spec.matchConditions = conditions;
  spec.matchImageReferences = imageGlobs(trust).map((glob) => ({ glob }));
  spec.attestors = attestors;
  spec.validations = [
    {
      // verifyImageSignatures counts the attestors that verified: any one suffices.
      expression:
        '(images.containers + images.?initContainers.orValue([]) + images.?ephemeralContainers.orValue([]))' +
        `.all(image, verifyImageSignatures(image, [${list}]) > 0)`,
      message: 'images from the internal registries must carry a valid cosign signature',
    },
  ];
  return {
    apiVersion: 'policies.kyverno.io/v1',
    kind: 'ImageValidatingPolicy',
    metadata: {
      name: `${trust.name}-verify-images`,
      annotations: annotations(
        'Verify image signatures',
        'Images from the internal registries must be signed with a trusted cosign key or keyless identity.',
      ),
    },
    spec,
  };
}

// ---------------------------------------------------------------------------------
// kyverno.io/v1 ClusterPolicy (legacy, deprecated in Kyverno 1.17)

function clusterPolicy(trust: TrustConfig): Record<string, unknown> {
  const action = trust.validationFailureAction;
  const exclude =
    trust.excludeNamespaces.length > 0
      ? { exclude: { any: [{ resources: { namespaces: trust.excludeNamespaces } }] } }
      : {};
  const match = { any: [{ resources: { kinds: ['Pod'] } }] };
  const globs = trust.registries.map((r) => `${r}/*`).join(' | ');
  const skip = trust.verify.tlog === 'skip';
  const rekor = (): Record<string, unknown> | undefined => {
    if (skip) return { ignoreTlog: true };
    return trust.verify.rekorUrl ? { url: trust.verify.rekorUrl } : undefined;
  };
  const entries: Record<string, unknown>[] = trust.verify.keys.map((pem) => {
    const keys: Record<string, unknown> = { publicKeys: `${pem.trim()}\n` };
    const r = rekor();
    if (r) keys.rekor = r;
    if (skip) keys.ctlog = { ignoreSCT: true };
    return { keys };
  });
  for (const id of trust.verify.identities) {
    const keyless: Record<string, unknown> = identityOf(id, true);
    const r = rekor();
    if (r) keyless.rekor = r;
    if (skip) keyless.ctlog = { ignoreSCT: true };
    entries.push({ keyless });
  }
  const verify: Record<string, unknown> = {
    imageReferences: imageGlobs(trust),
    failureAction: action,
    // Kyverno refuses the policy when mutateDigest is on with an Audit failureAction.
    mutateDigest: action === 'Enforce',
    verifyDigest: true,
    required: true,
    // Any one trusted key or identity suffices (count 1 of N).
    attestors: [{ count: 1, entries }],
  };
  if (trust.verify.signatureFormat === 'bundle') verify.type = 'SigstoreBundle';
  return {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: {
      name: `${trust.name}-supply-chain`,
      annotations: {
        ...annotations(
          'Internal registries and signed images',
          'Images must come from the internal registries and carry a valid cosign signature.',
        ),
        'policies.kyverno.io/minversion': '1.13.0',
      },
    },
    spec: {
      background: false,
      webhookConfiguration: { timeoutSeconds: 30 },
      rules: [
        {
          name: 'require-internal-registry',
          match,
          ...exclude,
          validate: {
            failureAction: action,
            message: `images must come from ${trust.registries.join(', ')}; mirror public images to the internal registry first`,
            // `=(initContainers)`: the anchor applies the pattern only when the field exists.
            pattern: {
              spec: {
                containers: [{ image: globs }],
                '=(initContainers)': [{ image: globs }],
                '=(ephemeralContainers)': [{ image: globs }],
              },
            },
          },
        },
        {
          name: 'verify-image-signatures',
          match,
          ...exclude,
          verifyImages: [verify],
        },
      ],
    },
  };
}

/**
 * Generates Kyverno policies from a trust config: for `ImageValidatingPolicy` (the
 * default) a ValidatingPolicy restricting images to the internal registries and an
 * ImageValidatingPolicy verifying their cosign signatures; for `ClusterPolicy` one
 * legacy policy with both rules. `warnings` names the known Kyverno bugs the
 * configured signature format runs into.
 * @throws ChartproofError `INVALID_ARGUMENT` for an unknown kind, a key given as a file path,
 *   or (ClusterPolicy) a `{{` that Kyverno would substitute as a variable
 * @public
 */
export function generateKyvernoPolicies(
  trust: TrustConfig,
  options: GenerateKyvernoOptions = {},
): KyvernoPolicies {
  const kind = options.kind ?? 'ImageValidatingPolicy';
  if (kind !== 'ImageValidatingPolicy' && kind !== 'ClusterPolicy')
    throw new ChartproofError(
      'INVALID_ARGUMENT',
      `unknown Kyverno policy kind ${JSON.stringify(kind)}: use ImageValidatingPolicy or ClusterPolicy`,
    );
  for (const [i, k] of trust.verify.keys.entries())
    if (!k.trimStart().startsWith('-----BEGIN '))
      throw new ChartproofError(
        'INVALID_ARGUMENT',
        `verify.keys[${i}] is a file path; load the config with loadTrustConfig to read it`,
      );
  if (kind === 'ClusterPolicy') {
    // Kyverno substitutes `{{ … }}` (variables, JMESPath over the request) in ClusterPolicy
    // rules: an identity like `{{request.object.metadata.annotations.signer}}` would let
    // whoever creates the Pod choose the trusted signer.
    const fields: Array<[string, string | undefined]> = [['verify.rekorUrl', trust.verify.rekorUrl]];
    for (const [i, k] of trust.verify.keys.entries()) fields.push([`verify.keys[${i}]`, k]);
    for (const [i, id] of trust.verify.identities.entries())
      for (const f of ['subject', 'subjectRegExp', 'issuer', 'issuerRegExp'] as const)
        fields.push([`verify.identities[${i}].${f}`, id[f]]);
    for (const [path, v] of fields)
      if (v?.includes('{{'))
        throw new ChartproofError(
          'INVALID_ARGUMENT',
          `${path} contains "{{", which Kyverno substitutes as a variable in a ClusterPolicy`,
        );
  }
  const documents =
    kind === 'ClusterPolicy'
      ? [clusterPolicy(trust)]
      : [validatingPolicy(trust), imageValidatingPolicy(trust)];
  const yaml = documents
    .map((d) => stringify(d, { lineWidth: 0, blockQuote: 'literal' }))
    .map((s, i) => (i === 0 ? s : `---\n${s}`))
    .join('');
  return { documents, yaml, warnings: kyvernoWarnings(trust, kind) };
}
