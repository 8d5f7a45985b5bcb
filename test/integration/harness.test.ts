import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartedRegistry, startDockerRegistry } from '../helpers/docker-registry.js';
import { makeTempDir, portAcceptsConnections, removeDir, requireTool } from '../helpers/services.js';
import { skopeoCopy, skopeoEndpoint, skopeoInspectRaw } from '../helpers/skopeo.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function basic(user: string, pass: string): string {
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

/** Parses `Bearer realm="…",service="…",scope="…"` into a map. */
function bearerParams(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of header.replace(/^Bearer\s+/i, '').matchAll(/(\w+)="([^"]*)"/g)) out[m[1]!] = m[2]!;
  return out;
}

/** Monolithic blob upload: POST a session, PUT the bytes with ?digest=. */
async function pushBlob(base: string, repo: string, data: Uint8Array, headers: Record<string, string> = {}) {
  const digest = sha256(data);
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers });
  expect(start.status).toBe(202);
  const location = new URL(start.headers.get('location')!, base);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, {
    method: 'PUT',
    headers: { ...headers, 'content-type': 'application/octet-stream' },
    body: data,
  });
  expect(put.status).toBe(201);
  expect(put.headers.get('docker-content-digest')).toBe(digest);
  return { mediaType: 'application/octet-stream', digest, size: data.byteLength };
}

const missing = requireTool('docker-registry', 'openssl', 'htpasswd');

