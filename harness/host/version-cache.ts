/**
 * Versions of programs on this machine (QEMU builds, the buildx plugin), asked of each program once
 * and kept in the state folder by the file's identity: device, inode, size and modification time.
 * The same file gives the same answer; a replaced or upgraded one is asked again. Asking costs a
 * process each (11 QEMU handlers: about 0.2 s of every start); reading this costs one small file.
 */
import { realpathSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stateDir, writeStateFile } from '../base/index.ts';

let versions: Promise<Record<string, string>> | undefined;
const versionFile = () => join(stateDir(), 'program-versions.json');

function cache(): Promise<Record<string, string>> {
  versions ??= readFile(versionFile(), 'utf8').then(
    (t) => {
      try {
        return JSON.parse(t) as Record<string, string>;
      } catch {
        return {}; // A damaged file is asked again, and rewritten.
      }
    },
    () => ({}),
  );
  return versions;
}

/** The version of the program at `path`, from the cache when the file is the one asked before, else from `ask`. */
export async function versionOfFile(path: string, ask: (realPath: string) => Promise<string | undefined>): Promise<string | undefined> {
  // Synchronously: one call each for some 30 handlers at every start, cheaper than rounds through libuv's threads.
  let real: string;
  try {
    real = realpathSync.native(path);
  } catch {
    real = path;
  }
  let s: ReturnType<typeof statSync> | undefined;
  try {
    s = statSync(real);
  } catch {
    s = undefined;
  }
  const identity = s ? `${real}:${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}` : undefined;
  const known = identity ? (await cache())[identity] : undefined;
  if (known) return known;
  const version = await ask(real);
  if (version && identity) await remember(identity, version);
  return version;
}

/** Writes go one after another, each the whole map as it is then: a later write never loses an earlier version. */
let writing: Promise<void> = Promise.resolve();

async function remember(identity: string, version: string): Promise<void> {
  const all = await cache();
  all[identity] = version;
  writing = writing.then(async () => {
    try {
      await writeStateFile(versionFile(), JSON.stringify(all, null, 2));
    } catch {
      // A read-only state folder costs a process next time, nothing more.
    }
  });
  await writing;
}
