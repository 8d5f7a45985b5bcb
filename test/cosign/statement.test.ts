import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  COSIGN_SIGN_PREDICATE_TYPE,
  cosignSignStatement,
  inTotoStatement,
  parseInTotoStatement,
  statementHasSubject,
} from '../../src/cosign/statement.js';
import { expectChartproofError } from '../helpers/expect-error.js';
import { SIGSTORE_VECTORS, sigstoreVectorsAvailable, describeVectors } from '../helpers/vectors.js';

const HEX = 'd7d5640c741c60b47fa4b5530daa20a6469b55754a89dd42adbadadb59f9093c';
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

describe('cosignSignStatement', () => {
  it('writes the statement cosign ≥ 3.0.5 signs, byte for byte', () => {
    // Expected bytes written out from cosign's protojson output (reference doc §2.1).
    expect(text(cosignSignStatement(`sha256:${HEX}`))).toBe(
      `{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"${HEX}"},"annotations":{}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}`,
    );
  });

  it('puts -a annotations into the subject with sorted keys', () => {
    const s = text(cosignSignStatement(`sha256:${HEX}`, { zeta: 'z', alpha: 'a "q"' }));
    expect(s).toContain(`"annotations":{"alpha":"a \\"q\\"","zeta":"z"}`);
    expect(JSON.parse(s).subject[0].annotations).toEqual({ alpha: 'a "q"', zeta: 'z' });
  });

  it('rejects invalid digests and non-string annotations', async () => {
    await expectChartproofError(
      Promise.resolve().then(() => cosignSignStatement('sha256:abc')),
      'INVALID_DIGEST',
    );
    await expectChartproofError(
      Promise.resolve().then(() => cosignSignStatement(`sha256:${HEX}`, { a: 1 as unknown as string })),
      'INVALID_ARGUMENT',
    );
  });
});

describe('inTotoStatement', () => {
  it('serialises an attestation statement that parses back', () => {
    const bytes = inTotoStatement(
      [{ name: 'chart', digest: { sha256: HEX }, annotations: { k: 'v' } }],
      'https://spdx.dev/Document',
      { spdxVersion: 'SPDX-2.3' },
    );
    expect(text(bytes)).toBe(
      `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"chart","digest":{"sha256":"${HEX}"},"annotations":{"k":"v"}}],"predicateType":"https://spdx.dev/Document","predicate":{"spdxVersion":"SPDX-2.3"}}`,
    );
    const parsed = parseInTotoStatement(bytes);
    expect(parsed.predicate).toEqual({ spdxVersion: 'SPDX-2.3' });
    expect(statementHasSubject(parsed, `sha256:${HEX}`)).toBe(true);
  });

  it.each([
    ['no subjects', [], 'x', {}],
    ['a subject without digest', [{ digest: {} }], 'x', {}],
    ['a bad sha256 value', [{ digest: { sha256: 'ABC' } }], 'x', {}],
    ['an empty predicate type', [{ digest: { sha256: HEX } }], '', {}],
    ['a predicate that is an array', [{ digest: { sha256: HEX } }], 'x', []],
  ])('rejects %s', async (_, subjects, type, predicate) => {
    await expectChartproofError(
      Promise.resolve().then(() =>
        inTotoStatement(subjects as never, type as string, predicate as Record<string, unknown>),
      ),
      'INVALID_ARGUMENT',
    );
  });
});

describe('parseInTotoStatement', () => {
  const good = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ digest: { sha256: HEX } }],
    predicateType: 'https://example.com/p',
  };

  it('accepts v1 and v0.1 statements, with or without predicate', () => {
    expect(parseInTotoStatement(JSON.stringify(good)).predicate).toBeUndefined();
    const v01 = { ...good, _type: 'https://in-toto.io/Statement/v0.1', predicate: { a: 1 } };
    expect(parseInTotoStatement(JSON.stringify(v01))._type).toBe('https://in-toto.io/Statement/v0.1');
  });

  it.each([
    ['invalid JSON', '{'],
    ['a non-object', '[]'],
    ['an unknown _type', JSON.stringify({ ...good, _type: 'https://in-toto.io/Statement/v2' })],
    ['a missing subject', JSON.stringify({ ...good, subject: undefined })],
    ['an empty subject list', JSON.stringify({ ...good, subject: [] })],
    ['a digest map of numbers', JSON.stringify({ ...good, subject: [{ digest: { sha256: 1 } }] })],
    ['a short sha256', JSON.stringify({ ...good, subject: [{ digest: { sha256: HEX.slice(1) } }] })],
    ['uppercase hex', JSON.stringify({ ...good, subject: [{ digest: { sha256: HEX.toUpperCase() } }] })],
    ['a missing predicateType', JSON.stringify({ ...good, predicateType: undefined })],
    ['a string predicate', JSON.stringify({ ...good, predicate: 'x' })],
    [
      'non-object annotations',
      JSON.stringify({ ...good, subject: [{ digest: { sha256: HEX }, annotations: 'a' }] }),
    ],
  ])('rejects %s with SIGNATURE_INVALID', async (_, input) => {
    await expectChartproofError(
      Promise.resolve().then(() => parseInTotoStatement(input)),
      'SIGNATURE_INVALID',
    );
  });

  it('statementHasSubject compares algorithm and hex', () => {
    const s = parseInTotoStatement(JSON.stringify(good));
    expect(statementHasSubject(s, `sha256:${HEX}`)).toBe(true);
    expect(statementHasSubject(s, `sha256:${'0'.repeat(64)}`)).toBe(false);
    expect(statementHasSubject(s, `sha512:${'a'.repeat(128)}`)).toBe(false);
  });
});

describeVectors(sigstoreVectorsAvailable('statement (cosign v3.0.4 vector)'))(
  'the cosign v3.0.4 bundle statement',
  () => {
    const dir = join(SIGSTORE_VECTORS, 'cosign-oci', 'cosign-v3.0.4-bundle-referrer');
    const bundle = JSON.parse(readFileSync(join(dir, 'bundle-sigstore.json'), 'utf8'));
    const payload = Buffer.from(bundle.dsseEnvelope.payload, 'base64');
    const subjectDigest = readFileSync(join(dir, 'subject-digest.txt'), 'utf8').trim();

    it('parses, and its subject is subject-digest.txt', () => {
      const s = parseInTotoStatement(payload);
      expect(s.predicateType).toBe(COSIGN_SIGN_PREDICATE_TYPE);
      expect(s.predicate).toBeUndefined(); // cosign ≤ 3.0.4 wrote no predicate
      expect(s.subject).toHaveLength(1);
      expect(statementHasSubject(s, subjectDigest)).toBe(true);
    });

    it('differs from our statement only by the predicate cosign 3.0.5 added', () => {
      const ours = text(cosignSignStatement(subjectDigest));
      expect(ours.replace(',"predicate":{}', '')).toBe(payload.toString('utf8'));
    });
  },
);
