/**
 * The door of harness/registry/: what other folders use of it. Another folder imports this module only.
 */
export { withBlobCache } from './blob-cache.ts';
export { RegistryClient, checkDigest, configPlatform, DigestMismatchError, isDigest, MAX_JSON_BYTES, readIndex } from './client.ts';
export type { Descriptor, FetchedManifest, ImageConfig, ImageSource, IndexEntry, IndexView, ReferrerList } from './client.ts';
export { CredentialHelperError, findCredentials } from './credentials.ts';
export { isTag, parseImageRef, pinned } from './image-ref.ts';
export type { ImageRef } from './image-ref.ts';
