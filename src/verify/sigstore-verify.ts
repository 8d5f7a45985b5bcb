/**
 * `@sigstore/verify` and the protobuf messages it reads, loaded on the first
 * verification that needs them (~50 ms) rather than with every module that can verify
 * (the CLI loads those for any command). Both packages are CommonJS: the instance is
 * the one an `import` would give.
 * @internal
 */
import type * as ProtobufSpecs from '@sigstore/protobuf-specs';
import type * as SigstoreVerify from '@sigstore/verify';
import { requireDependency } from '../internal/lazy-require.js';

export function sigstoreVerify(): typeof SigstoreVerify {
  return requireDependency<typeof SigstoreVerify>('@sigstore/verify');
}

export function protobufSpecs(): typeof ProtobufSpecs {
  return requireDependency<typeof ProtobufSpecs>('@sigstore/protobuf-specs');
}
