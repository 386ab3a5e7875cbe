/**
 * The harness's state folder: observation caches (host/observe.ts) and session records
 * (session/session.ts). MULTIARCH_STATE_DIR, else /var/lib/multiarch-harness as root, else
 * ~/.cache/multiarch-harness.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
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
