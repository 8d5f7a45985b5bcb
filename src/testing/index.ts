/**
 * chartproof/testing: an in-memory OCI distribution registry for tests, usable as a
 * `fetch` function or over node:http.
 * @packageDocumentation
 */
// Types of MemoryStore's signatures, so this entry point is self-contained.
export type { Descriptor, Platform } from '../oci/descriptor.js';
export type { Digest } from '../oci/digest.js';
export type { MemoryStoreOptions } from '../oci/memory-store.js';
export { MemoryStore } from '../oci/memory-store.js';
export type {
  CallOptions,
  Deleter,
  Exister,
  Fetcher,
  Pusher,
  ReadOnlyTarget,
  ReferrerLister,
  ReferrersOptions,
  Resolver,
  TagLister,
  Tagger,
  Target,
} from '../oci/target.js';
export type { MemoryRegistryOptions, RecordedRequest } from './memory-registry.js';
export { MemoryRegistry } from './memory-registry.js';
export type { BasicAuthOptions, BearerAuthOptions, RegistryAuthOptions } from './registry-auth.js';
export type { DropNextOptions, FailNextOptions, FaultMatch, SlowNextOptions } from './registry-faults.js';
export type { ListenOptions, RunningRegistry } from './registry-server.js';
