import { createRequire } from 'node:module';

/**
 * Loads one of this package's dependencies synchronously, on first use, for code that
 * must stay synchronous (e.g. the renderer's schema validation) yet should not make
 * every process that imports it pay for loading the dependency (Node caches the
 * module after the first call). Both builds resolve from this module's URL (tsup gives
 * the CommonJS build an `import.meta.url`); a bare `require` would not do, as the
 * bundler turns it into a stub that throws in the ES module build.
 */
export function requireDependency<T>(id: string): T {
  return createRequire(import.meta.url)(id) as T;
}
