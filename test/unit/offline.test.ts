/**
 * The unit project is offline and fast: none of its files imports what downloads (npm, Debian's
 * archive) or compiles (Go). Tests that need real third-party or freshly built binaries are in
 * test/corpus/ (`npm run test:corpus`), whose helpers are these.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';

const UNIT = import.meta.dirname;

/** Modules that fetch or build when called: the corpus project's helpers and what they stand on. */
const DOWNLOADS_OR_COMPILES = [
  'test/support/corpus.ts',
  'test/support/real-binaries.ts',
  'test/support/npm-binaries.ts',
  'test/support/debian-programs.ts',
  'test/support/go-toolchains.ts',
  'setup/go-build.ts',
  'setup/standins/debian-archive.ts',
];

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await files(path)));
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

describe('the unit project', () => {
  test('imports nothing that downloads or compiles', async () => {
    const found: string[] = [];
    for (const file of await files(UNIT)) {
      const text = await readFile(file, 'utf8');
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
        const spec = m[1]!;
        if (DOWNLOADS_OR_COMPILES.some((module) => spec.endsWith(module.replace(/^test\//, '')) || spec.endsWith(module)))
          found.push(`${file.slice(UNIT.length + 1)} imports ${spec}`);
      }
    }
    expect(found).toEqual([]);
  });
});
