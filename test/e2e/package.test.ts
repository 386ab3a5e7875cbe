// The package as a user gets it: `npm pack` here, the tarball installed into an empty project in
// the system's temporary folder (no path back to this repository), and there: plain Node ESM imports
// it, require() gets one sentence saying it cannot (the package is ES modules only), a strict
// TypeScript file that uses it type-checks (the declarations included), a vitest suite with
// describeImage passes, and `npx multiarch-harness run` runs a scenario that imports
// 'multiarch-harness' by name. The tarball holds no tests, none of this machine's set-up, and no
// source maps (they would point at TypeScript sources it does not ship).
//
// The consumer's side (npm installing the tarball, npx, the installed CLI, the user's scripts and
// tests) runs under the Node named by MULTIARCH_CONSUMER_NODE=/path/to/node (setup/prepare-node.sh
// fetches one), else under the Node running these tests; the tarball is packed here under the latter.
// npm and npx are the system's, run by that Node (`<node> npm-cli.js`), and that Node's folder comes
// first on PATH, so that every `#!/usr/bin/env node` the consumer's side starts gets it too. The
// first test proves which Node each of them ran on.
import { execa } from 'execa';
import { constants, realpathSync } from 'node:fs';
import { access, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, isAbsolute, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { harnessLeftovers, ROOT } from './helpers.ts';
import { BINFMT, restoreBinfmt, snapshotBinfmt } from './support/host-facts.ts';

const IMAGE = '127.0.0.1:5001/library/alpine:latest';
/** The text of a verify scenario of the mirror's alpine for amd64 and arm64, as a user's file holds it. */
const verifyAlpine = (name: string, title: string) => `{
  kind: 'verify',
  name: '${name}',
  title: '${title}',
  image: '${IMAGE}',
  platforms: ['linux/amd64', 'linux/arm64'],
  expect: { kind: 'uname' },
  command: ['uname', '-m'],
}`;
const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };

/**
 * The environment of a user's shell: without what `npm test` and vitest put into this process
 * (npm_config_*, npm_package_*, INIT_CWD, VITEST*), which would point npm or a nested vitest back here.
 */
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|vitest|init_cwd$)/i.test(k))) as Record<string, string>;
env.GITHUB_STEP_SUMMARY = '';

/** The Node the consumer's side runs under, and the version it says. */
const consumerNode = process.env.MULTIARCH_CONSUMER_NODE || process.execPath;
if (!isAbsolute(consumerNode)) throw new Error(`MULTIARCH_CONSUMER_NODE must be an absolute path to a node binary, not ${consumerNode}`);
await access(consumerNode, constants.X_OK);
const consumerVersion = (await execa(consumerNode, ['--version'])).stdout.trim();
/** How the installed CLI loads its code (bin/multiarch-harness.mjs): with Node's compile cache from Node 22.1 on. */
const [major = 0, minor = 0] = consumerVersion.slice(1).split('.').map(Number);
const LOADED = major > 22 || (major === 22 && minor >= 1) ? 'modules, compile cache' : 'modules';
/** The consumer's shell: its Node's folder first on PATH. */
const userEnv: Record<string, string> = { ...env, PATH: [dirname(consumerNode), env.PATH].filter(Boolean).join(delimiter) };

/** The JavaScript file of the system's npm or npx (what the command on PATH links to), for `<node> <file>`. */
function systemCli(name: 'npm' | 'npx'): string {
  for (const folder of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    let real: string;
    try {
      real = realpathSync(join(folder, name));
    } catch {
      continue;
    }
    for (const candidate of [real, join(dirname(real), `${name}-cli.js`)]) {
      if (/-cli\.js$/.test(basename(candidate))) {
        try {
          return realpathSync(candidate);
        } catch {
          // not there: the next candidate
        }
      }
    }
  }
  throw new Error(`no ${name}-cli.js found behind the ${name} on PATH (${env.PATH})`);
}
const NPM_CLI = systemCli('npm');
const NPX_CLI = systemCli('npx');

let tmp = '';
let project = '';
let tarball = '';
/** npm install's output in the consumer's project (its log names the Node it ran on). */
let installLog = '';

/** A command of the consumer's side: in its project, with its Node first on PATH, and these variables besides. */
function run(file: string, args: string[], cwd = project, more: Record<string, string> = {}) {
  return execa(file, args, { cwd, env: { ...userEnv, ...more }, extendEnv: false, reject: false, all: true, timeout: 15 * 60_000 });
}
/** The system's npm, run by the consumer's Node. */
const npm = (args: string[]) => run(consumerNode, [NPM_CLI, ...args]);
/** `npx --no -- ...` of the system's npm, run by the consumer's Node: only what the project installed. */
const npx = (args: string[], more: Record<string, string> = {}) => run(consumerNode, [NPX_CLI, '--no', '--', ...args], project, more);

