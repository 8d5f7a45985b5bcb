/**
 * Sprig path, URL, hash/encoding, UUID, network and crypto helpers that have an
 * exact (or same-shape) Node.js equivalent.
 * @internal
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  generateKeyPairSync,
  randomBytes,
  randomUUID,
  scryptSync,
} from 'node:crypto';
import { type FuncMap, type GoMap, type GoValue, goFunc, mapSet, newGoMap, utf8 } from '../template/value.js';
import { checkStringSize, fromUtf8, num, reflectKind } from './util.js';
import { sprigBcrypt } from './bcrypt.js';
import { generateDsaPem } from './dsa.js';
import { goBase64Decode } from './strings.js';

const S = 'string' as const;

// ---------------------------------------------------------------- paths (Go "path"; filepath on Unix)

/** path.Clean. */
export function pathClean(p: string): string {
  if (p === '') return '.';
  const rooted = p[0] === '/';
  const parts = p.split('/');
  const out: string[] = [];
  for (const part of parts) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const s = (rooted ? '/' : '') + out.join('/');
  return s === '' ? '.' : s;
}
export function pathBase(p0: string): string {
  if (p0 === '') return '.';
  let p = p0;
  while (p.length > 0 && p[p.length - 1] === '/') p = p.slice(0, -1);
  const i = p.lastIndexOf('/');
  if (i >= 0) p = p.slice(i + 1);
  return p === '' ? '/' : p;
}
export function pathDir(p: string): string {
  const i = p.lastIndexOf('/');
  return pathClean(p.slice(0, i + 1));
}
export function pathExt(p: string): string {
  for (let i = p.length - 1; i >= 0 && p[i] !== '/'; i--) if (p[i] === '.') return p.slice(i);
  return '';
}

// ---------------------------------------------------------------- URLs (net/url, common cases)

function shouldEscapeUserinfo(c: string): boolean {
  if (/[A-Za-z0-9\-_.~]/.test(c)) return false;
  return !'$&+,;=:'.includes(c);
}
function escapeWith(s: string, should: (c: string) => boolean): string {
  let out = '';
  for (const b of utf8(s)) {
    const c = String.fromCharCode(b);
    out += b < 0x80 && !should(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
function urlUnescape(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%') {
      const h = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(h)) {
        const bad = s.slice(i, i + 3);
        throw new Error(`invalid URL escape ${JSON.stringify(bad)}`);
      }
      bytes.push(Number.parseInt(h, 16));
      i += 2;
    } else for (const b of utf8(s[i]!)) bytes.push(b);
  }
  return fromUtf8(Uint8Array.from(bytes));
}

interface GoUrl {
  scheme: string;
  opaque: string;
  userinfo: string | undefined;
  host: string;
  path: string;
  rawQuery: string;
  fragment: string;
}

