/**
 * chartproof/oci: a pure TypeScript OCI distribution client.
 * @packageDocumentation
 */
export type { AuthChallenge } from './auth/challenge.js';
export { parseWwwAuthenticate } from './auth/challenge.js';
export type {
  ConfigFileCredentialsOptions,
  Credential,
  CredentialProvider,
  DockerConfigFile,
} from './auth/credentials.js';
export {
  chainCredentials,
  configFileCredentials,
  defaultCredentials,
  dockerConfigPath,
  helmConfigPath,
  helmRegistryConfigPath,
  runCredentialHelper,
  staticCredentials,
} from './auth/credentials.js';
export type { LoginOptions } from './auth/login.js';
export { login, logout } from './auth/login.js';
export type { RegistryClientOptions } from './client.js';
export { RegistryClient } from './client.js';
export type { BlobMountCacheOptions, CopyEvent, CopyOptions, CopyResult } from './copy.js';
export { BlobMountCache, copy } from './copy.js';
export type { Descriptor, ImageIndex, ImageManifest, Platform } from './descriptor.js';
export { toDescriptor } from './descriptor.js';
export type { Digest, DigestAlgorithm, Digester, ParsedDigest } from './digest.js';
export { createDigester, digestOf, isDigest, parseDigest } from './digest.js';
export type { LayoutTransferOptions, OciLayoutOpenOptions } from './layout.js';
export { exportToLayout, importFromLayout, OciLayout } from './layout.js';
export { isIndexMediaType, isManifestMediaType, MANIFEST_MEDIA_TYPES, MediaType } from './media-types.js';
export type { MemoryStoreOptions } from './memory-store.js';
export { MemoryStore } from './memory-store.js';
export type { ParseReferenceOptions, Reference } from './reference.js';
export {
  apiHost,
  assertNoCredentials,
  DOCKER_HUB,
  formatReference,
  isValidRepositoryName,
  isValidTag,
  normalizeRegistry,
  parseReference,
  parseRepository,
  pinReference,
  referenceSelector,
} from './reference.js';
export { referrersTag } from './referrers.js';
export type { RepositoryOptions } from './repository.js';
export { Repository } from './repository.js';
export type { TagListOptions } from './tags.js';
export type {
  CallOptions,
  Deleter,
  Exister,
  FetchedManifest,
  Fetcher,
  ManifestFetcher,
  Mounter,
  MountPusher,
  Named,
  Pusher,
  ReadOnlyTarget,
  ReferrerLister,
  ReferrersOptions,
  Resolver,
  TagLister,
  Tagger,
  Target,
} from './target.js';
export { isMounter, isMountPusher, isReferrerLister, isTagLister } from './target.js';
export type {
  RegistryAuthEvent,
  RegistryAuthRefusedEvent,
  RegistryErrorEvent,
  RegistryEvent,
  RegistryEventBase,
  RegistryRedirectEvent,
  RegistryRequestEvent,
  RegistryResponseEvent,
  RegistryRetryEvent,
} from './transport/events.js';
export { formatRegistryEvent } from './transport/events.js';
export type {
  CreateFetchOptions,
  FetchLike,
  HostSettings,
  MinThroughput,
  RequestBody,
  Timeouts,
} from './transport/fetch.js';
export {
  createFetch,
  DEFAULT_MIN_THROUGHPUT,
  DEFAULT_LISTING_TIMEOUT,
  DEFAULT_REQUEST_TIMEOUT,
  readCaFile,
} from './transport/fetch.js';
export type { RetryPolicy } from './transport/retry.js';
export { parseRetryAfter } from './transport/retry.js';
export type { UploadOptions } from './upload.js';
export { MAX_ERROR_BODY_BYTES, MAX_MANIFEST_BYTES, readAll, verifyBytes, verifyStream } from './verify.js';