/** The command's output, for an assertion's message. */
const said = (r: { command: string; all: string }) => `${r.command}\n${r.all}`;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'mah-package-'));
  project = join(tmp, 'project');
  // Packed as a developer here does: the system's npm on the Node running these tests, not the consumer's.
  const packed = await execa('npm', ['pack', '--pack-destination', tmp], {
    cwd: ROOT,
    env,
    extendEnv: false,
    reject: false,
    all: true,
    timeout: 15 * 60_000,
  });
  expect(packed.exitCode, said(packed)).toBe(0);
  const tarballs = (await readdir(tmp)).filter((f) => f.endsWith('.tgz'));
  expect(tarballs).toHaveLength(1);
  tarball = join(tmp, tarballs[0]!);

  await mkdir(project);
  await writeFile(
    join(project, 'package.json'),
    `${JSON.stringify({ name: 'mah-package-user', private: true, type: 'module' }, null, 2)}\n`,
  );
  // --loglevel=info: npm's log then names the Node it runs on ("npm info using node@v...").
  const installed = await npm(['install', tarball, 'typescript@5.9', 'vitest@4.1', '--no-audit', '--no-fund', '--loglevel=info']);
  expect(installed.exitCode, said(installed)).toBe(0);
  installLog = installed.all;
}, 10 * 60_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
  expect(await harnessLeftovers()).toEqual([]);
});

