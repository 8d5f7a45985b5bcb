import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYamlText } from 'yaml';
import { pullChart, pushChart } from '../../src/chart/oci.js';
import { run } from '../../src/cli/main.js';
import { applyMirror, type MirrorReport, type MirrorResult } from '../../src/mirror/apply.js';
import { detectDrift } from '../../src/mirror/drift.js';
import { type MirrorEvent, planMirror } from '../../src/mirror/plan.js';
import { loadMirrorSpec, type MirrorSpec, mirrorHostSettings } from '../../src/mirror/spec.js';
import { type Descriptor, RegistryClient, staticCredentials } from '../../src/oci/index.js';
import type { FetchLike } from '../../src/oci/transport/fetch.js';
import { generateKeyPair, keyFileSigner } from '../../src/keys/keys.js';
import { signLegacy } from '../../src/sign/legacy.js';
import { signBundle } from '../../src/sign/referrer.js';
import type { Signer } from '../../src/keys/signer.js';
import { verifyChart } from '../../src/verify/chart.js';
import { ChartRepoServer, makeChartArchive } from '../helpers/chart-repo.js';
import { captureIo } from '../helpers/cli-io.js';
import { type StartedRegistry, startDockerRegistry } from '../helpers/docker-registry.js';
import { requireTool } from '../helpers/services.js';

const missing = requireTool('docker-registry', 'htpasswd', 'openssl');

type Sig = 'legacy' | 'bundle' | 'both' | 'none';

/** The upstream OCI charts: 24 versions over 8 charts, with every signature mix. */
const OCI_CHARTS: Array<{ name: string; versions: string[]; sig: Sig; risky?: boolean }> = [
  { name: 'alpha', versions: ['1.0.0', '1.1.0', '1.2.0', '1.3.0'], sig: 'legacy' },
  { name: 'bravo', versions: ['2.0.0', '2.1.0', '2.2.0', '2.3.0'], sig: 'bundle' },
  { name: 'charlie', versions: ['3.0.0', '3.1.0', '3.2.0', '3.3.0'], sig: 'both' },
  // Unsigned upstream; the spec says verification is optional for it.
  { name: 'delta', versions: ['0.1.0', '0.2.0', '0.3.0'], sig: 'none' },
  { name: 'echo', versions: ['1.0.0', '1.0.1', '1.0.2', '1.0.3+build.7'], sig: 'both' },
  { name: 'foxtrot', versions: ['5.0.0', '5.1.0', '5.2.0'], sig: 'legacy' },
  { name: 'golf', versions: ['0.9.0'], sig: 'bundle' },
  // Signed, but binds cluster-admin: a `critical` finding, blocked by `scan.block: high`.
  { name: 'risky', versions: ['0.1.0'], sig: 'both', risky: true },
];
/** The classic repository: 6 versions over 2 charts. */
const REPO_CHARTS: Array<{ name: string; versions: string[] }> = [
  { name: 'redis', versions: ['17.3.0', '17.3.1', '17.3.2'] },
  { name: 'nginx', versions: ['15.0.0', '15.1.0', '15.2.0'] },
];
/** Requested in the spec but never published upstream. */
const MISSING = { name: 'alpha', version: '9.9.9' };
const PUBLISHED = [...OCI_CHARTS, ...REPO_CHARTS].reduce((n, c) => n + c.versions.length, 0);
const PREFIX = 'charts/vendor';
const CRASH_PREFIX = 'charts/crash';
const RISKY_TEMPLATE =
  'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: everything\n' +
  'roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cluster-admin\n';

const tagOf = (version: string) => version.replaceAll('+', '_');
const isManifest = (d: Descriptor) => /manifest|index/.test(d.mediaType) && !/config/.test(d.mediaType);

/**
 * Two real registries (CNCF distribution 2.8: a plain-HTTP "upstream" and a TLS +
 * htpasswd "internal", neither with the referrers API) and a classic repository on
 * loopback. The main run goes through the CLI (`login`, `mirror apply --report`);
 * assertions use the library.
 */
