import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { pushChart } from '../../src/chart/oci.js';
import { AdmissionState, reviewAdmission, type ReviewAdmissionOptions } from '../../src/policy/admission.js';
import { parseTrustConfig, type TrustConfig } from '../../src/policy/trust.js';
import { generateKeyPair, keyFileSigner } from '../../src/keys/keys.js';
import { signLegacy } from '../../src/sign/legacy.js';
import { signBundle } from '../../src/sign/referrer.js';
import { makeChartArchive } from '../helpers/chart-repo.js';
import { memoryFixture, TEST_HOST } from '../helpers/registry.js';

const SHARED = join(process.cwd(), '..', 'shared', 'vectors');
const haveVectors =
  existsSync(join(SHARED, 'helm-release', 'README.md')) && existsSync(join(SHARED, 'admission', 'README.md'));
if (!haveVectors)
  console.warn(`admission vector tests skipped: ${SHARED}/helm-release or /admission not found`);

// biome-ignore lint/suspicious/noExplicitAny: release JSON built and tampered with in tests
type Json = Record<string, any>;

const CHART_FILES = {
  'values.yaml': 'replicas: 1\nimage:\n  repository: registry.test/app\n  tag: "1.0"\n',
  'templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n',
  'README.md': '# app\n',
};

/** The release JSON Helm would store for a chart with CHART_FILES. */
function releaseJson(name = 'app', version = '1.0.0', revision = 1): Json {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return {
    name: 'web',
    namespace: 'prod',
    version: revision,
    info: { status: 'deployed' },
    chart: {
      metadata: { name, version, apiVersion: 'v2' },
      values: { replicas: 1, image: { repository: 'registry.test/app', tag: '1.0' } },
      templates: [{ name: 'templates/cm.yaml', data: b64(CHART_FILES['templates/cm.yaml']) }],
      files: [{ name: 'README.md', data: b64(CHART_FILES['README.md']) }],
    },
    config: { replicas: 3 },
    manifest: '---\nkind: ConfigMap\n',
  };
}

function secretOf(release: Json, namespace = release.namespace): Json {
  const helm = gzipSync(Buffer.from(JSON.stringify(release))).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'helm.sh/release.v1',
    metadata: {
      name: `sh.helm.release.v1.${release.name}.v${release.version}`,
      namespace,
      labels: { owner: 'helm' },
    },
    data: { release: Buffer.from(helm).toString('base64') },
  };
}

function reviewOf(object: Json, extra: Json = {}): Json {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'a1b2c3',
      kind: { group: '', version: 'v1', kind: object.kind },
      resource: { group: '', version: 'v1', resource: object.kind === 'Pod' ? 'pods' : 'secrets' },
      namespace: object.metadata?.namespace ?? 'prod',
      operation: 'CREATE',
      object,
      oldObject: null,
      ...extra,
    },
  };
}

// Key generation (scrypt) dominates these tests: one trusted and one untrusted key per file.
let keyPairs:
  | Promise<[Awaited<ReturnType<typeof generateKeyPair>>, Awaited<ReturnType<typeof generateKeyPair>>]>
  | undefined;
const testKeys = () => {
  keyPairs ??= Promise.all([generateKeyPair({ password: '' }), generateKeyPair({ password: '' })]);
  return keyPairs;
};

/**
 * Chart app 1.0.0 pushed to the fixture's `charts/app` (not signed), a key, and review
 * options trusting it; the client's traffic can be counted, cut (`setDown`) or stalled
 * (`setHang`).
 */
