import { expect } from 'vitest';
import { ChartproofError } from '../../src/errors.js';

/**
 * Awaits `p`, expects it to reject with a `ChartproofError` of `code` (and, when
 * given, a message matching `message`), and returns the error.
 */
export async function expectChartproofError(
  p: Promise<unknown>,
  code: string,
  message?: RegExp,
): Promise<ChartproofError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ChartproofError);
  expect((err as ChartproofError).code).toBe(code);
  if (message) expect((err as ChartproofError).message).toMatch(message);
  return err as ChartproofError;
}

/** Runs `fn`, expects it to throw a `ChartproofError` of `code` (and `message`), returns the error. */
export function expectThrowsCode(fn: () => unknown, code: string, message?: RegExp): ChartproofError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ChartproofError);
  expect((err as ChartproofError).code).toBe(code);
  if (message) expect((err as ChartproofError).message).toMatch(message);
  return err as ChartproofError;
}
