import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  chartReferenceFor,
  loadTrustConfig,
  parseTrustConfig,
  parseTrustConfigYaml,
  TrustConfigError,
} from '../../src/policy/trust.js';

const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
  type: 'spki',
  format: 'pem',
}) as string;
const indent = (s: string) =>
  s
    .trim()
    .split('\n')
    .map((l) => `      ${l}`)
    .join('\n');

const yaml = `
registries:
  - registry.internal.example/
verify:
  keys:
    - |
${indent(pem)}
  identities:
    - subject: ci@acme.example
      issuer: https://accounts.example
excludeNamespaces: [kube-system]
validationFailureAction: Enforce
charts:
  reference: oci://registry.internal.example/charts/{name}:{version}
`;

function configError(fn: () => unknown): TrustConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TrustConfigError);
    return e as TrustConfigError;
  }
  throw new Error('expected a TrustConfigError');
}

describe('trust config', () => {
  it('parses YAML, trims registry slashes and fills defaults', () => {
    const t = parseTrustConfigYaml(yaml);
    expect(t).toMatchObject({
      name: 'chartproof',
      registries: ['registry.internal.example'],
      excludeNamespaces: ['kube-system'],
      validationFailureAction: 'Enforce',
      verify: { signatureFormat: 'legacy', tlog: 'require' },
    });
    expect(t.verify.keys[0]).toContain('BEGIN PUBLIC KEY');
    const minimal = parseTrustConfig({ registries: ['r.example'], verify: { keys: [pem] } });
    expect(minimal.validationFailureAction).toBe('Audit');
    const hosts = ['localhost/team', 'docker.io/bitnami', 'registry:5000'];
    expect(parseTrustConfig({ registries: hosts, verify: { keys: [pem] } }).registries).toEqual(hosts);
  });

  it.each([
    [{ registries: [], verify: { keys: [pem] } }, 'registries', /fewer than 1/],
    [{ registries: ['r.example'], verify: { keys: [pem] }, extra: 1 }, 'extra', /unknown field/],
    [{ registries: ['r.example'] }, 'verify', /is required/],
    [{ registries: ['r.example'], verify: {} }, 'verify', /at least one key or keyless identity/],
    [{ registries: ['oci://r.example'], verify: { keys: [pem] } }, 'registries[0]', /without a scheme/],
    [{ registries: ['r.example/UP PER'], verify: { keys: [pem] } }, 'registries[0]', /not a registry/],
    // `internal/app` is docker.io/internal/app to the runtime: a prefix anyone can push to
    [
      { registries: ['internal'], verify: { keys: [pem] } },
      'registries[0]',
      /Docker Hub's docker\.io\/internal/,
    ],
    [{ registries: ['r.example', 'team/apps'], verify: { keys: [pem] } }, 'registries[1]', /Docker Hub/],
    [
      {
        registries: ['r.example'],
        verify: { keys: ['-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----'] },
      },
      'verify.keys[0]',
      /not a usable public key/,
    ],
    [
      { registries: ['r.example'], verify: { keys: ['cosign.pub'] } },
      'verify.keys[0]',
      /must be a PEM public key/,
    ],
    [
      { registries: ['r.example'], verify: { identities: [{ subject: 'a' }] } },
      'verify.identities[0]',
      /issuer/,
    ],
    [
      {
        registries: ['r.example'],
        verify: { identities: [{ subject: 'a', subjectRegExp: 'b', issuer: 'c' }] },
      },
      'verify.identities[0]',
      /exactly one of subject/,
    ],
    [
      { registries: ['r.example'], verify: { identities: [{ subjectRegExp: '(', issuer: 'c' }] } },
      'verify.identities[0].subjectRegExp',
      /not a valid regular expression/,
    ],
    [
      { registries: ['r.example'], verify: { keys: [pem], tlog: 'maybe' } },
      'verify.tlog',
      /must be one of require, skip/,
    ],
    [
      { registries: ['r.example'], verify: { keys: [pem] }, validationFailureAction: 'enforce' },
      'validationFailureAction',
      /Audit, Enforce/,
    ],
    [
      { registries: ['r.example'], verify: { keys: [pem] }, charts: { reference: 'oci://x/{name}' } },
      'charts.reference',
      /\{version\}/,
    ],
    [
      { registries: ['r.example'], verify: { keys: [pem] }, excludeNamespaces: ['Kube System'] },
      'excludeNamespaces[0]',
      /does not match/,
    ],
    [
      { registries: ['r.example'], verify: { keys: [pem] }, excludeNamespaces: ['kube-system', '*'] },
      'excludeNamespaces[1]',
      /excludes every namespace/,
    ],
  ])('refuses %j at %s', (value, path, message) => {
    const e = configError(() => parseTrustConfig(value));
    expect(e.code).toBe('INVALID_CONFIG');
    expect(e.path).toBe(path);
    expect(e.message).toMatch(message);
    expect(e.message.startsWith(`trust config: ${path}: `)).toBe(true);
  });

  it('YAML syntax errors name the line; hostile YAML is bounded', () => {
    const e = configError(() =>
      parseTrustConfigYaml('registries:\n  - a\n verify: [', { what: 'trust.yaml' }),
    );
    expect(e.message).toMatch(/^trust\.yaml: line \d+: error converting YAML to JSON: /);
    expect(() => parseTrustConfigYaml(`${'['.repeat(100)}${']'.repeat(100)}`)).toThrow(
      expect.objectContaining({ code: 'DEPTH_LIMIT_EXCEEDED' }),
    );
    expect(() => parseTrustConfigYaml(`# ${'x'.repeat(1024 * 1024)}`)).toThrow(
      expect.objectContaining({ code: 'SIZE_LIMIT_EXCEEDED' }),
    );
    const dup = configError(() => parseTrustConfigYaml('registries: [a]\nregistries: [b]\nverify: {}'));
    expect(dup.message).toMatch(/unique/i);
  });

  it('loadTrustConfig reads key files relative to the config', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trust-'));
    await writeFile(join(dir, 'cosign.pub'), pem);
    await writeFile(join(dir, 'trust.yaml'), 'registries: [r.example]\nverify:\n  keys: [cosign.pub]\n');
    const t = await loadTrustConfig(join(dir, 'trust.yaml'));
    expect(t.verify.keys).toEqual([pem]);
    await writeFile(join(dir, 'bad.pub'), 'not a key');
    await writeFile(join(dir, 'bad.yaml'), 'registries: [r.example]\nverify:\n  keys: [bad.pub]\n');
    await expect(loadTrustConfig(join(dir, 'bad.yaml'))).rejects.toThrow(
      /verify\.keys\[0\]: bad\.pub: not a usable public key/,
    );
  });

  it('chartReferenceFor fills the template like Helm tags (+ → _)', () => {
    expect(chartReferenceFor('oci://r/charts/{name}:{version}', 'app', '1.0.0+build.1')).toBe(
      'oci://r/charts/app:1.0.0_build.1',
    );
  });
});
