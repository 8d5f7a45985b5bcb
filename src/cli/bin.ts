// The `chartproof` program (dist/cli.js). It checks the Node.js version before loading
// anything else: the CLI and its dependencies (undici) are imported only afterwards,
// so an unsupported Node prints one line and exits 2 instead of a stack trace.
import { isSupportedNode, unsupportedNodeMessage } from './node-version.js';

const version = process.versions.node;
if (!isSupportedNode(version)) {
  process.stderr.write(`${unsupportedNodeMessage(version)}\n`);
  process.exitCode = 2;
} else {
  import('./main.js')
    .then(
      ({ run }) =>
        run(process.argv.slice(2)).then((code) => {
          process.exitCode = code;
        }),
      (err: unknown) => {
        process.stderr.write(`internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
        process.exitCode = 3;
      },
    )
    .catch((err: unknown) => {
      process.stderr.write(`internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = 3;
    });
}
