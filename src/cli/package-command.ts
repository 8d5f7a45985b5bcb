import { type PackageOptions, packageChart, resolveSourceDateEpoch } from '../chart/package.js';
import type { Command } from './commands.js';
import { Exit, UsageError } from './io.js';

/**
 * `chartproof package DIR [-d DEST] [--source-date-epoch N] [--version V] [--app-version V]`:
 * writes a reproducible `<name>-<version>.tgz` like `helm package`.
 */
export const PACKAGE_COMMAND: Command = {
  usage: 'package DIR [-d DEST] [--source-date-epoch N] [--version V] [--app-version V]',
  summary: 'package a chart directory into a reproducible .tgz (like `helm package`)',
  localInput: true,
  help:
    '\nEntries are stamped with --source-date-epoch, else $SOURCE_DATE_EPOCH, else the files\u2019 modification times.\n' +
    'The same input and epoch always give the same bytes. Symbolic links in the chart directory are rejected.\n',
  options: {
    destination: { type: 'string', short: 'd' },
    'source-date-epoch': { type: 'string' },
    version: { type: 'string' },
    'app-version': { type: 'string' },
  },
  async run(ctx) {
    if (ctx.args.length !== 1) throw new UsageError(`expected 1 argument: chartproof ${this.usage}`);
    const dir = ctx.args[0]!;
    const options: PackageOptions = {};
    const destination = ctx.values.destination as string | undefined;
    if (destination !== undefined) options.destination = destination;
    const rawEpoch = ctx.values['source-date-epoch'] as string | undefined;
    if (rawEpoch !== undefined) {
      if (!/^[0-9]+$/.test(rawEpoch) || !Number.isSafeInteger(Number(rawEpoch))) {
        throw new UsageError(
          `--source-date-epoch must be a non-negative integer, got ${JSON.stringify(rawEpoch)}`,
        );
      }
      options.sourceDateEpoch = Number(rawEpoch);
    } else {
      const fromEnv = resolveSourceDateEpoch(undefined, ctx.io.env);
      if (fromEnv !== undefined) options.sourceDateEpoch = fromEnv;
    }
    const version = ctx.values.version as string | undefined;
    if (version !== undefined) options.version = version;
    const appVersion = ctx.values['app-version'] as string | undefined;
    if (appVersion !== undefined) options.appVersion = appVersion;
    const result = await packageChart(dir, options);
    if (ctx.flags.json) {
      ctx.io.stdout(`${JSON.stringify({ path: result.path, digest: result.digest }, null, 2)}\n`);
    } else {
      ctx.io.stdout(`Successfully packaged chart and saved it to: ${result.path}\n`);
    }
    return Exit.ok;
  },
};
