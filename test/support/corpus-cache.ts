/**
 * Where the real-software corpus is kept, and how: one folder in the harness's state folder,
 * `<state>/corpus/` (harness/base/state-dir.ts: /var/lib/multiarch-harness as root), so a clean clone
 * (CI) finds it fetched and a `git clean` never throws it away. The set-up fills it
 * (setup/fetch-corpus.ts, a step of setup/prepare-host.sh); the corpus suite fills what is missing
 * itself, so `npm run test:corpus` alone works too.
 *
 *   <state>/corpus/trees/<recipe>/<platform>/   root filesystems of corpus.ts, each with its tree.json
 *   <state>/corpus/npm/<package>@<version>/     npm release packages, unpacked (npm-binaries.ts)
 *   <state>/corpus/debian/                      apt state of the suites/architectures the stand-ins'
 *                                               shared one (<state>/apt-<suite>) does not have, and the
 *                                               records of the Debian packages the suite reads
 *   <state>/corpus/go-hello/<go>-<source>/      samples/hello-go built here for every platform
 *   <state>/corpus/locks/, tmp/                 one builder at a time; half-built things, never read
 *
 * Nothing downloads or compiles here: these are the helpers the fetching modules share.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readStateFile, stateDir, writeStateFile } from '../../harness/base/state-dir.ts';

/** `<state>/corpus`, read when called (MULTIARCH_STATE_DIR may be set after this module loads). */
export function corpusDir(): string {
  return join(stateDir(), 'corpus');
}

export async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

// ---------------------------------------------------------------------------------------------
// Digests
// ---------------------------------------------------------------------------------------------

/** A file's digest, read as a stream (npm tarballs, .debs and binaries of tens of MB). */
export async function fileDigest(path: string, algorithm: string, encoding: 'hex' | 'base64'): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest(encoding);
}

/**
 * Whether a file matches a Subresource Integrity string as npm's registry gives it in
 * `dist.integrity` ("sha512-<base64>"; several, space-separated, when any one matches).
 */
export async function matchesIntegrity(path: string, integrity: string): Promise<boolean> {
  for (const entry of integrity.trim().split(/\s+/)) {
    const m = /^(sha\d+)-([A-Za-z0-9+/=]+)$/.exec(entry);
    if (m && (await fileDigest(path, m[1]!, 'base64')) === m[2]) return true;
  }
  return false;
}

/** The SRI string of a file ("sha512-<base64>"), for messages. */
export async function integrityOf(path: string): Promise<string> {
  return `sha512-${await fileDigest(path, 'sha512', 'base64')}`;
}

/**
 * What a folder holds, path by path (relative, "/"-separated): "sha256:<hex>" for a file,
 * "link:<target>" for a symlink, "dir" for a folder. Written into a marker when something is put
 * into the cache and compared when it is read again, so a damaged or half-replaced tree is
 * rebuilt, not read. Reading ~100 MB takes a fraction of a second.
 */
export async function contentDigests(root: string, skip: readonly string[] = []): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      if (!rel && skip.includes(name)) continue;
      const full = join(root, path);
      const st = await lstat(full);
      if (st.isSymbolicLink()) out[path] = `link:${await readlink(full)}`;
      else if (st.isDirectory()) {
        out[path] = 'dir';
        await walk(path);
      } else if (st.isFile()) out[path] = `sha256:${await fileDigest(full, 'sha256', 'hex')}`;
    }
  };
  await walk('');
  return out;
}

/** Whether `root` still holds exactly what `recorded` (contentDigests' answer at the time) says. */
export async function sameContents(
  root: string,
  recorded: Record<string, string> | undefined,
  skip: readonly string[] = [],
): Promise<boolean> {
  if (!recorded || typeof recorded !== 'object') return false;
  const now = await contentDigests(root, skip).catch(() => undefined);
  if (!now) return false;
  const keys = Object.keys(now);
  return keys.length === Object.keys(recorded).length && keys.every((k) => recorded[k] === now[k]);
}

/** A JSON marker, parsed; undefined when missing or damaged (the state folder's own reading). */
export const readMarker = readStateFile;

/** Writes a JSON marker whole or not at all (the state folder's own writing). */
export async function writeMarker(file: string, value: unknown): Promise<void> {
  await writeStateFile(file, `${JSON.stringify(value, null, 2)}\n`);
}

// ---------------------------------------------------------------------------------------------
// Lock and temporary folders
// ---------------------------------------------------------------------------------------------

function lockName(name: string): string {
  return name.replace(/[^A-Za-z0-9._@+-]/g, '-');
}

/**
 * Runs fn holding the lock `name`: a folder `<corpus>/locks/<name>` holding the owner's pid, taken
 * over from a dead owner; others (processes, or calls of this one) wait for it, up to 30 minutes.
 * So the set-up's fetch and a test run, or two test files, never build the same thing at once.
 * Not re-entrant: code holding a lock must not ask for the same one again.
 */
export async function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const locks = join(corpusDir(), 'locks');
  const lock = join(locks, lockName(name));
  await mkdir(locks, { recursive: true });
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(join(lock, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(await readFile(join(lock, 'pid'), 'utf8').catch(() => ''));
      const age =
        Date.now() -
        (await stat(lock).then(
          (s) => s.mtimeMs,
          () => Date.now(),
        ));
      const dead = pid > 0 ? !alive(pid) : age > 60_000;
      if (dead) {
        await rm(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${lock} is held by process ${pid} for more than 30 minutes.`, { cause: e });
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A new temporary folder `<corpus>/tmp/<name>.<pid>.<random>`, on the cache's file system (so a
 * finished thing is renamed into place, never copied). Call it holding the lock `name`: leftovers
 * of `name` from an interrupted run are removed first (only the lock's holder makes them).
 */
export async function tempFolder(name: string): Promise<string> {
  const tmpRoot = join(corpusDir(), 'tmp');
  const prefix = `${lockName(name)}.`;
  for (const entry of await readdir(tmpRoot).catch(() => [] as string[])) {
    if (entry.startsWith(prefix)) await rm(join(tmpRoot, entry), { recursive: true, force: true });
  }
  const dir = join(tmpRoot, `${prefix}${process.pid}.${randomBytes(4).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** Promise.all that waits for every promise before failing, so nothing still writes into a folder being removed. */
export async function settleAll<T>(promises: Array<Promise<T>>): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}
