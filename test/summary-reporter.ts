import type { Reporter, TestModule, TestRunEndReason } from 'vitest/node';

// Prints one plain closing line, `N passed, N failed, N skipped`, after vitest's own
// summary, so that CI logs can be read without parsing vitest's formatting. A test
// file that fails outside its tests (an import or collection error) counts as one
// failure, so the line never reads "0 failed" for a broken run.
export default class SummaryReporter implements Reporter {
  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<unknown> = [],
    _reason?: TestRunEndReason,
  ): void {
    let passed = 0;
    let failed = unhandledErrors.length;
    let skipped = 0;
    for (const mod of testModules) {
      if (mod.errors().length > 0) failed++;
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
