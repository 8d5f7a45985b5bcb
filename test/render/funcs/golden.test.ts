/**
 * Expressions and the exact text real Helm v4.1.4 printed for them (recorded by
 * helm-diff.test.ts with CP_FUNCS_RECORD=1, TZ=UTC). Runs without Helm.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { callError, render } from './helpers.js';

type Golden = [string, string][];
const load = (f: string): Golden => JSON.parse(readFileSync(join(__dirname, f), 'utf8')) as Golden;

beforeAll(() => {
  process.env.TZ = 'UTC'; // the recording ran with TZ=UTC ("Local" = UTC)
});

describe('template functions match recorded Helm output', () => {
  const golden = load('helm-golden.json');
  it('has a recording', () => expect(golden.length).toBeGreaterThan(100));
  it.each(golden)('%s', (expr, expected) => {
    expect(render(expr)).toBe(expected);
  });
});

describe('template function errors match recorded Helm errors', () => {
  const golden = load('helm-golden-errors.json');
  it.each(golden)('%s', (expr, expected) => {
    let message = '';
    try {
      render(expr);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(callError(message)).toBe(expected);
  });
});
