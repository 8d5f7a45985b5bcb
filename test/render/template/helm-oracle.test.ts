import { describe, expect, it } from 'vitest';
import { parseTemplates, TemplateError } from '../../../src/render/template/index.js';
import {
  DIRECT_OUTPUTS,
  EXEC_ERRORS,
  INCLUDE_CASES,
  MORE_EXEC_ERRORS,
  MORE_INCLUDE_CASES,
  PARSE_ERRORS,
  values,
} from './helm-oracle.cases.js';

// Cases recorded from the real Helm v4.1.4 binary (see helm-oracle.cases.ts).
const FILE = 'c/templates/t.yaml';

function runCase(text: string): string {
  return parseTemplates([{ name: 'case', text }], { missingKey: 'zero' }).execute('case', values());
}

function runFile(text: string): string {
  return parseTemplates([{ name: FILE, text }], { missingKey: 'zero' }).execute(FILE, { Values: values() });
}

function errorOf(fn: () => unknown): TemplateError {
  try {
    fn();
  } catch (e) {
    if (e instanceof TemplateError) return e;
    throw e;
  }
  throw new Error('expected a TemplateError');
}

describe('text/template output matches Helm v4.1.4', () => {
  it.each([...INCLUDE_CASES, ...MORE_INCLUDE_CASES])('%s', (text, expected) => {
    expect(runCase(text)).toBe(expected);
  });
});

describe('execution errors match Go', () => {
  it.each([...EXEC_ERRORS, ...MORE_EXEC_ERRORS])('%s', (text, message) => {
    const e = errorOf(() => runFile(text));
    expect(e.code).toBe('TEMPLATE_EXEC');
    expect(e.message).toBe(message);
  });
});

describe('parse errors match Go', () => {
  it.each(PARSE_ERRORS)('%s', (text, line, helmTail) => {
    const e = errorOf(() => runFile(text));
    expect(e.code).toBe('TEMPLATE_PARSE');
    const prefix = `template: ${FILE}:${line}: `;
    expect(e.message.startsWith(prefix)).toBe(true);
    // Helm prints only the tail of Go's message after its own prefix.
    const tail = e.message.slice(prefix.length);
    expect(tail.endsWith(helmTail) || tail.startsWith(helmTail)).toBe(true);
  });
});

describe('whole-file renders match Helm', () => {
  it.each(DIRECT_OUTPUTS)('%s', (text, document) => {
    // Helm deletes `<no value>` and trims each document; the engine leaves both to Helm's layer.
    expect(runFile(text).replaceAll('<no value>', '').trim()).toBe(document);
  });
});