async function admissionScenario(trustExtra: Json = {}, files: Record<string, string> = CHART_FILES) {
  let requests = 0;
  let down = false;
  let hang = false;
  const { client, app: repo } = memoryFixture({
    wrapFetch: (fetch) => async (input, init) => {
      requests++;
      if (down) throw new TypeError('fetch failed');
      if (hang)
        await new Promise((_, reject) =>
          init?.signal?.addEventListener('abort', () => reject(init.signal!.reason)),
        );
      return fetch(input, init);
    },
  });
  const archive = await makeChartArchive('app', '1.0.0', files);
  await pushChart(
    client,
    archive,
    { name: 'app', version: '1.0.0', apiVersion: 'v2' },
    `oci://${TEST_HOST}/charts`,
  );
  const subject = await repo.resolve('1.0.0');
  const [keys] = await testKeys();
  const signer = await keyFileSigner(keys.privateKeyPem, '');
  const trust: TrustConfig = parseTrustConfig({
    registries: ['registry.test'],
    verify: { keys: [keys.publicKeyPem], tlog: 'skip' },
    excludeNamespaces: ['kube-*'],
    validationFailureAction: 'Enforce',
    charts: { reference: 'oci://registry.test/charts/{name}:{version}' },
    ...trustExtra,
  });
  const state = new AdmissionState();
  const options: ReviewAdmissionOptions = { trust, client, state };
  return {
    client,
    repo,
    subject,
    signer,
    options,
    state,
    requests: () => requests,
    setDown: (v: boolean) => {
      down = v;
    },
    setHang: (v: boolean) => {
      hang = v;
    },
  };
}

