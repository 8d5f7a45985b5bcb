import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      oci: 'src/oci/index.ts',
      chart: 'src/chart/index.ts',
      lock: 'src/lock/index.ts',
      sign: 'src/sign/index.ts',
      verify: 'src/verify/index.ts',
      mirror: 'src/mirror/index.ts',
      render: 'src/render/index.ts',
      workloads: 'src/workloads/index.ts',
      policy: 'src/policy/index.ts',
      testing: 'src/testing/index.ts',
    },
    format: ['esm', 'cjs'],
    // stripInternal: `@internal` members stay out of the published declarations.
    dts: { compilerOptions: { stripInternal: true } },
    clean: true,
    sourcemap: false,
    target: 'node22',
    platform: 'node',
    splitting: true,
    treeshake: true,
  },
  {
    // A tiny entry that checks the Node.js version, then imports the CLI (its own chunk).
    entry: { cli: 'src/cli/bin.ts' },
    format: ['esm'],
    // Required: without splitting the CLI's static imports would be hoisted into cli.js.
    splitting: true,
    dts: false,
    clean: false,
    sourcemap: false,
    target: 'node22',
    platform: 'node',
    banner: { js: '#!/usr/bin/env node' },
  },
]);
