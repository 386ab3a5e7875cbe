/**
 * The harness's state folder: observation caches (host/observe.ts) and session records
 * (session/session.ts). MULTIARCH_STATE_DIR, else /var/lib/multiarch-harness as root, else
 * ~/.cache/multiarch-harness.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export function stateDir(): string {
  if (process.env.MULTIARCH_STATE_DIR) return process.env.MULTIARCH_STATE_DIR;
  return process.getuid?.() === 0 ? '/var/lib/multiarch-harness' : join(homedir(), '.cache', 'multiarch-harness');
}

/**
 * Writes a file of the state folder whole or not at all: under a name of its own first (concurrent
 * writers, of this process or another, never share one), then renamed over the old one, so a
 * reader never sees half a file. Its folder is made when missing.
 */
export async function writeStateFile(file: string, text: string | Uint8Array): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

/** A JSON file of the state folder, parsed; undefined when it is missing or damaged (then it is made again). */
export async function readStateFile<T>(file: string): Promise<T | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

/**
 * Keeps a cache folder of the state folder within bounds: files unused (not touched) for `idleMs`
 * go, then, with `maxBytes`, the least recently used until the rest fits.
 */
export async function pruneStateFolder(dir: string, bounds: { idleMs: number; maxBytes?: number }): Promise<void> {
  const now = Date.now();
  const kept: Array<{ file: string; size: number; used: number }> = [];
  for (const n of await readdir(dir).catch(() => [] as string[])) {
    const file = join(dir, n);
    const s = await stat(file).catch(() => undefined);
    if (!s) continue;
    if (now - s.mtimeMs > bounds.idleMs) await rm(file, { force: true });
    else kept.push({ file, size: s.size, used: s.mtimeMs });
  }
  if (bounds.maxBytes === undefined) return;
  let total = kept.reduce((t, f) => t + f.size, 0);
  for (const f of kept.sort((a, b) => a.used - b.used)) {
    if (total <= bounds.maxBytes) break;
    await rm(f.file, { force: true });
    total -= f.size;
  }
}
