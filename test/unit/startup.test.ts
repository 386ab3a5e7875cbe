/**
 * Start-up relies on lazy imports (bin/multiarch-harness.mjs loads dist/'s ES modules, nothing
 * bundled): `--help`, `--version` and `<command> --help` load only the command line's small
 * modules, never a package (testcontainers, execa, tar-stream, yaml, esbuild), an engine module or
 * the checks. Which modules load is asked of Node itself: a child process runs cli/main.ts from the
 * sources (through tsx, no build needed) with test/support/count-modules.mjs, whose resolve hook
 * lists every module resolved.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const HARNESS = pathToFileURL(join(ROOT, 'harness')).href + '/';

/**
 * The only harness modules a help or version answer may load: the command line's small modules and
 * the doors of the bottom folders (base/, platform/, result/: node built-ins only). No engine,
 * session, host, check, report or scenario module, and no package.
 */
const SMALL = /^(base|platform|result)\/[\w-]+\.ts$|^cli\/(index|main|command-line|progress|usage|version)\.ts$/;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mah-startup-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The URLs of the modules `multiarch-harness ...argv` resolves (Node's built-ins left out). */
async function modulesOf(argv: string[]): Promise<string[]> {
  const file = join(dir, `${argv.join('_').replace(/\W+/g, '-')}.txt`);
  const program = `const { main } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'harness/cli/main.ts')).href)}); process.exitCode = await main(${JSON.stringify(argv)});`;
  // Its exit code is not the question here (a refused option exits 2).
  await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', '--import', './test/support/count-modules.mjs', '--input-type=module', '-e', program],
    { cwd: ROOT, env: { ...process.env, MULTIARCH_MODULES_FILE: file } },
  ).catch(() => undefined);
  const urls = (await readFile(file, 'utf8')).split('\n').filter((u) => u && !u.startsWith('node:'));
  return [...new Set(urls)].sort();
}

describe('start-up', () => {
  test.each(['--help', '--version', 'help run', 'run --help', 'verify --help', 'doctor --help', 'report --help'])(
    '%s loads only the command line’s small modules: no package, no engine, no checks',
    async (args) => {
      const loaded = await modulesOf(args.split(' '));
      expect(loaded).toContain(`${HARNESS}cli/main.ts`);
      // Nothing from node_modules at all: testcontainers, execa, tar-stream, yaml and esbuild among them.
      expect(loaded.filter((u) => u.includes('/node_modules/'))).toEqual([]);
      expect(loaded.filter((u) => !u.startsWith(HARNESS))).toEqual([]);
      expect(loaded.map((u) => u.slice(HARNESS.length)).filter((m) => !SMALL.test(m))).toEqual([]);
    },
    30_000,
  );

  test('help, the version and a usage error write nothing: the state folder and the home folder stay empty', async () => {
    const state = join(dir, 'state');
    const home = join(dir, 'home');
    await Promise.all([mkdir(state), mkdir(home)]);
    const runs = [
      ['--help'],
      ['--version'],
      ['help', 'verify'],
      ['verify', '--help'],
      ['run', '--help'],
      ['doctor', '--help'],
      ['report', '--help'],
      [],
      ['frobnicate'],
      ['verify', 'alpine', '--platfrom', 'linux/arm64'],
      ['verify', 'alpine', '--platform', 'foo'],
      ['doctor', 'extra'],
      ['doctor', '--json'],
      ['run', 'no-such-scenario.ts'],
    ];
    const program = `const { main } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'harness/cli/main.ts')).href)}); const codes = []; for (const argv of ${JSON.stringify(runs)}) codes.push(await main(argv)); console.log(JSON.stringify(codes));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program], {
      cwd: ROOT,
      env: {
        ...process.env,
        MULTIARCH_STATE_DIR: state,
        HOME: home,
        XDG_CACHE_HOME: join(home, '.cache'),
        DOCKER_HOST: 'unix:///nonexistent/multiarch-harness-test/docker.sock',
      },
    });
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual([0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2]);
    expect(await readdir(state)).toEqual([]);
    expect(await readdir(home)).toEqual([]);
  }, 30_000);

  test('the hook sees what a command loads (so its silence above means something)', async () => {
    const loaded = await modulesOf(['report', '--no-such-option']);
    expect(loaded).toContain(`${HARNESS}cli/report-command.ts`);
  }, 30_000);
});