describe('reviewAdmission: Helm release Secrets', () => {
  it('allows a release whose chart matches the signed chart; caches the verification by digest', async () => {
    const s = await admissionScenario();
    await signLegacy(s.repo, s.subject, s.signer);
    const out = await reviewAdmission(reviewOf(secretOf(releaseJson())), s.options);
    expect(out).toMatchObject({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'a1b2c3', allowed: true },
    });
    expect(out.response.auditAnnotations?.['chartproof.dev/chart']).toBe(
      `registry.test/charts/app@${s.subject.digest}`,
    );
    const before = s.requests();
    const again = await reviewAdmission(reviewOf(secretOf(releaseJson())), s.options);
    expect(again.response.allowed).toBe(true);
    expect(s.requests() - before).toBe(1); // only the tag resolution
    expect(s.state.counters).toEqual({ allowed: 2, denied: 0, errors: 0 });
  });

  it('denies an unsigned chart, a missing chart and a chart signed by another key', async () => {
    const s = await admissionScenario();
    const unsigned = await reviewAdmission(reviewOf(secretOf(releaseJson())), s.options);
    expect(unsigned.response).toMatchObject({ allowed: false, status: { code: 403 } });
    expect(unsigned.response.status?.message).toMatch(
      /^chartproof: chart oci:\/\/registry\.test\/charts\/app:1\.0\.0 .* is not signed by a trusted key or identity: no signatures found/,
    );
    const missing = await reviewAdmission(reviewOf(secretOf(releaseJson('other', '2.0.0'))), s.options);
    expect(missing.response.status?.message).toBe(
      'chartproof: chart oci://registry.test/charts/other:2.0.0 is not in the internal registry',
    );
    const other = await keyFileSigner((await testKeys())[1].privateKeyPem, '');
    await signBundle(s.repo, s.subject, other);
    const wrongKey = await reviewAdmission(reviewOf(secretOf(releaseJson())), s.options);
    expect(wrongKey.response.allowed).toBe(false);
    expect(wrongKey.response.status?.message).toMatch(/not signed by a trusted key/);
    expect(s.state.counters.denied).toBe(3);
  });

  it('denies a release whose chart content differs, naming what differs', async () => {
    const s = await admissionScenario();
    await signBundle(s.repo, s.subject, s.signer);
    const tampered = releaseJson();
    tampered.chart.templates[0].data = Buffer.from('kind: ClusterRoleBinding\n').toString('base64');
    tampered.chart.values.image.repository = 'evil.example/app';
    tampered.chart.files.push({ name: 'extra.txt', data: '' });
    tampered.chart.metadata.appVersion = '9.9';
    const out = await reviewAdmission(reviewOf(secretOf(tampered)), s.options);
    expect(out.response.allowed).toBe(false);
    const msg = out.response.status!.message;
    expect(msg).toMatch(
      /^chartproof: release prod\/web v1 \(chart app 1\.0\.0\) does not match the signed chart registry\.test\/charts\/app@sha256:/,
    );
    expect(msg).toContain('Chart.yaml appVersion differs from the signed chart');
    expect(msg).toContain('values.yaml differs from the signed chart at .image.repository');
    expect(msg).toContain('template templates/cm.yaml differs from the signed chart');
    expect(msg).toContain('file extra.txt is not in the signed chart');
    // values are compared strictly: an added `false` is a difference
    const added = releaseJson();
    added.chart.values.debug = false;
    const addedOut = await reviewAdmission(reviewOf(secretOf(added)), s.options);
    expect(addedOut.response.status?.message).toContain(
      'values.yaml differs from the signed chart at .debug',
    );
    // user values (config) are not the chart's: they may differ freely
    const configured = releaseJson();
    configured.config = { anything: true };
    expect((await reviewAdmission(reviewOf(secretOf(configured)), s.options)).response.allowed).toBe(true);
  });

  it('tlog require without a trusted root never passes', async () => {
    const s = await admissionScenario();
    await signBundle(s.repo, s.subject, s.signer);
    await signLegacy(s.repo, s.subject, s.signer);
    const strict = {
      ...s.options,
      trust: { ...s.options.trust, verify: { ...s.options.trust.verify, tlog: 'require' as const } },
    };
    const out = await reviewAdmission(reviewOf(secretOf(releaseJson())), strict);
    expect(out.response).toMatchObject({ allowed: false, status: { code: 500 } });
    expect(out.response.status?.message).toMatch(/^chartproof: could not verify: a trusted root is required/);
  });

  it('Audit mode allows with a warning; malformed release Secrets are denied', async () => {
    const s = await admissionScenario({ validationFailureAction: 'Audit' });
    const out = await reviewAdmission(reviewOf(secretOf(releaseJson())), s.options);
    expect(out.response.allowed).toBe(true);
    expect(out.response.warnings?.[0]).toMatch(/^audit: chartproof: chart .* is not signed/);
    const hostile = releaseJson(
      'app',
      '1.0.0@sha256:0000000000000000000000000000000000000000000000000000000000000000',
    );
    const steer = await reviewAdmission(reviewOf(secretOf(hostile)), (await admissionScenario()).options);
    expect(steer.response.status?.message).toMatch(/chart version ".*" is not a valid chart version/);
    const enforce = await admissionScenario();
    const bad = secretOf(releaseJson());
    bad.data.release = 'not base64!';
    const denied = await reviewAdmission(reviewOf(bad), enforce.options);
    expect(denied.response.status?.message).toMatch(/not a valid Helm release Secret: .*not valid base64/);
  });

  it('registry failures follow the failure policy; the deadline holds', async () => {
    const s = await admissionScenario();
    s.setDown(true);
    const fail = await reviewAdmission(reviewOf(secretOf(releaseJson())), s.options);
    expect(fail.response).toMatchObject({ allowed: false, status: { code: 500 } });
    expect(fail.response.status?.message).toMatch(/^chartproof: could not verify: /);
    const ignore = await reviewAdmission(reviewOf(secretOf(releaseJson())), {
      ...s.options,
      failurePolicy: 'Ignore',
    });
    expect(ignore.response.allowed).toBe(true);
    expect(ignore.response.warnings?.[0]).toMatch(/could not verify: .*\(failurePolicy Ignore\)/);
    expect(s.state.counters).toEqual({ allowed: 0, denied: 0, errors: 2 });
    s.setDown(false);
    s.setHang(true);
    const started = Date.now();
    const slow = await reviewAdmission(reviewOf(secretOf(releaseJson())), { ...s.options, deadlineMs: 200 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(slow.response.status?.message).toMatch(/took longer than 200 ms/);
  });

  it('skips what it does not check: DELETE, excluded namespaces, other kinds, unchanged updates', async () => {
    const s = await admissionScenario();
    const secret = secretOf(releaseJson());
    expect(
      (await reviewAdmission(reviewOf(secret, { operation: 'DELETE' }), s.options)).response.allowed,
    ).toBe(true);
    expect(
      (
        await reviewAdmission(
          reviewOf(secretOf(releaseJson(), 'kube-system'), { namespace: 'kube-system' }),
          { ...s.options },
        )
      ).response.allowed,
    ).toBe(true);
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } };
    expect((await reviewAdmission(reviewOf(cm), s.options)).response.allowed).toBe(true);
    // Helm marking revision 1 superseded: content unchanged, no registry access.
    const superseded = releaseJson();
    superseded.info.status = 'superseded';
    const before = s.requests();
    const upd = await reviewAdmission(
      reviewOf(secretOf(superseded), { operation: 'UPDATE', oldObject: secret }),
      s.options,
    );
    expect(upd.response.allowed).toBe(true);
    expect(s.requests()).toBe(before);
    // …but changed content on UPDATE is checked (and denied: unsigned).
    const changed = releaseJson();
    changed.chart.templates[0].data = '';
    const upd2 = await reviewAdmission(
      reviewOf(secretOf(changed), { operation: 'UPDATE', oldObject: secret }),
      s.options,
    );
    expect(upd2.response.allowed).toBe(false);
    await expect(reviewAdmission({ kind: 'AdmissionReview' }, s.options)).rejects.toThrow(
      /not an admission\.k8s\.io\/v1 AdmissionReview/,
    );
    await expect(
      reviewAdmission({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {} }, s.options),
    ).rejects.toThrow(/no request\.uid/);
  });
});