describe.skipIf(missing !== undefined)(
  'mirror between two docker-registry instances',
  { timeout: 120_000 },
  () => {
    let upstream: StartedRegistry;
    let internal: StartedRegistry;
    let repo: ChartRepoServer;
    let client: RegistryClient;
    let work: string;
    let upKeys: { privateKeyPem: string; publicKeyPem: string };
    let inKeys: { privateKeyPem: string; publicKeyPem: string };
    let upSigner: Signer;
    let registryConfig: string;
    let specFile: string;
    let firstReport: MirrorReport;
    /** `name-version` → the upstream manifest digest (OCI) or the archive bytes (classic). */
    const upstreamDigest = new Map<string, string>();
    const upstreamArchive = new Map<string, Uint8Array>();

    async function publishOci(name: string, version: string, sig: Sig, extra: Record<string, string> = {}) {
      const archive = await makeChartArchive(name, version, extra);
      const pushed = await pushChart(
        client,
        archive,
        { apiVersion: 'v2', name, version },
        `oci://${upstream.host}/upstream`,
      );
      const r = client.repository(`${upstream.host}/upstream/${name}`);
      const subject = await r.resolve(tagOf(version));
      expect(subject.digest).toBe(pushed.digest);
      if (sig === 'legacy' || sig === 'both') await signLegacy(r, subject, upSigner);
      if (sig === 'bundle' || sig === 'both') await signBundle(r, subject, upSigner);
      upstreamDigest.set(`${name}-${version}`, pushed.digest);
    }

    function specObject(prefix: string) {
      const verify = (required: boolean) => ({
        key: join(work, 'upstream.pub'),
        insecureIgnoreTlog: true,
        required,
      });
      return {
        target: { registry: internal.host, prefix, caFile: internal.caFile! },
        sign: { key: join(work, 'internal.key'), format: 'both' },
        scan: { block: 'high', warn: 'medium' },
        concurrency: 4,
        charts: [
          ...OCI_CHARTS.map((c) => ({
            name: c.name,
            source: `oci://${upstream.host}/upstream/${c.name}`,
            plainHttp: true,
            versions: c.name === MISSING.name ? [...c.versions, MISSING.version] : c.versions,
            verify: verify(c.sig !== 'none'),
          })),
          ...REPO_CHARTS.map((c) => ({ name: c.name, repo: repo.url, versions: c.versions })),
        ],
      };
    }

    /** Every tag of the given repositories resolves, and every blob and child it names exists. */
    async function danglingContent(repositories: string[]): Promise<{ tags: number; problems: string[] }> {
      const problems: string[] = [];
      let tags = 0;
      for (const name of repositories) {
        const r = client.repository(name);
        let list: string[];
        try {
          list = await r.tags();
        } catch (e) {
          if (/NAME_UNKNOWN|404|not found/i.test(`${(e as { code?: string }).code} ${(e as Error).message}`))
            continue;
          throw e;
        }
        for (const tag of list) {
          tags++;
          const walk = async (ref: string, depth: number): Promise<void> => {
            const { manifest } = await r.fetchManifest(ref);
            const children = (manifest.manifests as Descriptor[] | undefined) ?? [];
            const blobs = [
              ...(manifest.config ? [manifest.config as Descriptor] : []),
              ...((manifest.layers as Descriptor[] | undefined) ?? []),
            ];
            for (const b of blobs)
              if (!(await r.exists({ ...b, mediaType: 'application/octet-stream' })))
                problems.push(`${name}:${tag} (${ref}) names missing blob ${b.digest}`);
            for (const c of children) {
              if (!(await r.exists(c))) problems.push(`${name}:${tag} names missing manifest ${c.digest}`);
              else if (depth < 4 && isManifest(c)) await walk(c.digest, depth + 1);
            }
          };
          try {
            await walk(tag, 0);
          } catch (e) {
            problems.push(`${name}:${tag}: ${(e as Error).message}`);
          }
        }
      }
      return { tags, problems };
    }

    const targetRepos = (prefix: string) =>
      [...OCI_CHARTS, ...REPO_CHARTS].map((c) => `${internal.host}/${prefix}/${c.name}`);
    const upPolicy = () => ({ keys: [upKeys.publicKeyPem], tlog: 'skip' as const });
    const inPolicy = () => ({ keys: [inKeys.publicKeyPem], tlog: 'skip' as const });

    beforeAll(async () => {
      [upstream, internal, repo] = await Promise.all([
        startDockerRegistry('plain'),
        startDockerRegistry('tls-basic'),
        new ChartRepoServer().start(),
      ]);
      work = mkdtempSync(join(tmpdir(), 'cp-mirror-int-'));
      [upKeys, inKeys] = await Promise.all([
        generateKeyPair({ password: 'up' }),
        generateKeyPair({ password: 'in' }),
      ]);
      writeFileSync(join(work, 'upstream.pub'), upKeys.publicKeyPem);
      writeFileSync(join(work, 'internal.key'), inKeys.privateKeyPem);
      upSigner = await keyFileSigner(upKeys.privateKeyPem, 'up');
      client = new RegistryClient({
        hosts: { [upstream.host]: { plainHttp: true }, [internal.host]: { ca: internal.caPem! } },
        credentials: staticCredentials({
          [internal.host]: { username: internal.username!, password: internal.password! },
        }),
        retry: { baseDelayMs: 10 },
      });
      for (const c of OCI_CHARTS)
        for (const v of c.versions)
          await publishOci(c.name, v, c.sig, c.risky ? { 'templates/crb.yaml': RISKY_TEMPLATE } : {});
      for (const c of REPO_CHARTS)
        for (const v of c.versions) {
          const archive = await makeChartArchive(c.name, v, {
            'templates/cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${c.name}\n`,
          });
          repo.publish(c.name, v, archive);
          upstreamArchive.set(`${c.name}-${v}`, archive);
        }
      expect(upstreamDigest.size + upstreamArchive.size).toBe(30);
      registryConfig = join(work, 'registry-config.json');
      specFile = join(work, 'mirror.yaml');
      writeFileSync(specFile, toYamlText(specObject(PREFIX)));
    }, 120_000);

    afterAll(async () => {
      await client?.close();
      await Promise.all([upstream?.stop(), internal?.stop(), repo?.close()]);
      if (work) rmSync(work, { recursive: true, force: true });
    });

    it(`CLI: login, then mirror apply ${PUBLISHED} chart versions (+1 missing) with a JSON report`, async () => {
      expect(PUBLISHED).toBe(30);
      const login = captureIo(`${internal.password}\n`, { HOME: work });
      expect(
        await run(
          [
            '--ca-file',
            internal.caFile!,
            '--registry-config',
            registryConfig,
            'login',
            internal.host,
            '-u',
            internal.username!,
            '--password-stdin',
          ],
          login.io,
        ),
      ).toBe(0);
      expect(login.out()).toBe('Login Succeeded\n');

      const reportFile = join(work, 'report.json');
      const cli = captureIo('', { HOME: work, COSIGN_PASSWORD: 'in' });
      const code = await run(
        [
          '--registry-config',
          registryConfig,
          'mirror',
          'apply',
          '--config',
          specFile,
          '--report',
          reportFile,
        ],
        cli.io,
      );
      // Something failed (the missing version): exit 3, even though something was also refused.
      expect(code, cli.err()).toBe(3);
      expect(cli.out()).toMatch(/Mirrored: 29 copied, 0 skipped, 1 refused, 1 failed\n$/);
      expect(existsSync(reportFile)).toBe(true);
      firstReport = JSON.parse(readFileSync(reportFile, 'utf8')) as MirrorReport;
      expect(firstReport.summary).toEqual({ copied: 29, skipped: 0, refused: 1, failed: 1 });
      expect(firstReport.results).toHaveLength(31);

      // The missing version is reported, and only it failed.
      const failed = firstReport.results.filter((r) => r.status === 'failed');
      expect(failed.map((r) => [r.name, r.requested])).toEqual([[MISSING.name, MISSING.version]]);
      expect(failed[0]!.reason).toMatch(/not found at the source/);

      // The risky chart is refused by the scanner and absent from the target.
      const refused = firstReport.results.filter((r) => r.status === 'refused');
      expect(refused.map((r) => `${r.name}-${r.version}`)).toEqual(['risky-0.1.0']);
      expect(refused[0]!.reason).toMatch(
        /^scanner: .*cluster-admin-binding \(critical\) in templates\/crb\.yaml/,
      );
      expect(refused[0]!.findings.some((f) => f.rule === 'cluster-admin-binding')).toBe(true);
      await expect(client.repository(`${internal.host}/${PREFIX}/risky`).resolve('0.1.0')).rejects.toThrow();
    });

    it('keeps OCI digests byte for byte and classic archives unchanged', async () => {
      const byId = new Map(firstReport.results.map((r) => [`${r.name}-${r.version}`, r]));
      for (const [id, digest] of upstreamDigest) {
        if (id.startsWith('risky-')) continue;
        const r = byId.get(id)!;
        expect(r, id).toMatchObject({ status: 'copied', digest });
        expect(r.pinned).toBe(`${r.target.slice(0, r.target.lastIndexOf(':'))}@${digest}`);
        const at = r.target.lastIndexOf(':');
        expect((await client.repository(r.target.slice(0, at)).resolve(r.target.slice(at + 1))).digest).toBe(
          digest,
        );
      }
      for (const [id, archive] of upstreamArchive) {
        const r = byId.get(id)!;
        expect(r.status, id).toBe('copied');
        const pulled = await pullChart(client, `oci://${r.target}`);
        expect(Buffer.from(pulled.archive).equals(Buffer.from(archive)), id).toBe(true);
      }
    });

    it('carried signatures verify with the upstream key, internal ones with the internal key', async () => {
      for (const c of OCI_CHARTS) {
        if (c.risky) continue;
        for (const v of c.versions) {
          const ref = `${internal.host}/${PREFIX}/${c.name}:${tagOf(v)}`;
          const digest = upstreamDigest.get(`${c.name}-${v}`)!;
          const r = firstReport.results.find((x) => x.name === c.name && x.version === v)!;
          const carriedFormats: Array<'legacy' | 'bundle'> =
            c.sig === 'both' ? ['legacy', 'bundle'] : c.sig === 'none' ? [] : [c.sig];
          expect(r.signaturesCarried, ref).toBeGreaterThanOrEqual(carriedFormats.length);
          for (const format of ['legacy', 'bundle'] as const) {
            // Upstream signatures: exactly the formats upstream had, nothing fabricated.
            const up = verifyChart(client, ref, { policy: upPolicy(), formats: [format] });
            if (carriedFormats.includes(format)) expect((await up).digest, `${ref} ${format}`).toBe(digest);
            else await expect(up, `${ref} ${format}`).rejects.toThrow();
            // Internal signatures: both formats on every mirrored chart.
            const own = await verifyChart(client, ref, { policy: inPolicy(), formats: [format] });
            expect(own.digest).toBe(digest);
          }
          expect(r.verification).toMatchObject(
            c.sig === 'none'
              ? { method: 'cosign', verified: false, required: false }
              : { method: 'cosign', verified: true, required: true },
          );
        }
      }
      for (const c of REPO_CHARTS)
        for (const v of c.versions) {
          const ref = `${internal.host}/${PREFIX}/${c.name}:${v}`;
          for (const format of ['legacy', 'bundle'] as const)
            expect((await verifyChart(client, ref, { policy: inPolicy(), formats: [format] })).verified).toBe(
              1,
            );
          await expect(verifyChart(client, ref, { policy: upPolicy() })).rejects.toThrow();
        }
    });

    it('a second run copies nothing and writes nothing to the internal registry', async () => {
      const spec = await loadMirrorSpec(specFile);
      const writes: string[] = [];
      const agent = new Agent({ connect: { ca: internal.caPem! } });
      const counting = (async (input: string | URL | Request, init?: RequestInit) => {
        const url = input instanceof Request ? input.url : String(input);
        const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
        if (method !== 'GET' && method !== 'HEAD' && url.includes(internal.host))
          writes.push(`${method} ${url}`);
        return undiciFetch(url, { ...(init as object), dispatcher: agent });
      }) as unknown as FetchLike;
      const counted = new RegistryClient({
        fetch: counting,
        hosts: mirrorHostSettings(spec),
        credentials: staticCredentials({
          [internal.host]: { username: internal.username!, password: internal.password! },
        }),
      });
      const tagsBefore = await Promise.all(
        targetRepos(PREFIX).map((n) =>
          client
            .repository(n)
            .tags()
            .catch(() => [] as string[]),
        ),
      );
      const steps: string[] = [];
      try {
        const again = await applyMirror(spec, {
          client: counted,
          env: { COSIGN_PASSWORD: 'in' },
          onEvent: (e) => steps.push(e.step),
        });
        expect(again.summary).toEqual({ copied: 0, skipped: 29, refused: 1, failed: 1 });
        for (const r of again.results.filter((x) => x.status === 'skipped')) {
          const first = firstReport.results.find((x) => x.name === r.name && x.version === r.version)!;
          expect(r.digest).toBe(first.digest);
          expect(r.pinned).toBe(first.pinned);
        }
      } finally {
        await counted.close();
        await agent.close();
      }
      expect(writes).toEqual([]);
      expect(steps.filter((s) => s === 'copied' || s === 'signed' || s === 'tagged')).toEqual([]);
      const tagsAfter = await Promise.all(
        targetRepos(PREFIX).map((n) =>
          client
            .repository(n)
            .tags()
            .catch(() => [] as string[]),
        ),
      );
      expect(tagsAfter).toEqual(tagsBefore);
    });

    it('a run killed halfway leaves no tag naming missing content; the restart completes', async () => {
      const spec = (await loadMirrorSpec(specFile)) as MirrorSpec;
      spec.target.prefix = CRASH_PREFIX;
      const controller = new AbortController();
      let copied = 0;
      const events: MirrorEvent[] = [];
      const killed = applyMirror(spec, {
        client,
        env: { COSIGN_PASSWORD: 'in' },
        signal: controller.signal,
        onEvent: (e) => {
          events.push(e);
          // Abort right after the 8th copy: that chart is copied but neither signed nor tagged.
          if (e.step === 'copied' && ++copied === 8) controller.abort(new Error('killed'));
        },
      });
      await expect(killed).rejects.toThrow('killed');
      // Let the aborted workers' in-flight requests settle before looking.
      await new Promise((r) => setTimeout(r, 1000));
      const tagged = events.filter((e) => e.step === 'tagged').length;
      expect(copied).toBeGreaterThanOrEqual(8);
      expect(tagged).toBeLessThan(copied);

      const after = await danglingContent(targetRepos(CRASH_PREFIX));
      expect(after.problems).toEqual([]);
      // Every chart tag that exists names a signed chart (the tag is written last).
      let chartTags = 0;
      for (const name of targetRepos(CRASH_PREFIX)) {
        const tags = await client
          .repository(name)
          .tags()
          .catch(() => [] as string[]);
        for (const t of tags.filter((x) => !x.startsWith('sha256-'))) {
          chartTags++;
          expect((await verifyChart(client, `${name}:${t}`, { policy: inPolicy() })).verified).toBe(1);
        }
      }
      expect(chartTags).toBeLessThan(29);

      const restarted = await applyMirror(spec, { client, env: { COSIGN_PASSWORD: 'in' } });
      expect(restarted.summary).toMatchObject({ refused: 1, failed: 1 });
      expect(restarted.summary.copied + restarted.summary.skipped).toBe(29);
      expect(restarted.summary.skipped).toBe(chartTags);
      const key = (r: MirrorResult) => `${r.name}-${r.requested}`;
      const first = new Map(firstReport.results.map((r) => [key(r), r]));
      for (const r of restarted.results.filter((x) => x.status === 'copied' || x.status === 'skipped')) {
        // Same content as the main run (OCI digests are upstream's; classic manifests are reproducible).
        expect(r.digest, key(r)).toBe(first.get(key(r))!.digest);
        expect(
          (await verifyChart(client, r.pinned!, { policy: inPolicy() })).verified,
          key(r),
        ).toBeGreaterThanOrEqual(1);
      }
      const final = await danglingContent(targetRepos(CRASH_PREFIX));
      expect(final.problems).toEqual([]);
      expect(final.tags).toBeGreaterThan(29);
    });

    it('an upstream chart re-published under the same version is detected and not overwritten', async () => {
      const id = 'charlie-3.3.0';
      const before = upstreamDigest.get(id)!;
      await publishOci('charlie', '3.3.0', 'both', {
        'templates/new.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: surprise\n',
      });
      const after = upstreamDigest.get(id)!;
      expect(after).not.toBe(before);
      const spec = await loadMirrorSpec(specFile);
      const drift = await detectDrift(spec, { client });
      expect(drift.items.filter((i) => i.status === 'changed-upstream')).toEqual([
        expect.objectContaining({
          name: 'charlie',
          version: '3.3.0',
          target: `${internal.host}/${PREFIX}/charlie:3.3.0`,
          targetDigest: before,
          upstreamDigest: after,
        }),
      ]);
      // Everything else mirrored is unchanged; the refused chart was never mirrored.
      expect(drift.summary).toEqual({
        upToDate: PUBLISHED - 2,
        newerUpstream: 1,
        changedUpstream: 1,
        missingUpstream: 0,
        failed: 0,
      });
      expect(drift.items.find((i) => i.status === 'newer-upstream')).toMatchObject({
        name: 'risky',
        version: '0.1.0',
      });
      // And apply would not overwrite it: the plan refuses the version.
      const plan = await planMirror(spec, { client });
      const item = plan.find((p) => p.name === 'charlie' && p.version === '3.3.0')!;
      expect(item).toMatchObject({ action: 'refuse', sourceDigest: after, targetDigest: before });
      expect(item.reason).toContain(`the target tag names ${before}, the source ${after}: not overwritten`);
      // Nothing else drifted.
      expect(plan.filter((p) => p.action === 'refuse').map((p) => `${p.name}-${p.version}`)).toEqual([
        'charlie-3.3.0',
        'risky-0.1.0',
      ]);
      // The target still names the original content.
      expect((await client.repository(`${internal.host}/${PREFIX}/charlie`).resolve('3.3.0')).digest).toBe(
        before,
      );
    });

    it('air gap through one tar file: export from upstream, import into the TLS + basic-auth registry', async () => {
      const prefix = 'charts/air';
      const airSpec = join(work, 'air.yaml');
      writeFileSync(airSpec, toYamlText(specObject(prefix)));
      const tarFile = join(work, 'media', 'charts.tar');
      const ex = captureIo('', { HOME: work });
      const exCode = await run(
        ['--registry-config', registryConfig, 'mirror', 'export', '--config', airSpec, '--to', tarFile],
        ex.io,
      );
      // As for apply: the missing version fails (exit 3), the risky chart is refused.
      expect(exCode, ex.err()).toBe(3);
      expect(ex.out()).toMatch(/Mirrored: 29 copied, 0 skipped, 1 refused, 1 failed\n$/);
      expect(existsSync(tarFile)).toBe(true);

      const reportFile = join(work, 'air-report.json');
      const im = captureIo('', { HOME: work, COSIGN_PASSWORD: 'in' });
      const imCode = await run(
        [
          '--registry-config',
          registryConfig,
          'mirror',
          'import',
          '--from',
          tarFile,
          '--config',
          airSpec,
          '--report',
          reportFile,
        ],
        im.io,
      );
      expect(imCode, im.err()).toBe(0);
      expect(im.out()).toMatch(/Mirrored: 29 copied, 0 skipped, 0 refused, 0 failed\n$/);
      const report = JSON.parse(readFileSync(reportFile, 'utf8')) as MirrorReport;
      for (const r of report.results) {
        const id = `${r.name}-${r.version}`;
        if (upstreamDigest.has(id)) expect(r.digest, id).toBe(upstreamDigest.get(id));
      }
      // Upstream signatures came along, the internal signature was added, nothing dangles.
      const ref = `${internal.host}/${prefix}/charlie:3.3.0`;
      expect((await verifyChart(client, ref, { policy: upPolicy() })).digest).toBe(
        upstreamDigest.get('charlie-3.3.0'),
      );
      expect((await verifyChart(client, ref, { policy: inPolicy() })).verified).toBeGreaterThanOrEqual(1);
      const { tags, problems } = await danglingContent(targetRepos(prefix));
      expect(problems).toEqual([]);
      expect(tags).toBeGreaterThanOrEqual(29);
    });

    it('allMatching mirrors every version a range selects (the registry lists tags bytewise)', async () => {
      const prefix = 'charts/all';
      const spec: MirrorSpec = {
        target: { registry: internal.host, prefix, caFile: internal.caFile! },
        charts: [
          {
            name: 'echo',
            source: `oci://${upstream.host}/upstream/echo`,
            plainHttp: true,
            versions: ['~1.0.1'],
            allMatching: true,
          },
        ],
      };
      const report = await applyMirror(spec, { client });
      expect(report.results.map((r) => [r.requested, r.version, r.status])).toEqual([
        ['~1.0.1', '1.0.1', 'copied'],
        ['~1.0.1', '1.0.2', 'copied'],
        ['~1.0.1', '1.0.3+build.7', 'copied'],
      ]);
      for (const r of report.results) expect(r.digest).toBe(upstreamDigest.get(`echo-${r.version}`));
      const tags = await client.repository(`${internal.host}/${prefix}/echo`).tags();
      expect(tags.filter((t) => !t.startsWith('sha256-')).sort()).toEqual([
        '1.0.1',
        '1.0.2',
        '1.0.3_build.7',
      ]);
    });
  },
);
