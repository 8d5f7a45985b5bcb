import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { generateKyvernoPolicies } from '../../src/policy/kyverno.js';
import { parseTrustConfig, type TrustConfig } from '../../src/policy/trust.js';
import { describeVectors } from '../helpers/vectors.js';
import { KYVERNO_VECTORS, kyvernoVectorsAvailable, loadCrdValidators } from './crd-schema.js';

// biome-ignore lint/suspicious/noExplicitAny: tests read deep into the generated documents.
type Loose = any;

const pem = () =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
    type: 'spki',
    format: 'pem',
  }) as string;

function trust(extra: Record<string, unknown> = {}, verify: Record<string, unknown> = {}): TrustConfig {
  return parseTrustConfig({
    registries: ['registry.internal.example', 'registry.internal.example:5000/team'],
    verify: {
      keys: [pem()],
      identities: [
        {
          subjectRegExp: 'https://github\\.com/acme/.*',
          issuer: 'https://token.actions.githubusercontent.com',
        },
      ],
      ...verify,
    },
    excludeNamespaces: ['kube-system', 'kube-*'],
    ...extra,
  });
}

const available = kyvernoVectorsAvailable('kyverno policy schema tests');

describeVectors(available)('generated Kyverno policies against the Kyverno v1.19 CRDs', () => {
  let crds: ReturnType<typeof loadCrdValidators>;
  beforeAll(() => {
    crds = loadCrdValidators();
  });

  it('the validator accepts the real kyverno/policies samples and rejects a typo', () => {
    const files = [
      'other/verify-image/verify-image.yaml',
      'flux/verify-flux-images/verify-flux-images.yaml',
      'other/verify-image-ivpol/verify-image-ivpol.yaml',
      'best-practices-vpol/restrict-image-registries/restrict-image-registries.yaml',
      'best-practices/restrict-image-registries/restrict-image-registries.yaml',
    ];
    for (const f of files) {
      const text = readFileSync(join(KYVERNO_VECTORS, 'kyverno-policies', f), 'utf8');
      for (const d of parseAllDocuments(text)) {
        const obj = (Array.isArray(d) ? d[0] : d).toJS() as Record<string, unknown>;
        expect(crds.validate(obj), f).toEqual([]);
      }
    }
    const bad = readFileSync(
      join(KYVERNO_VECTORS, 'kyverno-policies/other/verify-image/verify-image.yaml'),
      'utf8',
    )
      .replace('- keys:', '- keyz:')
      .replace('mutateDigest: true', 'mutateDigest: true\n        type: cosign');
    const obj = (parseAllDocuments(bad)[0] as { toJS(): Record<string, unknown> }).toJS();
    const errors = crds.validate(obj);
    expect(errors.join('\n')).toMatch(/keyz/);
    expect(errors.join('\n')).toMatch(/allowedValues/);
  });

  for (const kind of ['ImageValidatingPolicy', 'ClusterPolicy'] as const) {
    for (const action of ['Audit', 'Enforce'] as const) {
      for (const tlog of ['require', 'skip'] as const) {
        it(`${kind}, ${action}, tlog ${tlog}: every document validates (strict)`, () => {
          const t = trust(
            { validationFailureAction: action },
            { tlog, rekorUrl: 'https://rekor.internal.example' },
          );
          const out = generateKyvernoPolicies(t, { kind });
          expect(out.documents.length).toBe(kind === 'ClusterPolicy' ? 1 : 2);
          for (const d of out.documents) expect(crds.validate(d), String(d.kind)).toEqual([]);
          // The YAML stream round-trips to the same objects.
          const parsed = parseAllDocuments(out.yaml).map((d) => (d as { toJS(): unknown }).toJS());
          expect(parsed).toEqual(out.documents);
        });
      }
    }
  }

  it('keys only, identities only, and bundle format validate too', () => {
    const keysOnly = parseTrustConfig({
      registries: ['r.example'],
      verify: { keys: [pem()], signatureFormat: 'bundle' },
    });
    const idOnly = parseTrustConfig({
      registries: ['r.example'],
      verify: { identities: [{ subject: 'ci@acme.example', issuerRegExp: 'https://.*' }] },
    });
    for (const t of [keysOnly, idOnly])
      for (const kind of ['ImageValidatingPolicy', 'ClusterPolicy'] as const)
        for (const d of generateKyvernoPolicies(t, { kind }).documents) expect(crds.validate(d)).toEqual([]);
  });
});