function parseUrl(raw: string): GoUrl {
  const fail = (msg: string): never => {
    throw new Error(`parse ${JSON.stringify(raw)}: ${msg}`);
  };
  if (/[\u0000-\u001f\u007f]/.test(raw)) fail('net/url: invalid control character in URL');
  let rest = raw;
  let fragment = '';
  const h = rest.indexOf('#');
  if (h >= 0) {
    fragment = urlUnescape(rest.slice(h + 1));
    rest = rest.slice(0, h);
  }
  const u: GoUrl = {
    scheme: '',
    opaque: '',
    userinfo: undefined,
    host: '',
    path: '',
    rawQuery: '',
    fragment,
  };
  const sm = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(rest);
  if (sm) {
    u.scheme = sm[1]!.toLowerCase();
    rest = rest.slice(sm[0].length);
  } else if (/^[0-9+.-][^/]*:/.test(rest) || rest.startsWith(':')) {
    if (rest.startsWith(':')) fail('missing protocol scheme');
  }
  const q = rest.indexOf('?');
  if (q >= 0) {
    u.rawQuery = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  if (u.scheme !== '' && !rest.startsWith('/')) {
    u.opaque = rest;
    return u;
  }
  if (rest.startsWith('//') && (u.scheme !== '' || true)) {
    const auth = rest.slice(2);
    const slash = auth.indexOf('/');
    const authority = slash >= 0 ? auth.slice(0, slash) : auth;
    rest = slash >= 0 ? auth.slice(slash) : '';
    const at = authority.lastIndexOf('@');
    if (at >= 0) {
      u.userinfo = authority.slice(0, at);
      u.host = authority.slice(at + 1);
    } else u.host = authority;
  }
  u.path = urlUnescape(rest);
  return u;
}

function userinfoString(ui: string): string {
  const colon = ui.indexOf(':');
  const user = urlUnescape(colon >= 0 ? ui.slice(0, colon) : ui);
  let s = escapeWith(user, shouldEscapeUserinfo);
  if (colon >= 0) s += `:${escapeWith(urlUnescape(ui.slice(colon + 1)), shouldEscapeUserinfo)}`;
  return s;
}

function escapePath(p: string): string {
  return escapeWith(p, (c) => !/[A-Za-z0-9\-_.~$&+,/:;=@]/.test(c));
}
function escapeFragment(p: string): string {
  return escapeWith(p, (c) => !/[A-Za-z0-9\-_.~$&+,/:;=@!()*?]/.test(c));
}

function hostname(host: string): string {
  if (host.startsWith('[')) {
    const i = host.indexOf(']');
    return i >= 0 ? host.slice(1, i) : host;
  }
  const i = host.lastIndexOf(':');
  return i >= 0 && /^[0-9]*$/.test(host.slice(i + 1)) ? host.slice(0, i) : host;
}

/** url.URL.String(). */
function urlString(u: GoUrl): string {
  let out = '';
  if (u.scheme !== '') out += `${u.scheme}:`;
  if (u.opaque !== '') out += u.opaque;
  else {
    if (u.scheme !== '' || u.host !== '' || u.userinfo !== undefined) {
      if (u.host !== '' || u.path !== '' || u.userinfo !== undefined) out += '//';
      if (u.userinfo !== undefined) out += `${userinfoString(u.userinfo)}@`;
      if (u.host !== '') out += u.host;
    }
    const p = escapePath(u.path);
    if (p !== '' && p[0] !== '/' && u.host !== '') out += '/';
    if (out === '') {
      const seg = p.split('/')[0]!;
      if (seg.includes(':')) out += './';
    }
    out += p;
  }
  if (u.rawQuery !== '') out += `?${u.rawQuery}`;
  if (u.fragment !== '') out += `#${escapeFragment(u.fragment)}`;
  return out;
}

function dictGetOrEmpty(d: GoMap, key: string): string {
  if (!Object.hasOwn(d, key)) return '';
  const v = d[key]!;
  if (typeof v !== 'string') {
    throw new Error(`unable to parse ${key} key, must be of type string, but ${reflectKind(v)} found`);
  }
  return v;
}

function urlParse(v: string): GoMap {
  let u: GoUrl;
  try {
    u = parseUrl(v);
  } catch (e) {
    throw new Error(`unable to parse url: ${(e as Error).message}`);
  }
  const m = newGoMap();
  mapSet(m, 'scheme', u.scheme);
  mapSet(m, 'host', u.host);
  mapSet(m, 'hostname', hostname(u.host));
  mapSet(m, 'path', u.path);
  mapSet(m, 'query', u.rawQuery);
  mapSet(m, 'opaque', u.opaque);
  mapSet(m, 'fragment', u.fragment);
  mapSet(m, 'userinfo', u.userinfo === undefined ? '' : userinfoString(u.userinfo));
  return m;
}

function urlJoin(d: GoMap): string {
  const userinfo = dictGetOrEmpty(d, 'userinfo');
  return urlString({
    scheme: dictGetOrEmpty(d, 'scheme'),
    host: dictGetOrEmpty(d, 'host'),
    path: dictGetOrEmpty(d, 'path'),
    rawQuery: dictGetOrEmpty(d, 'query'),
    opaque: dictGetOrEmpty(d, 'opaque'),
    fragment: dictGetOrEmpty(d, 'fragment'),
    userinfo: userinfo === '' ? undefined : userinfo,
  });
}

// ---------------------------------------------------------------- crypto

function adler32(b: Uint8Array): number {
  let a = 1;
  let s = 0;
  for (const x of b) {
    a = (a + x) % 65521;
    s = (s + a) % 65521;
  }
  return ((s << 16) | a) >>> 0;
}

const MASTER_SEED = 'com.lyndir.masterpassword';
const TEMPLATES: Record<string, string[]> = {
  maximum: ['anoxxxxxxxxxxxxxxxxx', 'axxxxxxxxxxxxxxxxxno'],
  long: [
    'CvcvnoCvcvCvcv',
    'CvcvCvcvnoCvcv',
    'CvcvCvcvCvcvno',
    'CvccnoCvcvCvcv',
    'CvccCvcvnoCvcv',
    'CvccCvcvCvcvno',
    'CvcvnoCvccCvcv',
    'CvcvCvccnoCvcv',
    'CvcvCvccCvcvno',
    'CvcvnoCvcvCvcc',
    'CvcvCvcvnoCvcc',
    'CvcvCvcvCvccno',
    'CvccnoCvccCvcv',
    'CvccCvccnoCvcv',
    'CvccCvccCvcvno',
    'CvcvnoCvccCvcc',
    'CvcvCvccnoCvcc',
    'CvcvCvccCvccno',
    'CvccnoCvcvCvcc',
    'CvccCvcvnoCvcc',
    'CvccCvcvCvccno',
  ],
  medium: ['CvcnoCvc', 'CvcCvcno'],
  short: ['Cvcn'],
  basic: ['aaanaaan', 'aannaaan', 'aaannaaa'],
  pin: ['nnnn'],
};
const TEMPLATE_CHARS: Record<string, string> = {
  V: 'AEIOU',
  C: 'BCDFGHJKLMNPQRSTVWXYZ',
  v: 'aeiou',
  c: 'bcdfghjklmnpqrstvwxyz',
  A: 'AEIOUBCDFGHJKLMNPQRSTVWXYZ',
  a: 'AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz',
  n: '0123456789',
  o: "@&%?,=[]_:-+*$#!'^~;()/.",
  x: 'AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()',
};

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** sprig derivePassword (Master Password algorithm; deterministic). */
export function derivePassword(
  counter: number,
  passwordType: string,
  password: string,
  user: string,
  site: string,
): string {
  const templates = TEMPLATES[passwordType];
  if (!Object.hasOwn(TEMPLATES, passwordType) || !templates)
    return `cannot find password template ${passwordType}`;
  const userB = Buffer.from(user, 'utf8');
  const salt = Buffer.concat([Buffer.from(MASTER_SEED), u32(userB.length), userB]);
  const key = scryptSync(Buffer.from(password, 'utf8'), salt, 64, {
    N: 32768,
    r: 8,
    p: 2,
    maxmem: 64 * 1024 * 1024,
  });
  const siteB = Buffer.from(site, 'utf8');
  const seed = createHmac('sha256', key)
    .update(Buffer.concat([Buffer.from(MASTER_SEED), u32(siteB.length), siteB, u32(counter)]))
    .digest();
  const temp = templates[seed[0]! % templates.length]!;
  let out = '';
  for (let i = 0; i < temp.length; i++) {
    const chars = TEMPLATE_CHARS[temp[i]!]!;
    out += chars[seed[i + 1]! % chars.length];
  }
  return out;
}

function aesKey(password: string): Buffer {
  const key = Buffer.alloc(32);
  Buffer.from(password, 'utf8').copy(key, 0, 0, 32);
  return key;
}

/** sprig encryptAES: AES-256-CBC, key = password zero-padded/truncated to 32 bytes, PKCS#7, random IV prefix. */
export function encryptAES(password: string, plaintext: string): string {
  if (plaintext === '') return '';
  const iv = randomBytes(16);
  const c = createCipheriv('aes-256-cbc', aesKey(password), iv);
  return Buffer.concat([iv, c.update(Buffer.from(plaintext, 'utf8')), c.final()]).toString('base64');
}

/** sprig decryptAES (no padding validation, like Go's code; panics become errors). */
export function decryptAES(password: string, crypt64: string): string {
  if (crypt64 === '') return '';
  const data = goBase64Decode(crypt64);
  if (typeof data === 'string') throw new Error(data);
  if (data.length < 16)
    throw new Error(`runtime error: slice bounds out of range [:16] with capacity ${data.length}`);
  const body = data.subarray(16);
  if (body.length % 16 !== 0) throw new Error('crypto/cipher: input not full blocks');
  const d = createDecipheriv('aes-256-cbc', aesKey(password), data.subarray(0, 16));
  d.setAutoPadding(false);
  const plain = Buffer.concat([d.update(body), d.final()]);
  if (plain.length === 0) throw new Error('runtime error: index out of range [-1]');
  const pad = plain[plain.length - 1]!;
  const end = plain.length - pad;
  if (end < 0) throw new Error(`runtime error: slice bounds out of range [:${end}]`);
  return fromUtf8(plain.subarray(0, end));
}

function genPrivateKey(typ: string): string {
  switch (typ) {
    case '':
    case 'rsa':
      return generateKeyPairSync('rsa', { modulusLength: 4096 }).privateKey.export({
        type: 'pkcs1',
        format: 'pem',
      }) as string;
    case 'ecdsa':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
        type: 'sec1',
        format: 'pem',
      }) as string;
    case 'ed25519':
      return generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    case 'dsa':
      return generateDsaPem();
    default:
      return `Unknown type ${typ}`;
  }
}

