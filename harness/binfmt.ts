/**
 * Reads binfmt_misc handler registrations (the text of /proc/sys/fs/binfmt_misc/<name>), either
 * from this host's /proc or, when the engine runs elsewhere, through a container on the engine.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { docker } from './docker.ts';
import { labelArgs } from './run-context.ts';

export interface BinfmtHandler {
  name: string;
  enabled: boolean;
  interpreter: string;
  /** Flags as the kernel prints them, e.g. "PF", "POCF". F: interpreter opened at registration. */
  flags: string;
  magic?: string;
}

export const BINFMT_DIR = '/proc/sys/fs/binfmt_misc';

export function parseHandler(name: string, text: string): BinfmtHandler {
  const field = (key: string) => new RegExp(`^${key}\\s*:?\\s*(.*)$`, 'm').exec(text)?.[1]?.trim();
  const magic = field('magic');
  return {
    name,
    enabled: /^enabled$/m.test(text),
    interpreter: field('interpreter') ?? '',
    flags: (field('flags') ?? '').replace(/^:\s*/, ''),
    ...(magic ? { magic } : {}),
  };
}

/** Handlers registered on this host; an empty list when binfmt_misc is not mounted. */
export async function readLocalHandlers(dir = BINFMT_DIR): Promise<BinfmtHandler[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const handlers: BinfmtHandler[] = [];
  for (const name of names) {
    if (name === 'register' || name === 'status') continue;
    const text = await readFile(join(dir, name), 'utf8').catch(() => undefined);
    if (text !== undefined) handlers.push(parseHandler(name, text));
  }
  return handlers;
}

/**
 * Handlers as the engine's kernel sees them (Docker Desktop's VM, a remote DOCKER_HOST): read by a
 * short-lived container that bind-mounts the engine host's binfmt_misc folder read-only.
 */
export async function readEngineHandlers(image: string, labels: readonly string[]): Promise<BinfmtHandler[]> {
  const script = `for f in /binfmt/*; do n=\${f##*/}; [ "$n" = register ] || [ "$n" = status ] && continue; echo "==> $n"; cat "$f"; done`;
  const r = await docker(
    ['run', '--rm', ...labelArgs(labels), '-v', `${BINFMT_DIR}:/binfmt:ro`, image, 'sh', '-c', script],
    { check: false, timeoutMs: 60_000 },
  );
  if (r.exitCode !== 0) return [];
  return r.stdout
    .split(/^==> /m)
    .filter(Boolean)
    .map((chunk) => {
      const [first, ...rest] = chunk.split('\n');
      return parseHandler(first!.trim(), rest.join('\n'));
    });
}

/** The engine's handlers: from this host's /proc when the engine is local, else through a container. */
export async function readHandlers(o: { engineIsLocal: boolean; probeImage?: string; labels?: readonly string[] }): Promise<BinfmtHandler[]> {
  return o.engineIsLocal ? readLocalHandlers() : readEngineHandlers(o.probeImage ?? 'alpine:latest', o.labels ?? []);
}
