import type { Reporter, TestModule } from 'vitest/node';

/**
 * Ends the run with one plain line, `tests: N passed, N failed` (", N skipped" when some were), counted from
 * vitest's own results: CI's record reads the last line of `npm test`, and vitest's coloured summary is not it.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    const counts = { passed: 0, failed: 0, skipped: 0, pending: 0 };
    for (const module of testModules) for (const test of module.children.allTests()) counts[test.result().state]++;
    // A module that failed to load has no tests to count: it is a failure all the same, as is an unhandled error.
    const brokenModules = testModules.filter((m) => m.state() === 'failed' && m.children.size === 0).length;
    const failed = counts.failed + brokenModules + unhandledErrors.length;
    const skipped = counts.skipped + counts.pending;
    process.stdout.write(
      `\ntests: ${counts.passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}\n`,
    );
  }
}
