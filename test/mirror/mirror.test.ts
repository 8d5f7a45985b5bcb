import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadChartArchive } from '../../src/chart/load.js';
import { pullChart, pushChart } from '../../src/chart/oci.js';
import { run } from '../../src/cli/main.js';
import { applyMirror, mirrorSummaryLine } from '../../src/mirror/apply.js';
import { planMirror } from '../../src/mirror/plan.js';
import { type MirrorSpec, parseMirrorSpec } from '../../src/mirror/spec.js';
import type { RegistryClient } from '../../src/oci/index.js';
import { generateKeyPair, keyFileSigner } from '../../src/keys/keys.js';
import { signLegacy } from '../../src/sign/legacy.js';
import { signBundle } from '../../src/sign/referrer.js';
import { MemoryRegistry } from '../../src/testing/index.js';
import { verifyChart } from '../../src/verify/chart.js';
import { ChartRepoServer, makeChartArchive } from '../helpers/chart-repo.js';
import { captureIo } from '../helpers/cli-io.js';
import { expectChartproofError } from '../helpers/expect-error.js';
import { listeningFixture } from '../helpers/registry.js';

describe('mirror spec', () => {
  const base = { target: { registry: 'internal.example:5000', prefix: 'charts/vendor' } };
  it('accepts the issue’s minimum spec and resolves relative paths', () => {
    const spec = parseMirrorSpec(
      {
        ...base,
        sign: { key: 'internal.key', format: 'both' },
        scan: { block: 'high' },
        charts: [
          {
            name: 'ingress-nginx',
            source: 'oci://ghcr.io/kubernetes/ingress-nginx/charts/ingress-nginx',
            versions: ['4.10.1'],
            verify: { key: 'upstream.pub', required: true },
            plainHttp: false,
          },
          {
            name: 'redis',
            repo: 'https://charts.example/stable',
            versions: ['^17'],
            verify: { keyring: 'k.gpg' },
          },
        ],
      },
      { baseDir: '/etc/mirror' },
    );
    expect(spec.sign).toEqual({ key: '/etc/mirror/internal.key', format: 'both' });
    expect(spec.charts[0]!.verify).toEqual({ key: '/etc/mirror/upstream.pub', required: true });
    expect(spec.charts[1]!.verify?.keyring).toBe('/etc/mirror/k.gpg');
  });

  it.each([
    [{ charts: [] }, /target: is required/],
    [{ ...base, charts: [] }, /charts: must be a non-empty list/],
    [{ ...base, charts: [{ name: 'a', versions: ['1'] }] }, /exactly one of source/],
    [
      { ...base, charts: [{ name: 'a', source: 'https://x/a', versions: ['1'] }] },
      /must start with oci:\/\//,
    ],
    [
      { ...base, charts: [{ name: 'A b', source: 'oci://x/a', versions: ['1'] }] },
      /not a valid repository name/,
    ],
    [
      { ...base, charts: [{ name: 'a', source: 'oci://x/a', versions: [] }] },
      /versions: must be a non-empty list/,
    ],
    [
      { ...base, charts: [{ name: 'a', source: 'oci://x/a', versions: ['1'], verify: { identity: 'x' } }] },
      /needs both identity and issuer/,
    ],
    [
      { ...base, charts: [{ name: 'a', source: 'oci://x/a', versions: ['1'], bogus: 1 }] },
      /charts\[0\]\.bogus: unknown field/,
    ],
    [
      { ...base, scan: { block: 'severe' }, charts: [{ name: 'a', source: 'oci://x/a', versions: ['1'] }] },
      /scan\.block: must be one of/,
    ],
    [
      { target: { registry: 'https://x' }, charts: [{ name: 'a', source: 'oci://x/a', versions: ['1'] }] },
      /host\[:port\]/,
    ],
    [
      {
        ...base,
        charts: [
          { name: 'a', source: 'oci://x/a', versions: ['1'] },
          { name: 'a', source: 'oci://y/a', versions: ['2'] },
        ],
      },
      /listed twice/,
    ],
  ])('rejects %j', (value, message) => {
    expect(() => parseMirrorSpec(value)).toThrow(message);
  });
});

