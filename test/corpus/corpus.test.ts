/**
 * The corpus of real, third-party binaries (test/support/corpus.ts): each tree is a root
 * filesystem for the platform its files were published for. Fetched once (npm, Debian's mirror),
 * checked by digest and cached in the state folder's <state>/corpus/trees/ (by the set-up,
 * setup/fetch-corpus.ts, or here when missing); nothing here runs the binaries. A second call reads
 * the cache: no process started, Debian's archive not asked, no tree replaced.
 */
import { createHash } from 'node:crypto';
import { appendFile, lstat, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import { debianDynamicCorpus, goCorpus, resolveInRoot, rustCorpus, type CorpusTree } from '../support/corpus.ts';
import { matchesIntegrity } from '../support/corpus-cache.ts';
import { NPM_PINS, npmPin } from '../support/npm-binaries.ts';
import { DebianArchive } from '../../setup/standins/debian-archive.ts';
import { elfFacts, formatPlatform } from '../../harness/platform/platform.ts';
import { readElf } from '../../harness/image/elf.ts';

const FIRST_RUN = 10 * 60_000;

// Every process the recipes start (npm pack, tar) goes through execa: counted, and run as it is.
const started = vi.hoisted(() => ({ commands: [] as string[] }));
vi.mock('execa', async (importOriginal) => {
  const original = await importOriginal<typeof import('execa')>();
  return {
    ...original,
    execa: (file: string, ...rest: unknown[]) => {
      started.commands.push(file);
      return (original.execa as (...args: unknown[]) => unknown)(file, ...rest);
    },
  };
});

/** Every path in the tree (inside the root), with lstat's answer. */
async function walk(root: string, dir = '/'): Promise<Array<{ path: string; link: boolean; file: boolean; size: number }>> {
  const out = [];
  for (const name of await readdir(join(root, dir))) {
    const path = join(dir, name);
    const st = await lstat(join(root, path));
    out.push({ path, link: st.isSymbolicLink(), file: st.isFile(), size: st.size });
    if (st.isDirectory()) out.push(...(await walk(root, path)));
  }
  return out;
}

async function checkTree(tree: CorpusTree): Promise<void> {
  const what = `${tree.name} for ${formatPlatform(tree.platform)}`;
  expect(isAbsolute(tree.root), what).toBe(true);
  expect((await stat(tree.root)).isDirectory(), what).toBe(true);
  expect(() => new RegExp(tree.expectOutput), what).not.toThrow();
  expect(tree.elfFiles.length, what).toBeGreaterThan(0);

  const want = elfFacts(tree.platform);
  for (const file of tree.elfFiles) {
    expect(file.startsWith('/'), `${what}: ${file}`).toBe(true);
    const host = await resolveInRoot(tree.root, file);
    expect(host, `${what}: ${file} is missing`).toBeDefined();
    const buf = await readFile(host!);
    expect([...buf.subarray(0, 4)], `${what}: ${file} has no ELF magic`).toEqual([0x7f, 0x45, 0x4c, 0x46]);
    const info = readElf(buf);
    expect({ bits: info.bits, endian: info.endian, machine: info.machine }, `${what}: ${file}`).toEqual(want);
  }

  const program = await resolveInRoot(tree.root, tree.command[0]!);
  expect(program, `${what}: ${tree.command[0]} is missing from the root`).toBeDefined();
  const st = await stat(program!);
  expect(st.isFile() && (st.mode & 0o111) !== 0, `${what}: ${tree.command[0]} is not an executable file`).toBe(true);
  const info = readElf(await readFile(program!));
  if (tree.kind === 'c-dynamic') {
    expect(info.interpreter, what).toBeDefined();
    const loader = await resolveInRoot(tree.root, info.interpreter!);
    expect(loader, `${what}: its loader ${info.interpreter} is missing from the root`).toBeDefined();
    expect(readElf(await readFile(loader!)).machine, what).toBe(want.machine);
  } else {
    expect(info.interpreter, `${what}: should be statically linked`).toBeUndefined();
  }

  // Nothing dangles, and no symlink leads out of the root.
  for (const entry of await walk(tree.root)) {
    if (!entry.link) continue;
    expect(
      await resolveInRoot(tree.root, entry.path),
      `${what}: ${entry.path} -> ${await readlink(join(tree.root, entry.path))} dangles`,
    ).toBeDefined();
  }
}

function platforms(trees: CorpusTree[]): string[] {
  return trees.map((t) => formatPlatform(t.platform));
}

/**
 * The trees: one for each of these platforms, in this order, none twice; each of this kind and
 * started with this command; then what `each` checks of each tree (checkTree among it).
 */
async function expectTrees(
  trees: CorpusTree[],
  want: { platforms: string[]; kind: CorpusTree['kind']; command: string[] },
  each: (tree: CorpusTree) => Promise<void>,
): Promise<void> {
  expect(platforms(trees)).toEqual(want.platforms);
  expect(new Set(platforms(trees)).size).toBe(trees.length);
  for (const tree of trees) {
    expect(tree.kind).toBe(want.kind);
    expect(tree.command).toEqual(want.command);
    await each(tree);
  }
}

describe('corpus of third-party binaries', () => {
  test(
    'Go: esbuild for every Linux platform npm has it for',
    async () => {
      await expectTrees(
        await goCorpus(),
        {
          platforms: [
            'linux/amd64',
            'linux/386',
            'linux/arm64',
            'linux/arm/v7',
            'linux/ppc64le',
            'linux/s390x',
            'linux/riscv64',
            'linux/mips64le',
            'linux/loong64',
          ],
          kind: 'go-static',
          command: ['/usr/local/bin/esbuild', '--version'],
        },
        async (tree) => {
          expect(tree.name).toMatch(/^esbuild 0\.28\.2 \(Go go1\.\d+/);
          await checkTree(tree);
        },
      );
    },
    FIRST_RUN,
  );

  test(
    'Rust: sentry-cli (static, musl) for every Linux platform npm has it for',
    async () => {
      await expectTrees(
        await rustCorpus(),
        {
          platforms: ['linux/amd64', 'linux/386', 'linux/arm64', 'linux/arm/v7'],
          kind: 'rust',
          command: ['/usr/local/bin/sentry-cli', '--version'],
        },
        async (tree) => {
          expect(new RegExp(tree.expectOutput).test('sentry-cli 3.8.0\n')).toBe(true);
          await checkTree(tree);
        },
      );
    },
    FIRST_RUN,
  );

  test(
    'C, dynamic: Debian hello with its loader and libraries for every Debian architecture',
    async () => {
      await expectTrees(
        await debianDynamicCorpus(),
        {
          platforms: [
            'linux/amd64',
            'linux/386',
            'linux/arm64',
            'linux/arm/v7',
            'linux/arm/v5',
            'linux/ppc64le',
            'linux/s390x',
            'linux/riscv64',
            'linux/mips64le',
            'linux/loong64',
          ],
          kind: 'c-dynamic',
          command: ['/usr/bin/hello'],
        },
        async (tree) => {
          expect(new RegExp(tree.expectOutput).test('Hello, world!\n')).toBe(true);
          // hello, the loader and libc (the loader appears once even though hello names it in DT_NEEDED too).
          expect(tree.elfFiles[0]).toBe('/usr/bin/hello');
          expect(tree.elfFiles.map((f) => f.split('/').at(-1))).toContain('libc.so.6');
          expect(tree.elfFiles).toHaveLength(3);
          await checkTree(tree);
          // Merged /usr as in Debian, and nothing but what hello needs: no docs, manual pages or locales.
          expect(await readlink(join(tree.root, 'lib'))).toBe('usr/lib');
          expect(await readlink(join(tree.root, 'bin'))).toBe('usr/bin');
          const entries = await walk(tree.root);
          expect(entries.some((e) => e.path.startsWith('/usr/share'))).toBe(false);
          expect(entries.some((e) => e.path.startsWith('/etc/ld.so.conf.d/'))).toBe(true);
          expect(entries.filter((e) => e.file).reduce((n, e) => n + e.size, 0)).toBeLessThan(5 * 1024 * 1024);
        },
      );
    },
    FIRST_RUN,
  );

  test(
    'tree.json records the digest of every input: the pinned one of each npm tarball, the SHA256 of each .deb',
    async () => {
      const inputs = async (tree: CorpusTree) =>
        (JSON.parse(await readFile(join(tree.root, '..', 'tree.json'), 'utf8')) as { inputs: Array<Record<string, string>> }).inputs;
      for (const tree of [...(await goCorpus()), ...(await rustCorpus())]) {
        const recorded = await inputs(tree);
        expect(recorded).toHaveLength(1);
        expect(recorded[0]!.integrity, recorded[0]!.package).toBe(NPM_PINS[recorded[0]!.package!]);
      }
      for (const tree of await debianDynamicCorpus()) {
        const recorded = await inputs(tree);
        expect(recorded.map((i) => i.package!.replace(/:.*/, '')).sort()).toEqual(['hello', 'libc6']);
        for (const input of recorded) expect(input.sha256, input.package).toMatch(/^[0-9a-f]{64}$/);
      }
    },
    FIRST_RUN,
  );

  test('a tarball is taken only with the digest pinned for it; an unpinned version is refused', async () => {
    for (const pin of Object.values(NPM_PINS)) expect(pin).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
    const dir = await mkdtemp(join(tmpdir(), 'corpus-pin-'));
    try {
      const file = join(dir, 'package.tgz');
      await writeFile(file, 'not the tarball that was pinned');
      const own = `sha512-${createHash('sha512').update('not the tarball that was pinned').digest('base64')}`;
      expect(await matchesIntegrity(file, own)).toBe(true);
      expect(await matchesIntegrity(file, NPM_PINS['@esbuild/linux-x64@0.28.2']!)).toBe(false);
      expect(await matchesIntegrity(file, `${NPM_PINS['@esbuild/linux-x64@0.28.2']!} ${own}`)).toBe(true); // SRI: any one of them
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(() => npmPin('@esbuild/linux-x64', '0.0.1')).toThrow(/not pinned.*npm view @esbuild\/linux-x64@0\.0\.1 dist\.integrity/);
  });

  test(
    'a cached tree is built again when a file changed, or when its input is not the pinned one',
    async () => {
      const [tree] = await rustCorpus();
      const bin = join(tree!.root, 'usr/local/bin/sentry-cli');
      const original = await readFile(bin);
      await appendFile(bin, 'changed');
      const [rebuilt] = await rustCorpus();
      expect((await readFile(join(rebuilt!.root, 'usr/local/bin/sentry-cli'))).equals(original)).toBe(true);

      const markerFile = join(rebuilt!.root, '..', 'tree.json');
      const marker = JSON.parse(await readFile(markerFile, 'utf8')) as { inputs: Array<{ integrity: string }> };
      const pinned = marker.inputs[0]!.integrity;
      marker.inputs[0]!.integrity = `sha512-${'A'.repeat(86)}==`;
      await writeFile(markerFile, JSON.stringify(marker));
      const [again] = await rustCorpus();
      const after = JSON.parse(await readFile(join(again!.root, '..', 'tree.json'), 'utf8')) as typeof marker;
      expect(after.inputs[0]!.integrity).toBe(pinned);
    },
    FIRST_RUN,
  );

  test(
    'a second call reads the cache: same trees, nothing rebuilt',
    async () => {
      for (const corpus of [goCorpus, rustCorpus, debianDynamicCorpus]) {
        const first = await corpus();
        const markers = await Promise.all(first.map((t) => stat(join(t.root, '..', 'tree.json')).then((s) => [s.mtimeMs, s.ino])));
        const roots = await Promise.all(first.map((t) => stat(t.root).then((s) => s.ino)));
        // Nothing fetched: no process started (npm pack, tar), Debian's archive not asked.
        started.commands.length = 0;
        const asked = (['update', 'fetch', 'fetchAll'] as const).map((m) => [m, vi.spyOn(DebianArchive.prototype, m)] as const);
        try {
          const second = await corpus();
          expect(second).toEqual(first);
          expect(started.commands).toEqual([]);
          for (const [method, spy] of asked) expect(spy, `DebianArchive.${method}`).not.toHaveBeenCalled();
          expect(await Promise.all(second.map((t) => stat(join(t.root, '..', 'tree.json')).then((s) => [s.mtimeMs, s.ino])))).toEqual(
            markers,
          );
          expect(await Promise.all(second.map((t) => stat(t.root).then((s) => s.ino)))).toEqual(roots);
        } finally {
          for (const [, spy] of asked) spy.mockRestore();
        }
      }
    },
    FIRST_RUN,
  );
});