describe('reviewAdmission: Pods', () => {
  const pod = (images: string[]) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'prod' },
    spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) },
  });

  it('images must come from the allowed registries; signatures are verified on request', async () => {
    const s = await admissionScenario();
    expect(
      (await reviewAdmission(reviewOf(pod(['registry.test/charts/app:1.0.0'])), s.options)).response.allowed,
    ).toBe(true);
    const out = await reviewAdmission(
      reviewOf(pod(['registry.test/ok:1', 'docker.io/library/nginx:1', 'nginx'])),
      s.options,
    );
    expect(out.response.status?.message).toBe(
      'chartproof: images must come from registry.test: "docker.io/library/nginx:1", "nginx" do not',
    );
    // registry.test.evil.example is not registry.test
    expect(
      (await reviewAdmission(reviewOf(pod(['registry.test.evil.example/x:1'])), s.options)).response.allowed,
    ).toBe(false);
    const verify = { ...s.options, verifyImages: true };
    const unsigned = await reviewAdmission(
      reviewOf(pod([`registry.test/charts/app@${s.subject.digest}`])),
      verify,
    );
    expect(unsigned.response.status?.message).toMatch(
      /image registry\.test\/charts\/app@sha256:.* is not signed by a trusted key/,
    );
    await signLegacy(s.repo, s.subject, s.signer);
    const signed = await reviewAdmission(
      reviewOf(pod([`registry.test/charts/app@${s.subject.digest}`])),
      verify,
    );
    expect(signed.response.allowed).toBe(true);
  });
});

