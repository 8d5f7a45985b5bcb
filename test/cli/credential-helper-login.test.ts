import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { MemoryRegistry } from '../../src/testing/index.js';
import { captureIo } from '../helpers/cli-io.js';
import { makeTempDirSync, removeDir } from '../helpers/services.js';

const SECRET = 'SECRETsecret';
const B64 = Buffer.from(`alice:${SECRET}`).toString('base64');

// A file-backed docker-credential helper: `store` keeps stdin, `get` prints it, `erase` drops it.
const HELPER = `#!/bin/sh
db="$HELPER_DB"
case "$1" in
  store) cat > "$db" ;;
  get)
    cat > /dev/null
    if [ -f "$db" ]; then cat "$db"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  erase) if [ -f "$db" ]; then rm "$db"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  *) exit 2 ;;
esac
`;

describe('credentials in the CLI: helpers and malformed files', () => {
  const dir = makeTempDirSync('chartproof-cred-helper-');
  const env = {
    HOME: '/nonexistent',
    PATH: `${join(dir, 'bin')}:${process.env.PATH}`,
    HELPER_DB: join(dir, 'helper-db.json'),
  };
  let server: { url: string; host: string; close(): Promise<void> };
  beforeAll(async () => {
    server = await new MemoryRegistry({
      auth: { type: 'basic', username: 'alice', password: SECRET },
    }).listen();
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'bin', 'docker-credential-fake'), HELPER);
    chmodSync(join(dir, 'bin', 'docker-credential-fake'), 0o755);
  });
  afterAll(async () => {
    await server.close();
    removeDir(dir);
  });

  it('a malformed config.json is reported without the text around the error (a password)', async () => {
    const p = join(dir, 'malformed.json');
    // A missing quote: V8's SyntaxError quotes the characters around the error.
    writeFileSync(p, `{"auths":{"${server.host}":{"auth":${B64}"}}}`);
    for (const extra of [[], ['--json'], ['--verbose']]) {
      const cap = captureIo('', env);
      const code = await run(
        [...extra, '--plain-http', '--registry-config', p, 'tags', `${server.host}/a/b`],
        cap.io,
      );
      const all = cap.out() + cap.err();
      expect(code, all).toBe(2);
      expect(all).toContain('not a valid config.json');
      expect(all).not.toContain(B64.slice(0, 8));
    }
  });

  it('login stores in the credential helper the config names, not in the file in plain text; logout erases it', async () => {
    const p = join(dir, 'store', 'config.json');
    mkdirSync(join(dir, 'store'));
    writeFileSync(
      p,
      JSON.stringify({
        credsStore: 'fake',
        auths: { [server.host]: { auth: Buffer.from('alice:old').toString('base64') } },
      }),
    );
    const cap = captureIo(`${SECRET}\n`, env);
    const code = await run(
      ['--plain-http', '--registry-config', p, 'login', server.host, '-u', 'alice', '--password-stdin'],
      cap.io,
    );
    expect(code, cap.err()).toBe(0);
    const file = readFileSync(p, 'utf8');
    expect(file).not.toContain(SECRET);
    expect(file).not.toContain(B64);
    expect(JSON.parse(file).credsStore).toBe('fake');
    expect(JSON.parse(readFileSync(env.HELPER_DB, 'utf8'))).toEqual({
      ServerURL: server.host,
      Username: 'alice',
      Secret: SECRET,
    });
    // The stored credentials are the ones used.
    const tags = captureIo('', env);
    await run(['--plain-http', '--registry-config', p, 'tags', `${server.host}/a/b`], tags.io);
    // Authenticated: the registry answers that the repository does not exist.
    expect(tags.err()).toMatch(/404/);

    const out = captureIo('', env);
    expect(await run(['--registry-config', p, 'logout', server.host], out.io), out.err()).toBe(0);
    expect(existsSync(env.HELPER_DB)).toBe(false);
  });
});
