// Runs API Extractor once per public entry point and compares (or, with --local,
// updates) the committed reports in etc/. Fails when the public API changed
// without the report being updated.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const local = process.argv.includes('--local');
const entries = [
  'index',
  'oci',
  'chart',
  'lock',
  'sign',
  'verify',
  'mirror',
  'render',
  'workloads',
  'policy',
  'testing',
];
mkdirSync(join(root, 'etc'), { recursive: true });
mkdirSync(join(root, 'temp'), { recursive: true });
let failed = false;
for (const entry of entries) {
  const dts = join(root, 'dist', `${entry}.d.ts`);
  if (!existsSync(dts)) {
    console.error(`api-report: ${dts} is missing; run npm run build first`);
    process.exit(1);
  }
  const config = ExtractorConfig.prepare({
    configObject: {
      projectFolder: root,
      mainEntryPointFilePath: dts,
      compiler: { tsconfigFilePath: join(root, 'tsconfig.json') },
      apiReport: {
        enabled: true,
        reportFileName: `${entry}.api.md`,
        reportFolder: join(root, 'etc'),
        reportTempFolder: join(root, 'temp'),
      },
      docModel: { enabled: false },
      dtsRollup: { enabled: false },
      tsdocMetadata: { enabled: false },
      messages: {
        extractorMessageReporting: {
          default: { logLevel: 'warning' },
          'ae-missing-release-tag': { logLevel: 'none' },
          'ae-internal-missing-underscore': { logLevel: 'none' },
          'ae-forgotten-export': { logLevel: 'warning', addToApiReportFile: true },
          // Member-level TSDoc is encouraged, not enforced; forgotten exports are.
          'ae-undocumented': { logLevel: 'none' },
        },
        tsdocMessageReporting: { default: { logLevel: 'none' } },
        compilerMessageReporting: { default: { logLevel: 'warning' } },
      },
    },
    configObjectFullPath: join(root, 'api-extractor.json'),
    packageJsonFullPath: join(root, 'package.json'),
  });
  const result = Extractor.invoke(config, {
    localBuild: local,
    showVerboseMessages: false,
    messageCallback: (m) => {
      if (m.logLevel === 'warning' || m.logLevel === 'error') {
        m.handled = true;
        console.error(
          `api-report [${entry}]: ${m.text}${m.sourceFilePath ? ` (${m.sourceFilePath}:${m.sourceFileLine})` : ''}`,
        );
      } else {
        m.handled = true;
      }
    },
  });
  if (!result.succeeded || (!local && result.apiReportChanged)) {
    failed = true;
    console.error(
      `api-report [${entry}]: ${result.apiReportChanged ? 'the public API changed; run `npm run api` and commit etc/' : 'failed'}`,
    );
  }
}
if (failed) process.exit(1);
console.log(`api-report: ${entries.length} entry points ${local ? 'updated' : 'match etc/'}`);