describe.skipIf(!haveVectors)('reviewAdmission on the shared vectors', () => {
  it('the GKE Pod capture (kube-rs) and the kubewarden requests', async () => {
    const s = await admissionScenario();
    const gke = JSON.parse(
      readFileSync(join(SHARED, 'admission', 'kube-rs_gke-pod-create.AdmissionReview.json'), 'utf8'),
    );
    const out = await reviewAdmission(gke, s.options);
    expect(out.response).toMatchObject({ uid: gke.request.uid, allowed: false });
    expect(out.response.status?.message).toMatch(/"jmalloc\/echo-server" does not/);
    const allowAll = { ...s.options, trust: { ...s.options.trust, registries: ['ghcr.io/kubewarden'] } };
    const signed = JSON.parse(
      readFileSync(join(SHARED, 'admission', 'kubewarden_pod_creation_signed.json'), 'utf8'),
    );
    const ok = await reviewAdmission(
      { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: signed },
      allowAll,
    );
    expect(ok.response).toMatchObject({ uid: signed.uid, allowed: true });
    const deploy = JSON.parse(
      readFileSync(join(SHARED, 'admission', 'kubewarden_deployment_creation_unsigned.json'), 'utf8'),
    );
    const d = await reviewAdmission(
      { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: deploy },
      s.options,
    );
    expect(d.response.allowed).toBe(true); // Deployments are not checked (their Pods are)
    const all = JSON.parse(
      readFileSync(
        join(SHARED, 'admission', 'k8s-api-testdata_admission.k8s.io.v1.AdmissionReview.json'),
        'utf8',
      ),
    );
    expect((await reviewAdmission(all, s.options)).response).toMatchObject({
      uid: 'uidValue',
      allowed: true,
    });
  });

  it('the real Helm 3 nginx release matches a chart rebuilt from its content, signed in the registry', async () => {
    const secret = JSON.parse(
      readFileSync(join(SHARED, 'helm-release', 'sh.helm.release.v1.nginx.v1.secret.json'), 'utf8'),
    );
    const decoded = JSON.parse(
      readFileSync(join(SHARED, 'helm-release', 'sh.helm.release.v1.nginx.v1.decoded.json'), 'utf8'),
    );
    const files: Record<string, string> = {
      'Chart.yaml': JSON.stringify(decoded.chart.metadata),
      'values.yaml': JSON.stringify(decoded.chart.values),
      'Chart.lock': JSON.stringify(decoded.chart.lock),
      'values.schema.json': Buffer.from(decoded.chart.schema, 'base64').toString('utf8'),
      // Releases do not store subcharts; a stand-in satisfies packaging and is not compared.
      'charts/common/Chart.yaml': 'apiVersion: v2\nname: common\nversion: 1.10.1\ntype: library\n',
    };
    for (const f of [...decoded.chart.templates, ...decoded.chart.files])
      files[f.name] = Buffer.from(f.data, 'base64').toString('utf8');
    const { client, app: repo } = memoryFixture({ repository: 'charts/nginx' });
    const archive = await makeChartArchive('nginx', '9.5.13', files);
    await pushChart(client, archive, decoded.chart.metadata, `oci://${TEST_HOST}/charts`);
    const [keys] = await testKeys();
    await signLegacy(repo, await repo.resolve('9.5.13'), await keyFileSigner(keys.privateKeyPem, ''));
    const trust = parseTrustConfig({
      registries: ['registry.test'],
      verify: { keys: [keys.publicKeyPem], tlog: 'skip' },
      validationFailureAction: 'Enforce',
      charts: { reference: 'oci://registry.test/charts/{name}:{version}' },
    });
    const review = reviewOf(secret, { namespace: 'stefantest' });
    const out = await reviewAdmission(review, { trust, client });
    expect(out.response.status?.message).toBeUndefined();
    expect(out.response.allowed).toBe(true);
    // The same release with one template changed is denied.
    const tampered = structuredClone(decoded);
    tampered.chart.templates[3].data = Buffer.from('kind: Secret\n').toString('base64');
    const helm = gzipSync(Buffer.from(JSON.stringify(tampered))).toString('base64');
    const bad = { ...secret, data: { release: Buffer.from(helm).toString('base64') } };
    const denied = await reviewAdmission(reviewOf(bad, { namespace: 'stefantest' }), { trust, client });
    expect(denied.response.status?.message).toContain(
      `template ${decoded.chart.templates[3].name} differs from the signed chart`,
    );
  });
});