describe('mirror plan/apply (two registries on loopback + a classic repository)', () => {
  let upstream: MemoryRegistry;
  let internal: MemoryRegistry;
  let up: { host: string; close(): Promise<void> };
  let inn: { host: string; close(): Promise<void> };
  let repo: ChartRepoServer;
  let client: RegistryClient;
  let dir: string;
  let upstreamKeys: { privateKeyPem: string; publicKeyPem: string };
  let internalKeys: { privateKeyPem: string; publicKeyPem: string };
  const digests: Record<string, string> = {};

  const meta = (name: string, version: string) => ({ name, version, apiVersion: 'v2' });

  async function publish(name: string, version: string, extra: Record<string, string> = {}, sign = true) {
    const archive = await makeChartArchive(name, version, extra);
    const pushed = await pushChart(client, archive, meta(name, version), `oci://${up.host}/charts`);
    if (sign) {
      const signer = await keyFileSigner(upstreamKeys.privateKeyPem, 'up');
      const r = client.repository(`${up.host}/charts/${name}`);
      const subject = await r.resolve(version.replaceAll('+', '_'));
      await signLegacy(r, subject, signer);
      await signBundle(r, subject, signer);
    }
    digests[`${name}-${version}`] = pushed.digest;
    return pushed;
  }

  beforeAll(async () => {
    internal = new MemoryRegistry({ referrersApi: false });
    ({ registry: upstream, server: up, client } = await listeningFixture());
    inn = await internal.listen();
    repo = await new ChartRepoServer().start();
    dir = mkdtempSync(join(tmpdir(), 'cp-mirror-'));
    upstreamKeys = await generateKeyPair({ password: 'up' });
    internalKeys = await generateKeyPair({ password: 'in' });
    writeFileSync(join(dir, 'upstream.pub'), upstreamKeys.publicKeyPem);
    writeFileSync(join(dir, 'internal.key'), internalKeys.privateKeyPem);
    await publish('ingress-nginx', '4.10.0');
    await publish('ingress-nginx', '4.10.1');
    await publish('cert-manager', '1.14.5');
    await publish('unsigned', '1.0.0', {}, false);
    await publish('risky', '0.1.0', {
      'templates/crb.yaml':
        'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: x\n',
    });
    repo.publish('redis', '17.3.1', await makeChartArchive('redis', '17.3.1'));
  });
  afterAll(async () => {
    await client.close();
    await up.close();
    await inn.close();
    await repo.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function spec(charts: MirrorSpec['charts'], extra: Partial<MirrorSpec> = {}): MirrorSpec {
    return parseMirrorSpec({
      target: { registry: inn.host, prefix: 'charts/vendor', plainHttp: true },
      sign: { key: join(dir, 'internal.key'), format: 'both' },
      scan: { block: 'high' },
      charts,
      ...extra,
    });
  }
  const verifyUp = () => ({ key: join(dir, 'upstream.pub'), insecureIgnoreTlog: true });
  const env = { COSIGN_PASSWORD: 'in' };

  it('lowers a rule with scan.severities (Trivy parity for a ClusterRoleBinding), rendered or not', async () => {
    const risky = [
      { name: 'risky', source: `oci://${up.host}/charts/risky`, versions: ['0.1.0'], verify: verifyUp() },
    ];
    const [strict] = await planMirror(spec(risky), { client });
    expect(strict!.action).toBe('refuse');
    for (const render of [true, false]) {
      const [lowered] = await planMirror(
        spec(risky, {
          scan: {
            block: 'high',
            render,
            severities: { 'cluster-scoped-rbac': 'medium', 'privilege-escalation': 'low' },
          },
        }),
        { client },
      );
      expect(lowered!.action).toBe('copy');
      expect(lowered!.findings?.find((f) => f.rule === 'cluster-scoped-rbac')?.severity).toBe('medium');
    }
    expect(spec(risky, { scan: { severities: { 'render-failed': 'high' } } }).scan?.severities).toEqual({
      'render-failed': 'high',
    });
    expect(() => spec(risky, { scan: { severities: { 'no-such-rule': 'low' } } as never })).toThrow(
      /scan\.severities\.no-such-rule: is not a scan rule id/,
    );
    expect(() => spec(risky, { scan: { severities: { 'cluster-scoped-rbac': 'severe' } } as never })).toThrow(
      /must be one of/,
    );
  });

  it('plans, applies, keeps digests and upstream signatures, re-signs, and is idempotent', async () => {
    const s = spec([
      {
        name: 'ingress-nginx',
        source: `oci://${up.host}/charts/ingress-nginx`,
        versions: ['4.10.1', '~4.10.0', '9.9.9'],
        verify: verifyUp(),
      },
      {
        name: 'cert-manager',
        source: `oci://${up.host}/charts/cert-manager`,
        versions: ['1.14.5'],
        verify: verifyUp(),
      },
      {
        name: 'unsigned',
        source: `oci://${up.host}/charts/unsigned`,
        versions: ['1.0.0'],
        verify: verifyUp(),
      },
      { name: 'risky', source: `oci://${up.host}/charts/risky`, versions: ['0.1.0'], verify: verifyUp() },
      { name: 'redis', repo: repo.url, versions: ['17.3.1'] },
    ]);
    const plan = await planMirror(s, { client });
    expect(plan.map((p) => [p.name, p.requested, p.version, p.action])).toEqual([
      ['ingress-nginx', '4.10.1', '4.10.1', 'copy'],
      ['ingress-nginx', '~4.10.0', '4.10.1', 'skip'],
      ['ingress-nginx', '9.9.9', '', 'fail'],
      ['cert-manager', '1.14.5', '1.14.5', 'copy'],
      ['unsigned', '1.0.0', '1.0.0', 'refuse'],
      ['risky', '0.1.0', '0.1.0', 'refuse'],
      ['redis', '17.3.1', '17.3.1', 'copy'],
    ]);
    expect(plan[4]!.reason).toMatch(/upstream signature: no signatures found/);
    expect(plan[5]!.reason).toMatch(/scanner: .*cluster-scoped-rbac \(high\)/);
    expect(internal.requests.filter((r) => r.method === 'PUT' || r.method === 'POST')).toEqual([]);

    const report = await applyMirror(s, { client, env });
    expect(plan[1]!.reason).toBe('same version as "4.10.1"');
    expect(report.summary).toEqual({ copied: 3, skipped: 1, refused: 2, failed: 1 });
    expect(mirrorSummaryLine(report)).toBe('Mirrored: 3 copied, 1 skipped, 2 refused, 1 failed');
    const nginx = report.results[0]!;
    expect(nginx).toMatchObject({ status: 'copied', digest: digests['ingress-nginx-4.10.1'] });
    expect(nginx.signaturesCarried).toBeGreaterThanOrEqual(2);
    expect(nginx.internalSignature?.legacy).toMatch(/^sha256-[0-9a-f]{64}\.sig$/);
    // Same digest, so the upstream signatures still verify at the target; the internal ones too.
    const target = `${inn.host}/charts/vendor/ingress-nginx:4.10.1`;
    const upstreamPolicy = { keys: [upstreamKeys.publicKeyPem], tlog: 'skip' as const };
    const internalPolicy = { keys: [internalKeys.publicKeyPem], tlog: 'skip' as const };
    for (const format of ['legacy', 'bundle'] as const) {
      expect((await verifyChart(client, target, { policy: upstreamPolicy, formats: [format] })).digest).toBe(
        digests['ingress-nginx-4.10.1'],
      );
      expect(
        (await verifyChart(client, target, { policy: internalPolicy, formats: [format] })).verified,
      ).toBeGreaterThanOrEqual(1);
    }
    // Refused and failed charts are absent from the target.
    await expectChartproofError(
      client.repository(`${inn.host}/charts/vendor/risky`).resolve('0.1.0'),
      'MANIFEST_UNKNOWN',
    );
    await expect(client.repository(`${inn.host}/charts/vendor/unsigned`).resolve('1.0.0')).rejects.toThrow();
    // The classic chart was pushed in Helm's OCI format, its archive unchanged, and signed.
    const redis = await pullChart(client, `oci://${inn.host}/charts/vendor/redis:17.3.1`);
    expect(Buffer.from(redis.archive).equals(Buffer.from(repo.files.get('redis-17.3.1.tgz')!))).toBe(true);
    expect((await loadChartArchive(redis.archive)).metadata.name).toBe('redis');
    expect(
      (await verifyChart(client, `${inn.host}/charts/vendor/redis:17.3.1`, { policy: internalPolicy }))
        .format,
    ).toBe('bundle');

    // Second run: nothing new is written.
    const writes = internal.requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD').length;
    const again = await applyMirror(s, { client, env });
    expect(again.summary).toEqual({ copied: 0, skipped: 4, refused: 2, failed: 1 });
    expect(internal.requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD').length).toBe(writes);
    expect(again.results.find((r) => r.name === 'redis')!.status).toBe('skipped');
  });

  it('lists tags once per repository instead of probing, and tags last only when something must go first', async () => {
    await publish('listed', '1.0.0');
    await publish('listed', '1.1.0', {}, false);
    const fromUp = upstream.requests.length;
    const fromIn = internal.requests.length;
    const s = parseMirrorSpec({
      target: { registry: inn.host, prefix: 'charts/vendor', plainHttp: true },
      charts: [{ name: 'listed', source: `oci://${up.host}/charts/listed`, versions: ['1.0.0', '1.1.0'] }],
    });
    const report = await applyMirror(s, { client });
    expect(report.summary).toEqual({ copied: 2, skipped: 0, refused: 0, failed: 0 });
    expect(report.results[0]!.signaturesCarried).toBe(2); // legacy .sig + bundle referrer
    expect(report.results[1]!.signaturesCarried).toBe(0);
    const path = (u: string) => new URL(u).pathname;
    const upReqs = upstream.requests.slice(fromUp).map((r) => `${r.method} ${path(r.url)}`);
    const inReqs = internal.requests.slice(fromIn).map((r) => `${r.method} ${path(r.url)}`);
    // One listing per side: only the signature tag that exists is looked up (for its
    // digest); absent .att/.sbom tags and absent target tags cost no request.
    expect(upReqs.filter((r) => r === 'GET /v2/charts/listed/tags/list')).toHaveLength(1);
    expect(upReqs.filter((r) => /\.(sig|att|sbom)$/.test(r))).toEqual([
      `HEAD /v2/charts/listed/manifests/${digests['listed-1.0.0']!.replace(':', '-')}.sig`,
    ]);
    expect(inReqs.filter((r) => r === 'GET /v2/charts/vendor/listed/tags/list')).toHaveLength(1);
    expect(inReqs.filter((r) => /^HEAD .*manifests\/1\.[01]\.0$/.test(r))).toEqual([]);
    // 1.1.0 has nothing travelling with it: manifest and tag in one PUT.
    const manifestPuts = inReqs.filter((r) => r.startsWith('PUT /v2/charts/vendor/listed/manifests/'));
    const d110 = digests['listed-1.1.0']!;
    expect(manifestPuts.filter((r) => r.endsWith('/1.1.0') || r.endsWith(d110))).toEqual([
      'PUT /v2/charts/vendor/listed/manifests/1.1.0',
    ]);
    // 1.0.0 has signatures: root by digest, then the signatures, then the tag, last.
    const d100 = digests['listed-1.0.0']!;
    const i = (suffix: string) => manifestPuts.findIndex((r) => r.endsWith(suffix));
    expect(i(d100)).toBeGreaterThanOrEqual(0);
    expect(i('.sig')).toBeGreaterThan(i(d100));
    expect(i('/1.0.0')).toBeGreaterThan(i('.sig'));
    // The carried signature verifies at the target with the upstream key.
    const verified = await verifyChart(client, `${inn.host}/charts/vendor/listed:1.0.0`, {
      policy: { keys: [upstreamKeys.publicKeyPem], tlog: 'skip' },
    });
    expect(verified.pinned).toBe(`${inn.host}/charts/vendor/listed@${d100}`);
  });

  it('a bare 404 from a tag listing is not taken for "no tags": the target is probed, nothing overwritten', async () => {
    await publish('guarded', '1.0.0', {}, false);
    await publish('guarded', '1.1.0', {}, false);
    const s = parseMirrorSpec({
      target: { registry: inn.host, prefix: 'charts/vendor', plainHttp: true },
      charts: [{ name: 'guarded', source: `oci://${up.host}/charts/guarded`, versions: ['1.0.0', '1.1.0'] }],
    });
    // Something else already sits under 1.0.0 at the target.
    const other = await pushChart(
      client,
      await makeChartArchive('guarded', '1.0.0', { 'templates/other.yaml': 'kind: ConfigMap\n' }),
      meta('guarded', '1.0.0'),
      `oci://${inn.host}/charts/vendor`,
    );
    // A registry without the listing endpoint: 404 with no NAME_UNKNOWN code.
    internal.failNext({ status: 404, body: '404 page not found', path: /\/tags\/list/, times: 5 });
    const report = await applyMirror(s, { client });
    internal.clearFaults();
    expect(report.results.map((r) => [r.version, r.status])).toEqual([
      ['1.0.0', 'refused'],
      ['1.1.0', 'copied'],
    ]);
    expect(report.results[0]!.reason).toMatch(/not overwritten/);
    expect((await client.repository(`${inn.host}/charts/vendor/guarded`).resolve('1.0.0')).digest).toBe(
      other.digest,
    );
  });

  it('refuses to overwrite when upstream re-publishes a version (drift) and never tags unsigned content', async () => {
    await publish('drifty', '1.0.0');
    const s = spec([
      { name: 'drifty', source: `oci://${up.host}/charts/drifty`, versions: ['1.0.0'], verify: verifyUp() },
    ]);
    expect((await applyMirror(s, { client, env })).summary.copied).toBe(1);
    await publish('drifty', '1.0.0', { 'templates/new.yaml': 'kind: ConfigMap\n' });
    const plan = await planMirror(s, { client });
    expect(plan[0]).toMatchObject({ action: 'refuse' });
    expect(plan[0]!.reason).toMatch(
      /the target tag names sha256:[0-9a-f]{64}, the source sha256:[0-9a-f]{64}: not overwritten/,
    );
  });

  it('a signing failure leaves no tag; the next run completes', async () => {
    await publish('halfway', '2.0.0');
    const s = spec([
      { name: 'halfway', source: `oci://${up.host}/charts/halfway`, versions: ['2.0.0'], verify: verifyUp() },
    ]);
    const failing = {
      sign: async () => {
        throw new Error('HSM unavailable');
      },
      publicKeyPem: async () => internalKeys.publicKeyPem,
    };
    const broken = await applyMirror(s, { client, env, signer: failing });
    expect(broken.summary.failed).toBe(1);
    expect(broken.results[0]!.reason).toMatch(/HSM unavailable/);
    await expect(client.repository(`${inn.host}/charts/vendor/halfway`).resolve('2.0.0')).rejects.toThrow();
    const fixed = await applyMirror(s, { client, env });
    expect(fixed.summary).toEqual({ copied: 1, skipped: 0, refused: 0, failed: 0 });
    expect(fixed.results[0]!.digest).toBe(digests['halfway-2.0.0']);
  });

  it('CLI: mirror plan and apply with a YAML spec, JSON report, summary line and exit codes', async () => {
    await publish('cli-chart', '3.0.0');
    const file = join(dir, 'mirror.yaml');
    writeFileSync(
      file,
      [
        `target: { registry: "${inn.host}", prefix: cli, plainHttp: true }`,
        'sign: { key: internal.key, format: bundle }',
        'scan: { block: high }',
        'charts:',
        '  - name: cli-chart',
        `    source: oci://${up.host}/charts/cli-chart`,
        '    versions: ["3.0.0"]',
        '    verify: { key: upstream.pub, insecureIgnoreTlog: true, required: true }',
        '    plainHttp: true',
        '  - name: risky',
        `    source: oci://${up.host}/charts/risky`,
        '    versions: ["0.1.0"]',
        '    plainHttp: true',
        '',
      ].join('\n'),
    );
    const planIo = captureIo('', { HOME: dir });
    expect(await run(['mirror', 'plan', '--config', file], planIo.io)).toBe(1);
    expect(planIo.out()).toContain('copy   cli-chart-3.0.0');
    expect(planIo.out()).toContain('REFUSE risky-0.1.0');
    expect(planIo.out()).toMatch(/Plan: 1 to copy, 0 to skip, 1 refused, 0 failed\n$/);

    const report = join(dir, 'report.json');
    const applyIo = captureIo('', { HOME: dir, COSIGN_PASSWORD: 'in' });
    expect(
      await run(['mirror', 'apply', '--config', file, '--report', report, '--concurrency', '2'], applyIo.io),
    ).toBe(1);
    expect(applyIo.out()).toMatch(/Mirrored: 1 copied, 0 skipped, 1 refused, 0 failed\n$/);
    const json = JSON.parse(readFileSync(report, 'utf8'));
    expect(json.summary).toEqual({ copied: 1, skipped: 0, refused: 1, failed: 0 });
    expect(json.results[0]).toMatchObject({
      name: 'cli-chart',
      status: 'copied',
      digest: digests['cli-chart-3.0.0'],
    });
    expect(json.results[1].findings.length).toBeGreaterThan(0);

    // Without the internal key's password nothing is copied.
    const noPw = captureIo('', { HOME: dir });
    expect(await run(['mirror', 'apply', '--config', file], noPw.io)).toBe(2);
    expect(noPw.err()).toMatch(/COSIGN_PASSWORD/);
  });
});
