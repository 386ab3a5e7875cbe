/** Program versions kept by file identity (host/version-cache.ts): asked once, asked again when the file changes or the record is damaged. */
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test, vi } from 'vitest';

let state: string;
beforeEach(async () => {
  state = await mkdtemp(join(tmpdir(), 'mah-versions-'));
  process.env.MULTIARCH_STATE_DIR = state;
  vi.resetModules(); // the cache is read once per process: a fresh module per test
});
afterEach(async () => {
  delete process.env.MULTIARCH_STATE_DIR;
  await rm(state, { recursive: true, force: true });
});

test('asked once per file; a replaced file is asked again', async () => {
  const { versionOfFile } = await import('../../harness/host/version-cache.ts');
  const program = join(state, 'qemu-fake');
  await writeFile(program, 'v1');
  const ask = vi.fn(async () => '1.0');
  expect(await versionOfFile(program, ask)).toBe('1.0');
  expect(await versionOfFile(program, ask)).toBe('1.0');
  expect(ask).toHaveBeenCalledTimes(1);
  await writeFile(program, 'v2, longer');
  await utimes(program, new Date(), new Date(Date.now() + 5000));
  expect(await versionOfFile(program, async () => '2.0')).toBe('2.0');
});

test('a damaged record is no answer, and is written again', async () => {
  await writeFile(join(state, 'program-versions.json'), '{"half": ');
  const { versionOfFile } = await import('../../harness/host/version-cache.ts');
  const program = join(state, 'qemu-fake');
  await writeFile(program, 'v1');
  expect(await versionOfFile(program, async () => '3.1')).toBe('3.1');
  vi.resetModules();
  const again = await import('../../harness/host/version-cache.ts');
  expect(await again.versionOfFile(program, async () => 'not asked')).toBe('3.1');
});

test('versions asked at once are all kept', async () => {
  const { versionOfFile } = await import('../../harness/host/version-cache.ts');
  const programs = await Promise.all(
    Array.from({ length: 8 }, async (_, i) => {
      const p = join(state, `qemu-${i}`);
      await writeFile(p, `program ${i}`);
      return p;
    }),
  );
  await Promise.all(programs.map((p, i) => versionOfFile(p, async () => `${i}.0`)));
  vi.resetModules();
  const again = await import('../../harness/host/version-cache.ts');
  const seen = await Promise.all(programs.map((p) => again.versionOfFile(p, async () => 'not asked')));
  expect(seen).toEqual(programs.map((_, i) => `${i}.0`));
});
