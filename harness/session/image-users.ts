/**
 * Which sessions use an image a session pulled or built, so that concurrent sessions sharing one
 * image (two verifies of the same index at once) never remove it under each other: the last user
 * removes it, unless the engine had it before any session used it. Kept in the state folder as
 * files, so it holds across processes and survives a SIGKILL:
 *
 *   <state>/images/<hash of engine and reference>/
 *     created | baseline   whether a session brought the image into the engine, or it was there
 *     <session id>         one empty file per session using it
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stateDir } from '../base/index.ts';

function folderOf(ref: string, dockerHost: string | undefined): string {
  return join(
    stateDir(),
    'images',
    createHash('sha256')
      .update(`${dockerHost ?? ''}\n${ref}`)
      .digest('hex')
      .slice(0, 24),
  );
}

/** This session uses the image; `presentNow`: the engine has it already (before this session pulls it). */
export function claimImage(sessionId: string, ref: string, dockerHost: string | undefined, presentNow: boolean): void {
  const dir = folderOf(ref, dockerHost);
  mkdirSync(dir, { recursive: true });
  const known = existsSync(join(dir, 'created')) || existsSync(join(dir, 'baseline'));
  if (!known || (!presentNow && existsSync(join(dir, 'baseline')))) {
    // The first user decides; a "baseline" image that is gone now was removed by someone else, and this session brings it back.
    rmSync(join(dir, 'baseline'), { force: true });
    writeFileSync(join(dir, presentNow ? 'baseline' : 'created'), `${ref}\n`);
  }
  writeFileSync(join(dir, sessionId), '');
}

/**
 * This session is done with the image: true when it must now be removed (a session brought it in
 * and no other live session uses it). `isLive` tells whether another session id is still running.
 */
export function releaseImage(sessionId: string, ref: string, dockerHost: string | undefined, isLive: (id: string) => boolean): boolean {
  const dir = folderOf(ref, dockerHost);
  rmSync(join(dir, sessionId), { force: true });
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return false;
  }
  if (names.some((n) => n !== 'created' && n !== 'baseline' && isLive(n))) return false;
  const created = names.includes('created');
  rmSync(dir, { recursive: true, force: true });
  return created;
}
