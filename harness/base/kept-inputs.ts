/**
 * The files something kept in the state folder was made from (a compiled scenario, a bundled
 * package), and whether they are still the same. Each is recorded by path, size, inode,
 * modification time and change time: npm gives every file it installs the same modification time
 * (1985), but cannot set the change time, so a package installed again is seen.
 */
import { statSync } from 'node:fs';

export interface KeptInput {
  path: string;
  size: number;
  ino: number;
  mtimeMs: number;
  ctimeMs: number;
}

/**
 * The inputs as they are now. A file changed since `madeAt` (the start of the work that read
 * them) may not be the one that was read: undefined, and the caller keeps nothing.
 */
export function keptInputs(paths: readonly string[], madeAt: number): KeptInput[] | undefined {
  const inputs = paths.map((path) => {
    const s = statSync(path);
    return { path, size: s.size, ino: s.ino, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs };
  });
  return inputs.every((i) => i.mtimeMs < madeAt && i.ctimeMs < madeAt) ? inputs : undefined;
}

/** Whether every input is still there, the same file, unchanged. */
export function inputsUnchanged(inputs: readonly KeptInput[]): boolean {
  return inputs.every((i) => {
    const s = statSync(i.path, { throwIfNoEntry: false });
    return s !== undefined && s.size === i.size && s.ino === i.ino && s.mtimeMs === i.mtimeMs && s.ctimeMs === i.ctimeMs;
  });
}
