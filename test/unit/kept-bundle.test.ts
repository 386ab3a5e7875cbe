/**
 * A package loaded from a kept bundle (kept-bundle.ts), in child processes as a CLI run would: it
 * gives what the package gives (its own __dirname per file, JSON, import() inside it), the code
 * cache kept by the first process is taken by the next, a changed file of the package (even one of
 * the same length) is bundled again, and MULTIARCH_BUNDLE_CACHE=off keeps nothing.
 */
import { execa } from 'execa';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
let dir = '';
let pkg = '';

const CHILD = (keptBundle: string) => `import { pathToFileURL } from 'node:url';
import { requireKept } from ${JSON.stringify(keptBundle)};
const m = await requireKept<{ value: string; libDir: string; version: string; later(): Promise<string> }>('fakepkg', pathToFileURL(process.cwd() + '/x.js').href);
console.log(JSON.stringify({ value: m.value, libDir: m.libDir, version: m.version, later: await m.later() }));
`;

async function child(state: string, env: Record<string, string> = {}) {
  const r = await execa('node', [join(ROOT, 'bin/run-ts.mjs'), join(dir, 'child.mts')], {
    cwd: dir,
    env: { MULTIARCH_STATE_DIR: state, ...env },
    reject: false,
  });
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { value: string; libDir: string; version: string; later: string };
}

const files = async (state: string) => (await readdir(join(state, 'bundles')).catch(() => [] as string[])).sort();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mah-kept-bundle-'));
  pkg = join(dir, 'node_modules', 'fakepkg');
  await mkdir(join(pkg, 'lib'), { recursive: true });
  await writeFile(join(pkg, 'package.json'), JSON.stringify({ name: 'fakepkg', version: '1.2.3', main: 'index.js' }));
  await writeFile(
    join(pkg, 'index.js'),
    [
      "const a = require('./lib/a.js');",
      'exports.value = a.value;',
      'exports.libDir = a.dir;',
      "exports.version = require('./package.json').version;",
      "exports.later = () => import('./lib/late.js').then((m) => m.late);",
    ].join('\n'),
  );
  await writeFile(join(pkg, 'lib', 'a.js'), "exports.value = 'first'; exports.dir = __dirname;\n");
  await writeFile(join(pkg, 'lib', 'late.js'), "exports.late = 'loaded later';\n");
  await writeFile(join(dir, 'child.mts'), CHILD(join(ROOT, 'harness', 'kept-bundle.ts')));
  // Inputs changed within the bundling's first moment are not kept: let the clock move on.
  await new Promise((r) => setTimeout(r, 20));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('kept bundles', () => {
  test('the first process bundles and keeps a code cache, the next takes it, a same-length edit is bundled again', async () => {
    const state = join(dir, 'state');
    const first = await child(state);
    expect(first).toEqual({ value: 'first', libDir: join(pkg, 'lib'), version: '1.2.3', later: 'loaded later' });
    const kept = await files(state);
    expect(kept.filter((f) => f.endsWith('.cjs'))).toHaveLength(1);
    expect(kept.filter((f) => f.endsWith('.json'))).toHaveLength(1);
    const caches = kept.filter((f) => f.endsWith('.cache'));
    expect(caches).toHaveLength(1);
    const cacheTime = (await stat(join(state, 'bundles', caches[0]!))).mtimeMs;

    expect(await child(state)).toEqual(first);
    // Taken, not made again.
    expect(await files(state)).toEqual(kept);
    expect((await stat(join(state, 'bundles', caches[0]!))).mtimeMs).toBe(cacheTime);

    // The same length, other bytes: V8 would take a cache of the old bundle; the harness must not.
    await writeFile(join(pkg, 'lib', 'a.js'), "exports.value = 'other'; exports.dir = __dirname;\n");
    await new Promise((r) => setTimeout(r, 20));
    expect((await child(state)).value).toBe('other');
    const after = (await files(state)).filter((f) => f.endsWith('.cache'));
    expect(after).toHaveLength(1);
    expect(after).not.toEqual(caches);
  });

  test('MULTIARCH_BUNDLE_CACHE=off loads the package as usual and keeps nothing', async () => {
    const state = join(dir, 'state-off');
    expect(await child(state, { MULTIARCH_BUNDLE_CACHE: 'off' })).toEqual({
      value: 'other',
      libDir: join(pkg, 'lib'),
      version: '1.2.3',
      later: 'loaded later',
    });
    expect(await files(state)).toEqual([]);
  });
});
