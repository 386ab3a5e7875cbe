/**
 * The door of harness/image-source/: what other folders use of it. Another folder imports this module only.
 */
export { ImageTargetError, parseImageTarget } from './image-target.ts';
export type { ImageTarget, LocalImageTarget } from './image-target.ts';
export { LocalImageError } from './local-image-error.ts';
export { imageReference, openImageSource, openLocalSource } from './open-source.ts';
export { platformArchive } from './platform-archive.ts';
