/**
 * The door of harness/structure-file/: what other folders use of it. Another folder imports this module only.
 */
export { matches } from './patterns.ts';
export type {
  CommandTest,
  ContainerRunOptions,
  EnvVar,
  FileContentTest,
  FileExistenceTest,
  LicenseTest,
  MetadataTest,
  StructureTestFile,
} from './test-file.ts';
import type * as __test_file from './test-file.ts';
/** Loads test-file.ts on its first call (it is heavy, and most runs never need it). */
export async function mergeStructureTests(
  ...args: Parameters<typeof __test_file.mergeStructureTests>
): Promise<Awaited<ReturnType<typeof __test_file.mergeStructureTests>>> {
  return (await import('./test-file.ts')).mergeStructureTests(...args);
}
/** Loads test-file.ts on its first call (it is heavy, and most runs never need it). */
export async function readStructureTests(
  ...args: Parameters<typeof __test_file.readStructureTests>
): Promise<Awaited<ReturnType<typeof __test_file.readStructureTests>>> {
  return (await import('./test-file.ts')).readStructureTests(...args);
}
