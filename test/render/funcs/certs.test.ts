/**
 * Certificate functions: the certificates chartproof generates must verify, chain and
 * carry the same X.509 structure (version, algorithms, names, extensions and their
 * criticality, validity length, key block type) as the ones Helm v4.1.4 generates.
 */
import { createHash, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { helmAvailable, runHelm } from '../../helpers/helm.js';
import { render } from './helpers.js';

const HAVE_HELM = helmAvailable('certificate functions vs helm');

/** DER walker for the test's structural summary. */
function kids(der: Uint8Array): { tag: number; body: Uint8Array; raw: Uint8Array }[] {
  const out: { tag: number; body: Uint8Array; raw: Uint8Array }[] = [];
  let i = 0;
  while (i < der.length) {
    const tag = der[i]!;
    let l = der[i + 1]!;
    let h = 2;
    if (l & 0x80) {
      const n = l & 0x7f;
      l = 0;
      for (let k = 0; k < n; k++) l = l * 256 + der[i + 2 + k]!;
      h += n;
    }
    out.push({ tag, body: der.subarray(i + h, i + h + l), raw: der.subarray(i, i + h + l) });
    i += h + l;
  }
  return out;
}
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

interface Summary {
  version: string;
  serialBytes: number;
  sigAlg: string;
  issuerIsSubject: boolean;
  subject: string;
  validityDays: number;
  extensions: string[];
  skid: 'sha1' | 'sha256-160' | 'none' | 'other';
  keyBlock: string;
}

function summarize(certPem: string, keyPem: string): Summary {
  const x = new X509Certificate(certPem);
  const [tbs] = kids(kids(x.raw)[0]!.body);
  const f = kids(tbs!.body);
  const serial = kids(f[1]!.raw)[0]!.body;
  const spki = f[6]!;
  const keyBits = kids(spki.body)[1]!.body.subarray(1);
  const exts = kids(kids(f[7]!.body)[0]!.body).map((e) => {
    const p = kids(e.body);
    return { oid: hex(p[0]!.body), critical: p.length === 3, value: p[p.length - 1]!.body };
  });
  const ski = exts.find((e) => e.oid === '551d0e');
  let skid: Summary['skid'] = 'none';
  if (ski) {
    const id = hex(kids(ski.value)[0]!.body);
    if (id === createHash('sha1').update(keyBits).digest('hex')) skid = 'sha1';
    else if (id === createHash('sha256').update(keyBits).digest('hex').slice(0, 40)) skid = 'sha256-160';
    else skid = 'other';
  }
  return {
    version: hex(f[0]!.raw),
    serialBytes: serial.length <= 17 && serial.length >= 15 ? 16 : serial.length,
    sigAlg: hex(f[2]!.raw),
    issuerIsSubject: x.issuer === x.subject,
    subject: x.subject,
    validityDays: Math.round((Date.parse(x.validTo) - Date.parse(x.validFrom)) / 86400_000),
    extensions: exts.map(
      (e) =>
        `${e.oid}${e.critical ? '!' : ''}=${e.oid === '551d0e' || e.oid === '551d23' ? '<id>' : hex(e.value)}`,
    ),
    skid,
    keyBlock: /-----BEGIN ([A-Z ]+)-----/.exec(keyPem)![1]!,
  };
}

const TEMPLATE = `{{- $ca := genCA "my-ca" 365 }}
{{- $srv := genSignedCert "svc.ns" (list "10.0.0.1" "::1") (list "svc" "svc.ns.svc") 30 $ca }}
{{- $self := genSelfSignedCert "self" nil (list "a.example") 10 }}
{{- $k := genPrivateKey "ecdsa" }}
{{- $eca := genCAWithKey "ec-ca" 5 $k }}
{{- $ess := genSignedCertWithKey "leaf" nil nil 2 $eca (genPrivateKey "ed25519") }}
{{- $all := list $ca $srv $self $eca $ess }}
{{- range $all }}{{ .Cert | b64enc }} {{ .Key | b64enc }}
{{ end }}`;

function parseOut(out: string): [string, string][] {
  return out
    .trim()
    .split('\n')
    .map((l) => l.trim().split(' '))
    .map(([c, k]) => [Buffer.from(c!, 'base64').toString(), Buffer.from(k!, 'base64').toString()]);
}

describe('certificate functions', () => {
  const ours = parseOut(render(TEMPLATE));
  it('issues verifiable certificates that chain to the generated CA', () => {
    const [ca, srv, self, eca, ess] = ours.map(([c]) => new X509Certificate(c));
    expect(ca!.ca).toBe(true);
    expect(srv!.verify(ca!.publicKey)).toBe(true);
    expect(srv!.checkIssued(ca!)).toBe(true);
    expect(srv!.subjectAltName).toBe(
      'DNS:svc, DNS:svc.ns.svc, IP Address:10.0.0.1, IP Address:0:0:0:0:0:0:0:1',
    );
    expect(self!.verify(self!.publicKey)).toBe(true);
    expect(ess!.verify(eca!.publicKey)).toBe(true);
    // Each key matches its certificate.
    ours.forEach(([c, k]) => {
      expect(createPublicKey(createPrivateKey(k)).export({ type: 'spki', format: 'der' })).toEqual(
        new X509Certificate(c).publicKey.export({ type: 'spki', format: 'der' }),
      );
    });
  });

  it.skipIf(!HAVE_HELM)(
    'has the structure Helm v4.1.4 produces',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'cp-certs-'));
      mkdirSync(join(dir, 'templates'));
      writeFileSync(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: c\nversion: 0.1.0\n');
      writeFileSync(
        join(dir, 'templates', 'c.yaml'),
        `{{- define "b" }}${TEMPLATE}{{ end }}out: {{ include "b" . | b64enc }}\n`,
      );
      const r = runHelm(['template', 'rel', dir]);
      expect(r.stderr).toBe('');
      const helm = parseOut(Buffer.from(/^out: (\S+)/m.exec(r.stdout)![1]!, 'base64').toString());
      expect(ours.map(([c, k]) => summarize(c, k))).toEqual(helm.map(([c, k]) => summarize(c, k)));
    },
    60_000,
  );
});
