/**
 * The harness's scratch folders under the system's temporary folder, named for the process that
 * made them: `mah-<kind>-<pid>-XXXXXX`. Each is removed by its owner when done; a process killed
 * before that (SIGKILL, a crash, a machine stopped mid-run) leaves its folders, and the next
 * session's sweep removes those whose process is gone.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type ScratchKind = 'verify' | 'network' | 'build' | 'steps' | 'scenario';

const NAME = /^mah-(verify|network|build|steps|scenario)-(\d+)-[A-Za-z0-9]{6}$/;

export function scratchFolder(kind: ScratchKind): Promise<string> {
  return mkdtemp(join(tmpdir(), `mah-${kind}-${process.pid}-`));
}

/** Whether a process with this id exists (EPERM: it does, another user's). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the scratch folders of processes that are gone; returns how many. Another user's, or one that will not go, stays. */
export async function sweepScratchFolders(dir = tmpdir()): Promise<number> {
  const names = await readdir(dir).catch(() => [] as string[]);
  let removed = 0;
  for (const name of names) {
    const m = NAME.exec(name);
    if (!m || pidAlive(Number(m[2]))) continue;
    const gone = await rm(join(dir, name), { recursive: true, force: true }).then(() => true, () => false);
    if (gone) removed++;
  }
  return removed;
}