describe(`the packed package, installed into another project${process.env.MULTIARCH_CONSUMER_NODE ? ` (consumer on Node ${consumerVersion})` : ''}`, () => {
  test("the consumer's side runs on the consumer's Node: npm's install, the node on its PATH, and the installed CLI", async ({
    annotate,
  }) => {
    await annotate(`consumer: Node ${consumerVersion} (${consumerNode}); npm ${NPM_CLI}`);
    expect(installLog.split('\n'), `npm install did not run on Node ${consumerVersion}`).toContain(
      `npm info using node@${consumerVersion}`,
    );
    // The node a user's shell finds by name, as every #!/usr/bin/env node of the consumer's side does.
    const byName = await run('node', ['-p', 'process.version + " " + process.execPath']);
    expect(byName.exitCode, said(byName)).toBe(0);
    expect(byName.stdout.trim()).toBe(`${consumerVersion} ${realpathSync(consumerNode)}`);
    // The installed CLI as npx starts it (its bin's #!/usr/bin/env node), before any engine is asked: the module
    // it loads as a scenario says which Node runs it, and then, having no default export, is refused.
    await writeFile(join(project, 'which-node.mjs'), 'console.log(`the CLI runs on ${process.version}`);\n');
    const cli = await npx(['multiarch-harness', 'run', 'which-node.mjs']);
    expect(cli.exitCode, said(cli)).toBe(2);
    expect(cli.stderr, said(cli)).toMatch(/which-node\.mjs does not export a scenario as its default export/);
    expect(cli.stdout.trim(), said(cli)).toBe(`the CLI runs on ${consumerVersion}`);
  });

  test('the tarball holds the compiled harness, the CLI, the demo and its scenarios, and no tests or set-up', async () => {
    const listed = await execa('tar', ['-tzf', tarball]);
    const files = listed.stdout
      .split('\n')
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, ''));
    for (const f of [
      'package.json',
      'LICENSE',
      'README.md',
      'bin/multiarch-harness.mjs',
      'esm-only.cjs',
      'dist/harness/index.js',
      'dist/harness/index.d.ts',
      'dist/harness/vitest.js',
      'dist/harness/vitest.d.ts',
      'dist/harness/prepare.js',
      'dist/harness/prepare.d.ts',
      'dist/harness/cli/main.js',
      'dist/demo/main.js',
      'dist/demo/demo-command.js',
      'scenarios/hello-go-qemu.ts',
      'samples/hello-go/Dockerfile',
    ]) {
      expect(files, f).toContain(f);
    }
    // One module graph: no one-file bundle of the CLI (it went in redesign step C2).
    expect(files).not.toContain('dist/cli.cjs');
    expect(files.filter((f) => /^(test|setup|bench|\.ci)\//.test(f) || /(^|\/)[^/]+\.test\.[mc]?[jt]s$/.test(f))).toEqual([]);
    // The sources are compiled: no TypeScript but the demo's scenarios (loaded through tsx, as a user's are).
    expect(files.filter((f) => /\.[mc]?ts$/.test(f) && !f.endsWith('.d.ts') && !f.startsWith('scenarios/'))).toEqual([]);
    // Maps, source or declaration, would name .ts files the tarball does not hold.
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
  });

  test('plain Node ESM imports it', async () => {
    // The user's node, by name: the consumer's.
    const r = await run('node', [
      '--input-type=module',
      '-e',
      "import('multiarch-harness').then(m => { if (typeof m.defineScenario !== 'function') process.exit(1); console.log(process.version) })",
    ]);
    expect(r.exitCode, said(r)).toBe(0);
    expect(r.stdout.trim()).toBe(consumerVersion);
  });

  test('require() of each entry says, in one sentence, that the package is ES modules only', async () => {
    for (const entry of ['multiarch-harness', 'multiarch-harness/vitest', 'multiarch-harness/prepare']) {
      const r = await run('node', ['-e', `try { require('${entry}') } catch (e) { console.log(e.code, e.message) }`]);
      expect(r.exitCode, said(r)).toBe(0);
      expect(r.stdout, entry).toBe(
        "ERR_REQUIRE_ESM multiarch-harness is an ES module package: use `import` (or `await import('multiarch-harness')` from CommonJS); require() cannot load it.",
      );
    }
  });

  test('a TypeScript file that uses it type-checks under strict, with the declarations checked too', async () => {
    await writeFile(
      join(project, 'check.ts'),
      `import { defineScenario, formatPlatform, parsePlatform, runScenario, type Platform, type SessionReport, type VerifyScenario } from 'multiarch-harness';
import { describeImage } from 'multiarch-harness/vitest';

const scenario: VerifyScenario = defineScenario(${verifyAlpine('alpine', 'alpine')});
const platform: Platform = parsePlatform('linux/arm/v7');
export async function failures(): Promise<number> {
  const report: SessionReport = await runScenario(scenario, { platforms: [platform] });
  return report.summary.failed + formatPlatform(platform).length;
}
export const helper: typeof describeImage = describeImage;
// @ts-expect-error: a verify scenario names its image
defineScenario({ kind: 'verify', name: 'x', title: 'x' });
`,
    );
    const r = await npx(['tsc', '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', 'check.ts']);
    expect(r.exitCode, said(r)).toBe(0);
  });

  test(
    'a vitest suite with describeImage passes, one test per platform',
    async () => {
      await writeFile(
        join(project, 'alpine.test.ts'),
        `import { describeImage } from 'multiarch-harness/vitest';

describeImage('${IMAGE}', {
  platforms: ['linux/amd64', 'linux/arm64'],
  expect: { kind: 'uname' },
  command: ['uname', '-m'],
});
`,
      );
      const r = await npx(['vitest', 'run', 'alpine.test.ts']);
      expect(r.exitCode, said(r)).toBe(0);
      expect(r.all.replace(/\x1b\[[0-9;]*m/g, ''), said(r)).toMatch(/Tests\s+2 passed/);
    },
    20 * 60_000,
  );

  test(
    'the installed CLI runs verify from its ES modules, the same twice',
    async () => {
      // A state folder of its own, with an old version's kept bundles in it: the run removes them.
      await mkdir(join(tmp, 'state', 'bundles'), { recursive: true });
      const state = join(tmp, 'state');
      const verifyOnce = async (name: string) => {
        const rusage = join(tmp, `${name}.rusage.json`);
        const json = join(tmp, `${name}.json`);
        const r = await npx(
          [
            'multiarch-harness',
            'verify',
            IMAGE,
            '--platforms',
            'linux/amd64,linux/arm64',
            '--expect-uname',
            '--command',
            'uname',
            '--command=-m',
            '--json',
            json,
            '--quiet',
          ],
          { MULTIARCH_STATE_DIR: state, MULTIARCH_RUSAGE_FILE: rusage },
        );
        expect(r.exitCode, said(r)).toBe(0);
        const report = JSON.parse(await readFile(json, 'utf8')) as {
          platforms: Array<{ platform: string; status: string; checks: Record<string, { status: string }> }>;
        };
        const rows = report.platforms
          .map(
            (p) =>
              `${p.platform} ${p.status} ${Object.entries(p.checks)
                .map(([k, c]) => `${k}=${c.status}`)
                .join(' ')}`,
          )
          .sort();
        return { loaded: (JSON.parse(await readFile(rusage, 'utf8')) as { loaded: string }).loaded, rows };
      };
      const first = await verifyOnce('first');
      const second = await verifyOnce('second');
      // Node's compile cache where the consumer's Node has one (22.1 and later); plain ES modules on Node 20.
      for (const r of [first, second]) expect(r.loaded).toBe(LOADED);
      expect(first.rows).toHaveLength(2);
      expect(first.rows.every((r) => / pass /.test(r))).toBe(true);
      expect(second.rows).toEqual(first.rows);
      expect(await readdir(state)).not.toContain('bundles');
    },
    20 * 60_000,
  );

  test(
    'npx multiarch-harness runs a scenario that imports multiarch-harness by name, and says its version',
    async () => {
      // The scenario says which harness it got: the one a JavaScript file gets from the package by name (one module graph).
      await writeFile(join(project, 'by-name.mjs'), "export { defineScenario, UsageError } from 'multiarch-harness';\n");
      await writeFile(
        join(project, 'scenario.ts'),
        `import { writeFileSync } from 'node:fs';
import { defineScenario, UsageError } from 'multiarch-harness';
import * as byName from './by-name.mjs';

writeFileSync(
  process.env.SCENARIO_PROBE!,
  process.version + ': ' + (byName.defineScenario === defineScenario && byName.UsageError === UsageError ? 'one harness' : 'two harnesses'),
);
export default defineScenario(${verifyAlpine('alpine-by-name', 'alpine, from a scenario that imports the package by name')});
`,
      );
      const runOnce = async (name: string) => {
        const rusage = join(tmp, `${name}.rusage.json`);
        const probe = join(tmp, `${name}.probe.txt`);
        const r = await npx(['multiarch-harness', 'run', 'scenario.ts', '--platforms', 'linux/amd64', '--quiet'], {
          MULTIARCH_RUSAGE_FILE: rusage,
          SCENARIO_PROBE: probe,
        });
        expect(r.exitCode, said(r)).toBe(0);
        return `${(JSON.parse(await readFile(rusage, 'utf8')) as { loaded: string }).loaded}: ${await readFile(probe, 'utf8')}`;
      };
      // The harness that runs the scenario is the installed one, on the consumer's Node.
      expect(await runOnce('run')).toBe(`${LOADED}: ${consumerVersion}: one harness`);
      // Kept compiled: the same the second time.
      expect(await runOnce('run-kept')).toBe(`${LOADED}: ${consumerVersion}: one harness`);
      const v = await npx(['multiarch-harness', '--version']);
      expect(v.exitCode, said(v)).toBe(0);
      expect(v.stdout.trim()).toBe(version);
    },
    20 * 60_000,
  );

  test(
    'a new user on a host with the engine but no QEMU handlers: setup, doctor and verify pass with no file of this repository; setup --undo leaves binfmt_misc as setup found it',
    async () => {
      const original = await snapshotBinfmt();
      const state = join(tmp, 'user-state');
      const user = (args: string[]) => npx(['multiarch-harness', ...args], { MULTIARCH_STATE_DIR: state });
      try {
        // The host as a new user's may be: no handler at all.
        for (const name of original.keys()) await writeFile(join(BINFMT, name), '-1');
        const bare = await snapshotBinfmt();
        expect([...bare.keys()]).toEqual([]);

        const setup = await user(['setup']);
        expect(setup.exitCode, said(setup)).toBe(0);
        expect(setup.stdout).toMatch(/^setup will register \d+ binfmt_misc handlers in this host's kernel \(host-wide/m);
        expect(setup.stdout).toMatch(/^linux\/arm64: runs \(uname -m aarch64, through qemu-aarch64\)$/m);
        expect(setup.stdout).toMatch(/^linux\/s390x: runs \(uname -m s390x, through qemu-s390x\)$/m);

        const doctor = await user(['doctor', '--brief', '--fresh']);
        expect(doctor.exitCode, said(doctor)).toBe(0);
        expect(doctor.stdout).toMatch(/qemu.*linux\/arm64/);

        const verify = await user(['verify', IMAGE, '--platform', 'linux/amd64,linux/arm64', '--command', 'uname', '--quiet']);
        expect(verify.exitCode, said(verify)).toBe(0);

        const undo = await user(['setup', '--undo']);
        expect(undo.exitCode, said(undo)).toBe(0);
        expect(await snapshotBinfmt()).toEqual(bare);
      } finally {
        await restoreBinfmt(original);
      }
      expect(await snapshotBinfmt()).toEqual(original);
    },
    20 * 60_000,
  );
});
