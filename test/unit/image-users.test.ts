import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { claimImage, releaseImage } from '../../harness/session/image-users.ts';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mah-image-users-'));
  process.env.MULTIARCH_STATE_DIR = dir;
});
afterAll(async () => {
  delete process.env.MULTIARCH_STATE_DIR;
  await rm(dir, { recursive: true, force: true });
});

describe('sessions sharing an image', () => {
  const live = new Set<string>();
  const isLive = (id: string) => live.has(id);

  test('the session that brought the image in removes it when it is the only user', () => {
    claimImage('mah-a', 'r/app@sha256:1', undefined, false);
    expect(releaseImage('mah-a', 'r/app@sha256:1', undefined, isLive)).toBe(true);
  });

  test('two sessions at once: the first to finish keeps it for the other, the last removes it', () => {
    live.add('mah-a').add('mah-b');
    claimImage('mah-a', 'r/app@sha256:2', undefined, false);
    claimImage('mah-b', 'r/app@sha256:2', undefined, true); // a found it present: a pulled it
    live.delete('mah-a');
    expect(releaseImage('mah-a', 'r/app@sha256:2', undefined, isLive)).toBe(false);
    live.delete('mah-b');
    expect(releaseImage('mah-b', 'r/app@sha256:2', undefined, isLive)).toBe(true);
  });

  test('an image the engine had before any session is never removed', () => {
    claimImage('mah-c', 'alpine:latest', undefined, true);
    expect(releaseImage('mah-c', 'alpine:latest', undefined, isLive)).toBe(false);
  });

  test('a dead session does not keep an image alive; the same reference on another engine is another image', () => {
    claimImage('mah-dead', 'r/app@sha256:3', undefined, false);
    claimImage('mah-d', 'r/app@sha256:3', undefined, true);
    claimImage('mah-d', 'r/app@sha256:3', 'unix:///other.sock', true);
    expect(releaseImage('mah-d', 'r/app@sha256:3', undefined, isLive)).toBe(true);
    expect(releaseImage('mah-d', 'r/app@sha256:3', 'unix:///other.sock', isLive)).toBe(false);
  });
});
