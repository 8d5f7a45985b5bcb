/**
 * The Node.js versions the CLI runs on (package.json `engines`), checked before
 * anything else is loaded: no imports here, so an old Node prints one line instead of
 * a stack trace from a dependency.
 */
export const SUPPORTED_NODE = '^22.22.2 || ^24.15.0 || >=26';

/** True when `version` (`process.versions.node`, e.g. `24.15.0`) satisfies {@link SUPPORTED_NODE}. */
export function isSupportedNode(version: string): boolean {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (major === 22) return minor > 22 || (minor === 22 && patch >= 2);
  if (major === 24) return minor >= 15;
  return major >= 26;
}

/** The message printed (exit 2) on an unsupported Node.js. */
export function unsupportedNodeMessage(version: string): string {
  return `chartproof needs Node.js ${SUPPORTED_NODE} (found v${version.replace(/^v/, '')})`;
}
