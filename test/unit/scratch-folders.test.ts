/**
 * Scratch folders are named for their process (scratch-folders.ts), and the sweep removes those of
 * processes that are gone, and nothing else.
 */
import { execa } from 'execa';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pidAlive, pidNamespace, scratchFolder, sweepScratchFolders } from '../../harness/base/scratch-folders.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mah-scratch-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('scratch folders', () => {
  test('are named for their kind and process', async () => {
    const folder = await scratchFolder('verify');
    try {
      expect(basename(folder)).toMatch(new RegExp(`^mah-verify-${pidNamespace()}-${process.pid}-[A-Za-z0-9]{6}$`));
      expect(pidNamespace()).toMatch(/^[1-9]\d*$/);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  test("the sweep removes a gone process's folders in this pid namespace, and keeps a live one's, another namespace's and anything else", async () => {
    // A process that certainly ended: its pid, once it has.
    const gone = (await execa('sh', ['-c', 'echo $$'])).stdout.trim();
    expect(pidAlive(Number(gone))).toBe(false);
    const ns = pidNamespace();
    const kept = [
      `mah-verify-${ns}-${process.pid}-Live00`,
      `mah-build-1${ns}-${gone}-OtherN`,
      'mah-bench-AbC123',
      `mah-other-${ns}-${gone}-AbC123`,
      'unrelated',
    ];
    const swept = [`mah-build-${ns}-${gone}-AbC123`, `mah-network-${ns}-${gone}-x1y2z3`];
    for (const n of [...kept, ...swept]) await mkdir(join(dir, n, 'inside'), { recursive: true });
    expect(await sweepScratchFolders(dir)).toBe(2);
    expect((await readdir(dir)).sort()).toEqual(kept.sort());
  });
});