describe.skipIf(missing)('integration harness: docker-registry', () => {
  describe('plain mode', () => {
    let reg: StartedRegistry;
    beforeAll(async () => {
      reg = await startDockerRegistry('plain');
    });
    afterAll(async () => {
      await reg?.stop();
    });

    it('answers GET /v2/ with 200 over HTTP on 127.0.0.1', async () => {
      expect(reg.host).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(reg.url).toBe(`http://${reg.host}`);
      const res = await fetch(`${reg.url}/v2/`);
      expect(res.status).toBe(200);
      expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    });

    it.skipIf(requireTool('skopeo'))(
      'pushes a blob + manifest with raw fetch; skopeo reads it and copies it to an oci: layout unchanged',
      async () => {
        const config = await pushBlob(reg.url, 'harness/app', new TextEncoder().encode('{}'));
        // A gzip layer: skopeo would otherwise compress an uncompressed layer for oci: and rewrite the manifest.
        const layer = await pushBlob(reg.url, 'harness/app', gzipSync('hello, registry'));
        const manifest = JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { ...config, mediaType: 'application/vnd.oci.image.config.v1+json' },
          layers: [{ ...layer, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }],
        });
        const digest = sha256(manifest);
        const put = await fetch(`${reg.url}/v2/harness/app/manifests/v1`, {
          method: 'PUT',
          headers: { 'content-type': OCI_MANIFEST },
          body: manifest,
        });
        expect(put.status).toBe(201);
        expect(put.headers.get('docker-content-digest')).toBe(digest);

        const raw = await skopeoInspectRaw(`docker://${reg.host}/harness/app:v1`, skopeoEndpoint(reg));
        expect(sha256(raw)).toBe(digest);

        const ociDir = await makeTempDir('chartproof-oci-');
        try {
          await skopeoCopy(`docker://${reg.host}/harness/app:v1`, `oci:${ociDir}:v1`, {
            src: skopeoEndpoint(reg),
            extra: ['--preserve-digests'],
          });
          const index = JSON.parse(await readFile(join(ociDir, 'index.json'), 'utf8')) as {
            manifests: Array<{ digest: string; annotations?: Record<string, string> }>;
          };
          expect(index.manifests).toHaveLength(1);
          expect(index.manifests[0]!.digest).toBe(digest);
          expect(index.manifests[0]!.annotations?.['org.opencontainers.image.ref.name']).toBe('v1');
          const stored = await readFile(
            join(ociDir, 'blobs', 'sha256', digest.slice('sha256:'.length)),
            'utf8',
          );
          expect(stored).toBe(manifest);
        } finally {
          removeDir(ociDir);
        }
      },
    );
  });

  describe('tls mode', () => {
    let reg: StartedRegistry;
    let agent: Agent;
    beforeAll(async () => {
      reg = await startDockerRegistry('tls');
      agent = new Agent({ connect: { ca: reg.caPem! } });
    });
    afterAll(async () => {
      await agent?.close();
      await reg?.stop();
    });

    it('serves HTTPS on localhost with a certificate from the exposed CA', async () => {
      expect(reg.url).toBe(`https://localhost:${reg.port}`);
      expect(reg.caPem).toContain('BEGIN CERTIFICATE');
      expect(await readFile(reg.caFile!, 'utf8')).toBe(reg.caPem);
      const res = await undiciFetch(`${reg.url}/v2/`, { dispatcher: agent });
      expect(res.status).toBe(200);
      // Also valid for the IP SAN.
      const byIp = await undiciFetch(`https://127.0.0.1:${reg.port}/v2/`, { dispatcher: agent });
      expect(byIp.status).toBe(200);
    });

    it('is rejected without the CA', async () => {
      const untrusted = new Agent();
      try {
        await expect(undiciFetch(`${reg.url}/v2/`, { dispatcher: untrusted })).rejects.toThrow();
      } finally {
        await untrusted.close();
      }
    });
  });

  describe('tls-basic mode', () => {
    let reg: StartedRegistry;
    let agent: Agent;
    beforeAll(async () => {
      reg = await startDockerRegistry('tls-basic');
      agent = new Agent({ connect: { ca: reg.caPem! } });
    });
    afterAll(async () => {
      await agent?.close();
      await reg?.stop();
    });

    it('answers 401 with a Basic challenge without credentials, 200 with them', async () => {
      expect(reg.username).toBeTruthy();
      expect(reg.password).toBeTruthy();
      const anon = await undiciFetch(`${reg.url}/v2/`, { dispatcher: agent });
      expect(anon.status).toBe(401);
      expect(anon.headers.get('www-authenticate')).toMatch(/^Basic realm="chartproof-test"/);
      const wrong = await undiciFetch(`${reg.url}/v2/`, {
        dispatcher: agent,
        headers: { authorization: basic(reg.username!, 'wrong') },
      });
      expect(wrong.status).toBe(401);
      const ok = await undiciFetch(`${reg.url}/v2/`, {
        dispatcher: agent,
        headers: { authorization: basic(reg.username!, reg.password!) },
      });
      expect(ok.status).toBe(200);
    });
  });

  describe.each([
    ['ES256', 'x5c'],
    ['RS256', 'kid'],
  ] as const)('token mode (%s, key named by %s)', (alg, keyReference) => {
    let reg: StartedRegistry;
    beforeAll(async () => {
      reg = await startDockerRegistry('token', { tokenServer: { alg, keyReference } });
    });
    afterAll(async () => {
      await reg?.stop();
    });

    it('challenges with Bearer, and accepts a token obtained with credentials', async () => {
      const ts = reg.tokenServer!;
      const anon = await fetch(`${reg.url}/v2/`);
      expect(anon.status).toBe(401);
      const challenge = anon.headers.get('www-authenticate')!;
      expect(challenge).toMatch(/^Bearer /);
      const params = bearerParams(challenge);
      expect(params.realm).toBe(ts.realm);
      expect(params.service).toBe('chartproof-test');

      const tokenRes = await fetch(`${params.realm}?service=${encodeURIComponent(params.service!)}`, {
        headers: { authorization: basic(reg.username!, reg.password!) },
      });
      expect(tokenRes.status).toBe(200);
      const body = (await tokenRes.json()) as { token: string; access_token: string; expires_in: number };
      expect(body.access_token).toBe(body.token);
      expect(body.expires_in).toBe(300);
      const { header, claims } = ts.decode(body.token);
      expect(header.alg).toBe(alg);
      expect(keyReference === 'x5c' ? header.x5c : header.kid).toBeTruthy();
      expect(claims).toMatchObject({
        iss: 'chartproof-test-issuer',
        aud: 'chartproof-test',
        sub: reg.username,
      });

      const ok = await fetch(`${reg.url}/v2/`, { headers: { authorization: `Bearer ${body.token}` } });
      expect(ok.status).toBe(200);
      expect(ts.requests.at(-1)).toMatchObject({
        method: 'GET',
        authorization: true,
        user: reg.username,
        status: 200,
      });
    });

    it('enforces scopes: push needs a token for repository:<name>:pull,push', async () => {
      const ts = reg.tokenServer!;
      const noScope = ts.issueToken(reg.username!, []);
      const denied = await fetch(`${reg.url}/v2/scoped/app/blobs/uploads/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${noScope}` },
      });
      expect(denied.status).toBe(401);
      const params = bearerParams(denied.headers.get('www-authenticate')!);
      // distribution lists the actions in no fixed order (Go map iteration)
      const [, name, actions] = /^(repository:[^:]+):(.*)$/.exec(params.scope ?? '') ?? [];
      expect(name).toBe('repository:scoped/app');
      expect(actions?.split(',').sort()).toEqual(['pull', 'push']);
      expect(params.error).toBe('insufficient_scope');

      const res = await fetch(
        `${params.realm}?service=${params.service}&scope=${encodeURIComponent(params.scope!)}`,
        { headers: { authorization: basic(reg.username!, reg.password!) } },
      );
      const { token } = (await res.json()) as { token: string };
      await pushBlob(reg.url, 'scoped/app', new TextEncoder().encode('scoped'), {
        authorization: `Bearer ${token}`,
      });
    });

    it('rejects wrong passwords, gives anonymous callers no access, and supports the OAuth2 POST flow', async () => {
      const ts = reg.tokenServer!;
      const wrong = await fetch(`${ts.realm}?service=${ts.service}`, {
        headers: { authorization: basic(reg.username!, 'nope') },
      });
      expect(wrong.status).toBe(401);

      const anon = await fetch(`${ts.realm}?service=${ts.service}&scope=repository:scoped/app:pull`);
      expect(anon.status).toBe(200);
      const anonToken = ((await anon.json()) as { token: string }).token;
      expect(ts.decode(anonToken).claims.access).toEqual([]);
      const pull = await fetch(`${reg.url}/v2/scoped/app/tags/list`, {
        headers: { authorization: `Bearer ${anonToken}` },
      });
      expect(pull.status).toBe(401);

      const form = new URLSearchParams({
        grant_type: 'password',
        service: ts.service,
        client_id: 'chartproof-tests',
        access_type: 'offline',
        username: reg.username!,
        password: reg.password!,
        scope: 'repository:scoped/app:pull',
      });
      const post = await fetch(ts.realm, { method: 'POST', body: form });
      expect(post.status).toBe(200);
      const grant = (await post.json()) as { access_token: string; refresh_token: string; scope: string };
      expect(grant.scope).toBe('repository:scoped/app:pull');
      expect(grant.refresh_token).toBeTruthy();
      const refresh = await fetch(ts.realm, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          service: ts.service,
          client_id: 'chartproof-tests',
          refresh_token: grant.refresh_token,
          scope: 'repository:scoped/app:pull',
        }),
      });
      expect(refresh.status).toBe(200);
      const refreshed = (await refresh.json()) as { access_token: string };
      const tags = await fetch(`${reg.url}/v2/scoped/app/tags/list`, {
        headers: { authorization: `Bearer ${refreshed.access_token}` },
      });
      // Authorized (not 401); distribution 2.8 answers NAME_UNKNOWN for a repository with blobs but no tags.
      expect(tags.status).toBe(404);
      expect(((await tags.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe(
        'NAME_UNKNOWN',
      );
      expect(ts.requests.filter((r) => r.method === 'POST').map((r) => r.grantType)).toEqual([
        'password',
        'refresh_token',
      ]);
    });
  });

  describe('stop()', () => {
    it('ends the registry process and frees its port', async () => {
      const reg = await startDockerRegistry('plain');
      expect(await portAcceptsConnections(reg.port)).toBe(true);
      expect(() => process.kill(reg.pid, 0)).not.toThrow();
      await reg.stop();
      expect(await portAcceptsConnections(reg.port)).toBe(false);
      expect(() => process.kill(reg.pid, 0)).toThrow(/ESRCH/);
      await expect(readFile(reg.configFile)).rejects.toThrow(/ENOENT/);
      await reg.stop(); // idempotent
    });

    it('stops the token server too', async () => {
      const reg = await startDockerRegistry('token');
      const realm = reg.tokenServer!.realm;
      await reg.stop();
      expect(await portAcceptsConnections(Number(new URL(realm).port))).toBe(false);
    });
  });
});
