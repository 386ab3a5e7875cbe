/**
 * The door of harness/image/: what other folders use of it. Another folder imports this module only.
 */
export { checkBinary } from './binary-rules.ts';
export { checkDependencies, readLoaderConfig } from './dynamic-deps.ts';
export type { DependencyProblem } from './dynamic-deps.ts';
export { readElf } from './elf.ts';
export type { ElfInfo } from './elf.ts';
export { ImageFsError, envMap, findEntryBinary, sizeText } from './filesystem.ts';
export type { EntryBinary, FsEntry, ImageFilesystem } from './filesystem.ts';
import type * as __layers from './layers.ts';
/** Loads layers.ts on its first call (it is heavy, and most runs never need it). */
export async function readImageFilesystem(
  ...args: Parameters<typeof __layers.readImageFilesystem>
): Promise<Awaited<ReturnType<typeof __layers.readImageFilesystem>>> {
  return (await import('./layers.ts')).readImageFilesystem(...args);
}
