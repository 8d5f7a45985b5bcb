import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseChartReference } from '../../src/chart/oci.js';
import { run } from '../../src/cli/main.js';
import { ChartproofError, redact } from '../../src/errors.js';
import { parseReference } from '../../src/oci/reference.js';
import { makeChartArchive } from '../helpers/chart-repo.js';
import { captureIo } from '../helpers/cli-io.js';
import { makeTempDirSync, removeDir } from '../helpers/services.js';

// A password typed into a reference must not come back in any error, `--json`
// output, warning or log line.

const SECRET = 'SECRET-7f3a9c';
const HOST = '127.0.0.1:9';

const userinfos = [`alice:${SECRET}`, `alice:p@ss-${SECRET}`, `alice:pa/ss-${SECRET}`, `${SECRET}`];

describe('references with userinfo', () => {
  it.each(
    userinfos.flatMap((u) => [
      `oci://${u}@${HOST}/charts/app:1.0.0`,
      `${u}@${HOST}/charts/app:1.0.0`,
      `${u}@${HOST}/charts/app@sha256:${'a'.repeat(64)}`,
      `https://${u}@${HOST}/charts/app`,
      `${u}@${HOST}`,
    ]),
  )('%s is refused without being repeated', (ref) => {
    for (const parse of [parseReference, parseChartReference]) {
      let err: unknown;
      try {
        parse(ref);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ChartproofError);
      expect((err as ChartproofError).code).toBe('INVALID_REFERENCE');
      expect((err as Error).message).not.toContain(SECRET);
    }
  });

  it('still accepts Docker Hub digest references and ports', () => {
    expect(parseReference(`nginx@sha256:${'b'.repeat(64)}`).repository).toBe('library/nginx');
    expect(parseReference('localhost:5000/a/b:1').registry).toBe('localhost:5000');
    expect(parseReference(`oci://r.io/a/b:1@sha256:${'c'.repeat(64)}`).tag).toBe('1');
  });
});

describe('redact', () => {
  it.each([
    [`GET oci://alice:${SECRET}@r.io/v2/`],
    [`GET https://alice:p@ss${SECRET}@r.io/v2/`],
    [`invalid reference "alice:${SECRET}@r.io/charts/app"`],
    [`Authorization: Basic ${Buffer.from(`alice:${SECRET}`).toString('base64')}`],
    [`Authorization: Bearer ${SECRET}.abc_def-ghi`],
    [`POST /token body grant_type=password&username=alice&password=${SECRET}`],
    [`grant_type=refresh_token&refresh_token=${SECRET}&client_id=x`],
    [`https://r.io/token?access_token=${SECRET}&scope=x`],
    [`{"username":"alice","password":"${SECRET}"}`],
    [`{"identitytoken": "${SECRET}"}`],
    [`{"auth":"${SECRET}"}`],
  ])('removes the secret from %s', (text) => {
    const base64 = Buffer.from(`alice:${SECRET}`).toString('base64');
    expect(redact(text)).not.toContain(SECRET);
    expect(redact(text)).not.toContain(base64);
  });

  it('keeps ordinary references and URLs intact', () => {
    for (const text of [
      'GET https://127.0.0.1:5000/v2/charts/app/manifests/1.0.0: 404',
      `r.io/charts/app@sha256:${'d'.repeat(64)}`,
      'localhost:5000/charts/app:1.0.0',
      'identity "https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1" did not match',
      'certificate identity alice@example.com, issuer https://accounts.example',
    ]) {
      expect(redact(text)).toBe(text);
    }
  });
});

describe('the CLI with credentials in references', () => {
  let dir: string;
  let archive: string;
  beforeAll(async () => {
    dir = makeTempDirSync('chartproof-secrets-');
    archive = join(dir, 'app-1.0.0.tgz');
    writeFileSync(archive, await makeChartArchive('app', '1.0.0'));
  });
  afterAll(() => removeDir(dir));

  const commands = (u: string): string[][] => [
    ['pull', `oci://${u}@${HOST}/charts/app`, '--version', '1.0.0'],
    ['pull', `oci://${u}@${HOST}/charts/app:1.0.0`],
    ['pull', `${u}@${HOST}/charts/app:1.0.0`],
    ['pull', 'app', '--repo', `https://${u}@${HOST}/charts`],
    ['inspect', `oci://${u}@${HOST}/charts/app:1.0.0`],
    ['manifest', `oci://${u}@${HOST}/charts/app:1.0.0`],
    ['manifest', `${u}@${HOST}/charts/app:1.0.0`],
    ['tags', `${u}@${HOST}/charts/app`],
    ['referrers', `${u}@${HOST}/charts/app:1.0.0`],
    ['copy', `${u}@${HOST}/charts/app:1.0.0`, `${HOST}/charts/b:1.0.0`],
    ['copy', `${HOST}/charts/app:1.0.0`, `oci://${u}@${HOST}/charts/b:1.0.0`],
    ['push', archive, `oci://${u}@${HOST}/charts`],
    ['login', `${u}@${HOST}`, '-u', 'alice', '--password-stdin'],
  ];

  it.each(userinfos.flatMap((u) => commands(u).map((c) => [c.join(' '), c] as const)))(
    '%s: refused, and the secret is not printed (text, --json, --verbose)',
    async (_, args) => {
      for (const extra of [[], ['--json'], ['--verbose']]) {
        const cap = captureIo('password-from-stdin\n');
        const code = await run([...extra, ...args], cap.io);
        const all = cap.out() + cap.err();
        expect(code, all).not.toBe(0);
        expect(all).not.toContain(SECRET);
      }
    },
  );
});