describe('generateKyvernoPolicies', () => {
  it('ImageValidatingPolicy: registries, attestors, exclusions and actions follow the config', () => {
    const t = trust({ validationFailureAction: 'Enforce' });
    const { documents, warnings } = generateKyvernoPolicies(t);
    const [vpol, ivpol] = documents as Array<{ kind: string; metadata: { name: string }; spec: Loose }>;
    expect(vpol!.kind).toBe('ValidatingPolicy');
    expect(vpol!.metadata.name).toBe('chartproof-restrict-registries');
    expect(vpol!.spec.validationActions).toEqual(['Deny']);
    expect(vpol!.spec.validations[0].expression).toBe(
      "variables.allContainers.all(c, c.image.startsWith('registry.internal.example/') || c.image.startsWith('registry.internal.example:5000/team/'))",
    );
    expect(vpol!.spec.matchConditions[0].expression).toBe(
      "!['^kube-system$', '^kube-.*$'].exists(p, request.namespace.matches(p))",
    );
    expect(ivpol!.kind).toBe('ImageValidatingPolicy');
    expect(ivpol!.spec.matchImageReferences).toEqual([
      { glob: 'registry.internal.example/*' },
      { glob: 'registry.internal.example:5000/team/*' },
    ]);
    expect(ivpol!.spec.attestors.map((a: { name: string }) => a.name)).toEqual(['key0', 'keyless']);
    expect(ivpol!.spec.attestors[0].cosign.key.data).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(ivpol!.spec.attestors[1].cosign.keyless.identities).toEqual([
      {
        subjectRegExp: '^(?:https://github\\.com/acme/.*)$',
        issuer: 'https://token.actions.githubusercontent.com',
      },
    ]);
    expect(ivpol!.spec.validations[0].expression).toContain(
      'verifyImageSignatures(image, [attestors.key0, attestors.keyless]) > 0',
    );
    expect(warnings).toEqual([]);
    expect(generateKyvernoPolicies(trust()).documents[0]!.spec).toMatchObject({
      validationActions: ['Audit'],
    });
  });

  it('ClusterPolicy: two rules like the seed, with rule-level failureAction and any-of attestors', () => {
    const t = trust({ validationFailureAction: 'Enforce' }, { tlog: 'skip' });
    const [cpol] = generateKyvernoPolicies(t, { kind: 'ClusterPolicy' }).documents as Loose[];
    expect(cpol.spec.rules.map((r: { name: string }) => r.name)).toEqual([
      'require-internal-registry',
      'verify-image-signatures',
    ]);
    const [registry, verify] = cpol.spec.rules;
    expect(registry.validate.pattern.spec.containers[0].image).toBe(
      'registry.internal.example/* | registry.internal.example:5000/team/*',
    );
    expect(registry.exclude.any[0].resources.namespaces).toEqual(['kube-system', 'kube-*']);
    const vi = verify.verifyImages[0];
    expect(vi.failureAction).toBe('Enforce');
    expect(vi.type).toBeUndefined(); // legacy .sig signatures: Kyverno's default Cosign type
    expect(vi.attestors[0].count).toBe(1);
    expect(vi.attestors[0].entries[0].keys.rekor).toEqual({ ignoreTlog: true });
    expect(vi.attestors[0].entries[1].keyless.issuer).toBe('https://token.actions.githubusercontent.com');
  });

  it('warns about the Kyverno bugs the bundle format hits, and only then', () => {
    const bundle = trust({}, { signatureFormat: 'bundle' });
    const cpol = generateKyvernoPolicies(bundle, { kind: 'ClusterPolicy' });
    expect(cpol.warnings.map((w) => w.issue)).toEqual(['kyverno#16664', 'kyverno#16854']);
    expect((cpol.documents[0] as Loose).spec.rules[1].verifyImages[0].type).toBe('SigstoreBundle');
    expect(generateKyvernoPolicies(bundle).warnings.map((w) => w.issue)).toEqual(['kyverno#17363']);
    const keyless = parseTrustConfig({
      registries: ['r.example'],
      verify: {
        identities: [{ subject: 'a@b.example', issuer: 'https://i.example' }],
        signatureFormat: 'bundle',
      },
    });
    expect(generateKyvernoPolicies(keyless).warnings).toEqual([]);
    for (const format of ['legacy', 'both'])
      for (const kind of ['ImageValidatingPolicy', 'ClusterPolicy'] as const)
        expect(generateKyvernoPolicies(trust({}, { signatureFormat: format }), { kind }).warnings).toEqual(
          [],
        );
  });

  it('CEL string literals are escaped', () => {
    const t = parseTrustConfig({
      registries: ['r.example'],
      verify: { keys: [pem()] },
      excludeNamespaces: ['a?b'],
    });
    const [vpol] = generateKyvernoPolicies(t).documents as Loose[];
    expect(vpol.spec.matchConditions[0].expression).toBe(
      "!['^a.b$'].exists(p, request.namespace.matches(p))",
    );
  });

  it('anchors subjectRegExp/issuerRegExp: Kyverno and cosign match them unanchored', () => {
    // cosign's and Kyverno's Go MatchString find the pattern anywhere in the value, so an
    // unanchored `.*@acme\.example` also admits `evil@acme.example.attacker.net`.
    const t = parseTrustConfig({
      registries: ['r.example'],
      verify: {
        identities: [
          {
            subjectRegExp: '.*@acme\\.example',
            issuerRegExp: 'https://accounts\\.acme\\.example|https://x\\.example',
          },
        ],
      },
    });
    const [, ivpol] = generateKyvernoPolicies(t).documents as Loose[];
    const [cpol] = generateKyvernoPolicies(t, { kind: 'ClusterPolicy' }).documents as Loose[];
    const expected = {
      subjectRegExp: '^(?:.*@acme\\.example)$',
      issuerRegExp: '^(?:https://accounts\\.acme\\.example|https://x\\.example)$',
    };
    expect(ivpol.spec.attestors[0].cosign.keyless.identities).toEqual([expected]);
    expect(cpol.spec.rules[1].verifyImages[0].attestors[0].entries[0].keyless).toEqual(expected);
    const re = new RegExp(expected.subjectRegExp);
    expect(re.test('dev@acme.example')).toBe(true);
    expect(re.test('evil@acme.example.attacker.net')).toBe(false);
  });

  it('ClusterPolicy: an exact subject or issuer with * or ? is not a Kyverno wildcard', () => {
    // ClusterPolicy (Cosign type) matches keyless subject/issuer with wildcard.Match.
    const t = parseTrustConfig({
      registries: ['r.example'],
      verify: { identities: [{ subject: 'https://ci.example/*', issuer: 'https://i.example/?a=1' }] },
    });
    const [cpol] = generateKyvernoPolicies(t, { kind: 'ClusterPolicy' }).documents as Loose[];
    const keyless = cpol.spec.rules[1].verifyImages[0].attestors[0].entries[0].keyless;
    expect(keyless).toEqual({
      subjectRegExp: '^https://ci\\.example/\\*$',
      issuerRegExp: '^https://i\\.example/\\?a=1$',
    });
    expect(new RegExp(keyless.subjectRegExp).test('https://ci.example/evil')).toBe(false);
    expect(new RegExp(keyless.subjectRegExp).test('https://ci.example/*')).toBe(true);
    // The ImageValidatingPolicy (cosign) compares subject and issuer exactly: unchanged.
    const [, ivpol] = generateKyvernoPolicies(t).documents as Loose[];
    expect(ivpol.spec.attestors[0].cosign.keyless.identities).toEqual([
      { subject: 'https://ci.example/*', issuer: 'https://i.example/?a=1' },
    ]);
  });

  it('ClusterPolicy: mutateDigest is off with Audit, which Kyverno refuses it with', () => {
    // Kyverno's policy validation: "mutateDigest must be set to false for 'Audit' failure
    // action" -- the default (Audit) ClusterPolicy would not be admitted at all.
    const vi = (a: 'Audit' | 'Enforce') =>
      (
        generateKyvernoPolicies(trust({ validationFailureAction: a }), { kind: 'ClusterPolicy' })
          .documents[0] as Loose
      ).spec.rules[1].verifyImages[0];
    expect(vi('Audit')).toMatchObject({
      failureAction: 'Audit',
      mutateDigest: false,
      verifyDigest: true,
      required: true,
    });
    expect(vi('Enforce')).toMatchObject({
      failureAction: 'Enforce',
      mutateDigest: true,
      verifyDigest: true,
      required: true,
    });
  });

  it('ClusterPolicy: refuses "{{" that Kyverno would substitute from the request', () => {
    const id = (subject: string) =>
      parseTrustConfig({
        registries: ['r.example'],
        verify: { identities: [{ subject, issuer: 'https://i.example' }] },
      });
    const evil = id('{{request.object.metadata.annotations.signer}}');
    expect(() => generateKyvernoPolicies(evil, { kind: 'ClusterPolicy' })).toThrow(
      /verify\.identities\[0\]\.subject contains "\{\{"/,
    );
    const rekor = trust({}, { rekorUrl: 'https://{{request.object.metadata.name}}.example' });
    expect(() => generateKyvernoPolicies(rekor, { kind: 'ClusterPolicy' })).toThrow(/verify\.rekorUrl/);
    // CEL policies do no {{ }} substitution.
    expect(() => generateKyvernoPolicies(evil)).not.toThrow();
  });

  it('refuses an unknown kind and key file paths', () => {
    expect(() => generateKyvernoPolicies(trust(), { kind: 'Policy' as never })).toThrow(
      /unknown Kyverno policy kind/,
    );
    const t = parseTrustConfig(
      { registries: ['r.example'], verify: { keys: ['cosign.pub'] } },
      { allowKeyFiles: true },
    );
    expect(() => generateKyvernoPolicies(t)).toThrow(/file path/);
  });
});
