import { describe, expect, it } from 'vitest';
import { ChartproofError } from '../../src/errors.js';
import { parseManifests } from '../../src/render/parse.js';

function thrown(fn: () => unknown): ChartproofError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ChartproofError);
    return e as ChartproofError;
  }
  throw new Error('expected an error');
}

describe('parseManifests', () => {
  it('splits a helm template stream, keeps # Source and the head fields, skips empty documents', () => {
    const text = [
      '---',
      '# Source: app/templates/sa.yaml',
      'apiVersion: v1',
      'kind: ServiceAccount',
      'metadata:',
      '  name: app',
      '  namespace: web',
      '---',
      '# Source: app/templates/empty.yaml',
      '# nothing rendered',
      '---',
      '---',
      '# Source: app/templates/deploy.yaml',
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: {name: app}',
      'spec: {replicas: 2}',
      '',
    ].join('\n');
    const docs = parseManifests(text);
    expect(docs.map((d) => [d.index, d.source, d.apiVersion, d.kind, d.name, d.namespace])).toEqual([
      [0, 'app/templates/sa.yaml', 'v1', 'ServiceAccount', 'app', 'web'],
      [1, 'app/templates/deploy.yaml', 'apps/v1', 'Deployment', 'app', undefined],
    ]);
    expect(docs[1]?.object).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'app' },
      spec: { replicas: 2 },
    });
    // Helm's splitting keeps a `---` that directly follows a separator inside the document.
    expect(docs[1]?.text).toBe(
      '---\n# Source: app/templates/deploy.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app}\nspec: {replicas: 2}',
    );
    expect(docs[0]?.text.startsWith('# Source: app/templates/sa.yaml\n')).toBe(true);
  });

  it('parses documents without # Source (kustomize/chartsnap output) and a leading comment document', () => {
    const docs = parseManifests(
      '# chartsnap: snapshot_version=v3\n---\nkind: ConfigMap\nmetadata:\n  name: a\n',
    );
    expect(docs).toHaveLength(1);
    expect(docs[0]?.source).toBeUndefined();
    expect(docs[0]?.kind).toBe('ConfigMap');
  });

  it('keeps non-string head fields out of the typed fields', () => {
    const [d] = parseManifests('kind: 3\nmetadata:\n  name: [a]\n');
    expect(d?.kind).toBeUndefined();
    expect(d?.name).toBeUndefined();
    expect(d?.object.kind).toBe(3);
  });

  it('duplicate keys: the last one wins, as in Kubernetes', () => {
    const [d] = parseManifests('kind: Pod\nkind: Deployment\n');
    expect(d?.kind).toBe('Deployment');
  });

  it('invalid YAML is TEMPLATE_OUTPUT_INVALID naming the template', () => {
    const e = thrown(() => parseManifests('---\n# Source: app/templates/bad.yaml\nkey: [unclosed\n'));
    expect(e.code).toBe('TEMPLATE_OUTPUT_INVALID');
    expect(e.message).toMatch(/app\/templates\/bad\.yaml/);
    const e2 = thrown(() => parseManifests('a: 1\n---\nb: "x\n'));
    expect(e2.code).toBe('TEMPLATE_OUTPUT_INVALID');
    expect(e2.message).toMatch(/document 2/);
  });

  it('records where the manifests came from on errors', () => {
    expect(thrown(() => parseManifests('a: [')).source).toBe('local');
    expect(thrown(() => parseManifests('a: [', { origin: 'remote' })).source).toBe('remote');
  });

  it('a document that is not a mapping is TEMPLATE_OUTPUT_INVALID', () => {
    expect(thrown(() => parseManifests('# Source: a/templates/l.yaml\n- 1\n- 2\n')).code).toBe(
      'TEMPLATE_OUTPUT_INVALID',
    );
    expect(thrown(() => parseManifests('just text')).message).toMatch(/not a mapping/);
  });

  it('bounds nesting depth, alias expansion, size and document count', () => {
    expect(thrown(() => parseManifests(`a: ${'['.repeat(500)}${']'.repeat(500)}`)).code).toBe(
      'DEPTH_LIMIT_EXCEEDED',
    );
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      bomb.push(`${cur}: &${cur} [${Array(10).fill(`*${prev}`).join(', ')}]`);
    }
    const e = thrown(() => parseManifests(bomb.join('\n')));
    expect(e.code).toBe('SIZE_LIMIT_EXCEEDED');
    expect(e.message).toMatch(/aliases/);
    expect(thrown(() => parseManifests('a: 1\n', { maxBytes: 3 })).code).toBe('SIZE_LIMIT_EXCEEDED');
    expect(thrown(() => parseManifests('a: 1\n---\nb: 2\n---\nc: 3\n', { maxDocuments: 2 })).code).toBe(
      'SIZE_LIMIT_EXCEEDED',
    );
    expect(parseManifests('a: 1\n---\nb: 2\n', { maxDocuments: 2 })).toHaveLength(2);
    // A few aliases stay fine.
    expect(parseManifests('a: &x {k: v}\nb: *x\n')[0]?.object).toEqual({ a: { k: 'v' }, b: { k: 'v' } });
  });
});