export function miscFuncs(): FuncMap {
  const hash = (alg: string) =>
    goFunc([S], ([s]) =>
      createHash(alg)
        .update(utf8(s as string))
        .digest('hex'),
    );
  return {
    base: goFunc([S], ([p]) => pathBase(p as string)),
    dir: goFunc([S], ([p]) => pathDir(p as string)),
    clean: goFunc([S], ([p]) => pathClean(p as string)),
    ext: goFunc([S], ([p]) => pathExt(p as string)),
    isAbs: goFunc([S], ([p]) => (p as string).startsWith('/')),
    osBase: goFunc([S], ([p]) => pathBase(p as string)),
    osClean: goFunc([S], ([p]) => pathClean(p as string)),
    osDir: goFunc([S], ([p]) => pathDir(p as string)),
    osExt: goFunc([S], ([p]) => pathExt(p as string)),
    osIsAbs: goFunc([S], ([p]) => (p as string).startsWith('/')),
    urlParse: goFunc([S], ([v]) => urlParse(v as string)),
    urlJoin: goFunc(['map'], ([d]) => urlJoin(d as GoMap)),
    sha1sum: hash('sha1'),
    sha256sum: hash('sha256'),
    sha512sum: hash('sha512'),
    adler32sum: goFunc([S], ([s]) => String(adler32(utf8(s as string)))),
    uuidv4: goFunc([], () => randomUUID()),
    randBytes: goFunc(['int'], ([c]) => {
      const n = num(c!);
      if (n < 0) throw new Error('runtime error: makeslice: len out of range');
      checkStringSize((n * 4) / 3, 'randBytes');
      return randomBytes(n).toString('base64');
    }),
    derivePassword: goFunc([{ kind: 'int', name: 'uint32' }, S, S, S, S], ([c, t, p, u, s]) =>
      derivePassword(
        Number(BigInt.asUintN(32, c as bigint)),
        t as string,
        p as string,
        u as string,
        s as string,
      ),
    ),
    encryptAES: goFunc([S, S], ([p, t]) => encryptAES(p as string, t as string)),
    decryptAES: goFunc([S, S], ([p, c]) => decryptAES(p as string, c as string)),
    genPrivateKey: goFunc([S], ([t]) => genPrivateKey(t as string)),
    bcrypt: goFunc([S], ([s]) => sprigBcrypt(s as string)),
    htpasswd: goFunc([S, S], ([user, pw]) => {
      if ((user as string).includes(':')) return `invalid username: ${user as string}`;
      return `${user as string}:${sprigBcrypt(pw as string)}`;
    }),
    // Helm (without --enable-dns) replaces getHostByName with a function returning "".
    getHostByName: goFunc([S], () => ''),
    fail: goFunc([S], ([m]) => {
      throw new Error(m as string);
    }),
  };
}

export type { GoValue };