describe('AdmissionState', () => {
  it('caches for the TTL, evicts the oldest entry past the bound, and does not keep failures', async () => {
    let now = 0;
    const state = new AdmissionState({ ttlMs: 1000, maxEntries: 2, now: () => now });
    let calls = 0;
    const work = async () => ++calls;
    expect(await state.cached('a', work)).toBe(1);
    expect(await state.cached('a', work)).toBe(1);
    now = 1001;
    expect(await state.cached('a', work)).toBe(2); // expired
    await state.cached('b', work);
    await state.cached('c', work); // evicts a
    expect(state.cacheSize).toBe(2);
    expect(await state.cached('a', work)).toBe(5);
    await expect(state.cached('x', async () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    await Promise.resolve();
    expect(await state.cached('x', work)).toBe(6);
  });

  it("does not pass one review's timeout to another that shares its verification", async () => {
    const state = new AdmissionState();
    let runs = 0;
    // A verification that takes 50 ms and stops when its review's signal aborts.
    const verify = (signal: AbortSignal) => () => {
      const run = ++runs;
      return new Promise<number>((resolve, reject) => {
        const t = setTimeout(() => resolve(run), 50);
        signal.addEventListener('abort', () => {
          clearTimeout(t);
          reject(signal.reason);
        });
      });
    };
    const first = new AbortController();
    const second = new AbortController();
    const a = state.cached('chart:x', verify(first.signal), first.signal);
    const b = state.cached('chart:x', verify(second.signal), second.signal);
    first.abort(new Error('the first review took longer than its deadline'));
    await expect(a).rejects.toThrow('the first review took longer');
    // The second review runs the verification again under its own signal.
    expect(await b).toBe(2);
    expect(runs).toBe(2);

    // A review that joins a run stops waiting at its own deadline; the run goes on.
    const owner = new AbortController();
    const joiner = new AbortController();
    const c = state.cached('chart:y', verify(owner.signal), owner.signal);
    const d = state.cached('chart:y', verify(joiner.signal), joiner.signal);
    joiner.abort(new Error('the joining review timed out'));
    await expect(d).rejects.toThrow('the joining review timed out');
    expect(await c).toBe(3);
    expect(runs).toBe(3);
  });
});

describe('reviewAdmission: bypasses closed (review)', () => {
  it('a release Secret created without owner=helm and labelled later is checked, not passed as unchanged', async () => {
    const s = await admissionScenario(); // the chart is not signed
    const unlabelled = secretOf(releaseJson());
    unlabelled.metadata.labels = { name: 'web' }; // skipped the webhook's objectSelector
    const out = await reviewAdmission(
      reviewOf(secretOf(releaseJson()), { operation: 'UPDATE', oldObject: unlabelled }),
      s.options,
    );
    expect(out.response).toMatchObject({ allowed: false, status: { code: 403 } });
    expect(out.response.status?.message).toMatch(/is not signed by a trusted key or identity/);
  });

  it('a Secret labelled owner=helm with another type is a release to Helm: denied', async () => {
    const s = await admissionScenario();
    await signLegacy(s.repo, s.subject, s.signer);
    const opaque = secretOf(releaseJson());
    opaque.type = 'Opaque';
    const out = await reviewAdmission(reviewOf(opaque), s.options);
    expect(out.response).toMatchObject({ allowed: false, status: { code: 403 } });
    expect(out.response.status?.message).toMatch(
      /not a valid Helm release Secret: Secret type is "Opaque", not helm\.sh\/release\.v1/,
    );
    // other Secrets are none of the webhook's business
    delete opaque.metadata.labels.owner;
    expect((await reviewAdmission(reviewOf(opaque), s.options)).response.allowed).toBe(true);
  });

  it('a chart or image reference no registry can hold is denied, also under failurePolicy Ignore', async () => {
    const s = await admissionScenario();
    const ignore = { ...s.options, failurePolicy: 'Ignore' as const };
    for (const [name, version] of [
      ['App', '1.0.0'],
      ['app', `1.0.0-${'a'.repeat(200)}`],
    ]) {
      const out = await reviewAdmission(reviewOf(secretOf(releaseJson(name, version))), ignore);
      expect(out.response).toMatchObject({ allowed: false, status: { code: 403 } });
      expect(out.response.status?.message).toMatch(/cannot be in the internal registry: invalid reference/);
    }
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'prod' },
      spec: { containers: [{ name: 'c', image: 'registry.test/Evil:1' }] },
    };
    const out = await reviewAdmission(reviewOf(pod), { ...ignore, verifyImages: true });
    expect(out.response).toMatchObject({ allowed: false, status: { code: 403 } });
    expect(s.state.counters.errors).toBe(0);
  });
});
