/**
 * Reads binfmt_misc handler registrations (the text of /proc/sys/fs/binfmt_misc/<name>), either
 * from this host's /proc or, when the engine runs elsewhere, through a container on the engine.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Engine, runContainer } from '../engine/index.ts';
import { Session } from '../session/index.ts';
import type { BinfmtHandler, Platform } from '../platform/index.ts';
import { elfHeaderOf } from './probe-program.ts';

export type { BinfmtHandler } from '../platform/index.ts';

export const BINFMT_DIR = '/proc/sys/fs/binfmt_misc';

export function parseHandler(name: string, text: string): BinfmtHandler {
  // Within one line: a handler without flags prints `flags: ` and its offset on the next line.
  const field = (key: string) => new RegExp(`^${key}[ \\t]*:?[ \\t]*(.*)$`, 'm').exec(text)?.[1]?.trim();
  const magic = field('magic');
  const mask = field('mask');
  const offset = field('offset');
  return {
    name,
    enabled: /^enabled$/m.test(text),
    interpreter: field('interpreter') ?? '',
    flags: (field('flags') ?? '').replace(/^:\s*/, ''),
    ...(offset !== undefined && /^\d+$/.test(offset) ? { offset: Number(offset) } : {}),
    ...(magic ? { magic } : {}),
    ...(mask ? { mask } : {}),
  };
}

/**
 * The enabled handler the kernel would hand a file with this header to, as binfmt_misc decides:
 * the file's bytes at the handler's offset, masked, equal the magic. None: the kernel runs it
 * itself (or refuses it). binfmt_misc is consulted before the kernel's own ELF loader, so a
 * matching handler wins even for a binary the kernel could run natively.
 */
export function matchingHandler(handlers: readonly BinfmtHandler[], header: Uint8Array): BinfmtHandler | undefined {
  return handlers.find((h) => {
    if (!h.enabled || !h.magic) return false;
    const magic = Buffer.from(h.magic, 'hex');
    const mask = h.mask ? Buffer.from(h.mask, 'hex') : undefined;
    const at = h.offset ?? 0;
    if (header.length < at + magic.length) return false;
    // As the kernel compares (fs/binfmt_misc.c): the bytes that differ from the magic, masked, are none.
    return magic.every((byte, i) => ((header[at + i]! ^ byte) & (mask?.[i] ?? 0xff)) === 0);
  });
}

/**
 * Handlers registered on this host; an empty list when binfmt_misc is not mounted. Read
 * synchronously: some 30 files of a few hundred bytes in /proc, 15 ms of CPU one async read after
 * another, well under one this way.
 */
export async function readLocalHandlers(dir = BINFMT_DIR): Promise<BinfmtHandler[]> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const handlers: BinfmtHandler[] = [];
  for (const name of names) {
    if (name === 'register' || name === 'status') continue;
    try {
      handlers.push(parseHandler(name, readFileSync(join(dir, name), 'utf8')));
    } catch {
      // Unregistered while being read: not a handler any more.
    }
  }
  return handlers;
}

/** The image a container reads an engine's handlers with (a shell and cat); the engine pulls it when it lacks it. */
const HANDLER_READER_IMAGE = 'alpine:latest';

/**
 * Handlers as the engine's kernel sees them (Docker Desktop's VM, a remote DOCKER_HOST, a --node):
 * read by a short-lived container, labelled as the session's, that bind-mounts the engine host's
 * binfmt_misc folder read-only. (Its files are read by a program in the container: the engine's
 * archive of a path, `docker cp`, gives them as the empty files their size says they are.) The
 * image is recorded with the session before the engine may pull it, so it is removed with that
 * session's cleanup unless the engine had it before (or another session still uses it:
 * image-users.ts); with no session (doctor), a session of its own does the same around the read.
 */
export async function readEngineHandlers(image: string, session?: Session): Promise<BinfmtHandler[]> {
  const own = session ? undefined : new Session();
  try {
    // 404: the engine lacks it and the run pulls it. Anything else (no answer, an odd one) is taken for "had it": never removed on a guess.
    const engine = Engine.current();
    const present = (await engine.imagesPresent([image], { timeoutMs: 20_000 }))?.has(image) ?? true;
    const owner = session ?? own!;
    owner.trackImage(image, { present });
    // As `docker run` would: pulled first when the engine lacks it (a pull that fails leaves no handlers to read).
    if (!present) await engine.pullImage(image).catch(() => undefined);
    // Labelled as the owner's: a container a signal leaves is swept like any other.
    return await readThrough(engine, image, owner);
  } finally {
    await own?.cleanup();
  }
}

async function readThrough(engine: Engine, image: string, owner: Session): Promise<BinfmtHandler[]> {
  const script = `for f in /binfmt/*; do n=\${f##*/}; [ "$n" = register ] || [ "$n" = status ] && continue; echo "==> $n"; cat "$f"; done`;
  const r = await runContainer(
    {
      name: `${owner.id}-binfmt-${Math.random().toString(36).slice(2, 7)}`,
      platform: '',
      image,
      cmd: ['sh', '-c', script],
      labels: owner.labelRecord,
      binds: [`${BINFMT_DIR}:/binfmt:ro`],
      timeoutMs: 60_000,
    },
    engine,
  ).catch(() => undefined);
  if (!r) return [];
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
export async function readHandlers(o: { engineIsLocal: boolean; session?: Session }): Promise<BinfmtHandler[]> {
  return o.engineIsLocal ? readLocalHandlers() : readEngineHandlers(HANDLER_READER_IMAGE, o.session);
}

/** The enabled handlers the kernel would hand a program of `platform` to (its ELF header matches their magic and mask). */
export function handlersFor(platform: Platform, handlers: readonly BinfmtHandler[]): BinfmtHandler[] {
  const header = elfHeaderOf(platform);
  return handlers.filter((h) => matchingHandler([h], header) !== undefined);
}
