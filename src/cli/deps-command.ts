import { verifyDependencies } from '../lock/verify.js';
import type { Command } from './commands.js';
import { Exit, UsageError } from './io.js';

const USAGE = 'deps verify PATH [--json]';

/**
 * `chartproof deps verify PATH`: offline `Chart.lock` checks of a chart directory or
 * `.tgz`. Prints one line per dependency (`OK: …` / `FAIL: …`), the lock's
 * out-of-sync error as `FAIL: <message>`, and `All dependency checks passed.` when
 * everything holds (exit 0); otherwise exit 1. `--json` prints the report instead.
 */
export const DEPS_COMMAND: Command = {
  usage: USAGE,
  summary: 'check Chart.lock against Chart.yaml and the vendored charts/',
  help:
    '\nverify: the Chart.lock digest must match Chart.yaml (Helm 2 requirements.lock hashes are accepted for\n' +
    'apiVersion v1 charts), every locked dependency must be vendored in charts/ with the locked version,\n' +
    'and nothing unlocked may be vendored. Works offline on a chart directory or .tgz.\n' +
    'Not yet: per-dependency content digests, and the `pin` and `build` subcommands (later releases).\n',
  async run(ctx) {
    const [sub, path, ...rest] = ctx.args;
    if (sub !== 'verify') {
      throw new UsageError(
        sub === undefined
          ? `expected: chartproof ${USAGE}`
          : `unknown deps subcommand "${sub}": expected verify`,
      );
    }
    if (path === undefined || rest.length > 0) throw new UsageError(`expected: chartproof ${USAGE}`);
    const report = await verifyDependencies(path);
    const code = report.ok ? Exit.ok : Exit.verification;
    if (ctx.flags.json) {
      ctx.io.stdout(`${JSON.stringify(report, null, 2)}\n`);
      return code;
    }
    if (report.lock.warning) ctx.io.stderr(`warning: ${report.lock.warning}\n`);
    const lines: string[] = [];
    if (!report.lock.inSync && report.lock.message) lines.push(`FAIL: ${report.lock.message}`);
    for (const d of report.dependencies) {
      const id = `${d.name}-${d.version}`;
      switch (d.status) {
        case 'ok':
          lines.push(`OK: ${id} present`);
          break;
        case 'missing':
          lines.push(`FAIL: ${id} missing`);
          break;
        case 'not-locked':
          lines.push(`FAIL: ${id} not in Chart.lock`);
          break;
        case 'version-mismatch':
          lines.push(`FAIL: ${id} version mismatch (${d.detail})`);
          break;
      }
    }
    if (report.ok) lines.push('All dependency checks passed.');
    ctx.io.stdout(`${lines.join('\n')}\n`);
    return code;
  },
};
