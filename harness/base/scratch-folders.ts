/**
 * The harness's scratch folders under the system's temporary folder, named for the process that
 * made them: `mah-<kind>-<pid namespace>-<pid>-XXXXXX`. Each is removed by its owner when done; a
 * process killed before that (SIGKILL, a crash, a machine stopped mid-run) leaves its folders, and
 * the next session's sweep removes those whose process is gone. Only its own pid namespace's: a
 * container sharing /tmp sees other pids, and would take a live process's folder for a dead one's.
 */
import { readlinkSync, rmSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type ScratchKind = 'verify' | 'network' | 'build' | 'steps' | 'scenario';

const NAME = /^mah-(verify|network|build|steps|scenario)-(\d+)-(\d+)-[A-Za-z0-9]{6}$/;

/** This process's pid namespace, by its inode (0 where there is no /proc). */
let namespace: string | undefined;
export function pidNamespace(): string {
  if (namespace === undefined) {
    try {
      namespace = /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? '0';
    } catch {
      namespace = '0';
    }
  }
  return namespace;
}

export function scratchFolder(kind: ScratchKind): Promise<string> {
  return mkdtemp(join(tmpdir(), `mah-${kind}-${pidNamespace()}-${process.pid}-`));
}

const perProcess = new Map<ScratchKind, Promise<string>>();

/** One scratch folder of this kind for the whole process, removed when it exits; made again if making it failed. */
export function processScratchFolder(kind: ScratchKind): Promise<string> {
  let folder = perProcess.get(kind);
  if (!folder) {
    folder = scratchFolder(kind).then((path) => {
      process.once('exit', () => {
        try {
          rmSync(path, { recursive: true, force: true });
        } catch {
          // Nothing more can be done while exiting; the next session's sweep removes it.
        }
      });
      return path;
    });
    folder.catch(() => perProcess.delete(kind));
    perProcess.set(kind, folder);
  }
  return folder;
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

/**
 * Removes the scratch folders of this pid namespace's processes that are gone; returns how many.
 * Another namespace's, another user's, or one that will not go, stays.
 */
export async function sweepScratchFolders(dir = tmpdir()): Promise<number> {
  const names = await readdir(dir).catch(() => [] as string[]);
  let removed = 0;
  for (const name of names) {
    const m = NAME.exec(name);
    if (!m || m[2] !== pidNamespace() || pidAlive(Number(m[3]))) continue;
    const gone = await rm(join(dir, name), { recursive: true, force: true }).then(
      () => true,
      () => false,
    );
    if (gone) removed++;
  }
  return removed;
}
