// The command line's conventions, in-process: main() returns the exit code; console output is
// captured. execa (the only way the harness starts a process, base/exec.ts) is replaced by one
// that records calls, so a test shows that --help and --version never touch the engine.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { captureConsole } from '../support/console-capture.ts';

const engine = vi.hoisted(() => ({ calls: [] as unknown[][] }));
vi.mock('execa', async (importOriginal) => ({
  ...(await importOriginal<typeof import('execa')>()),
  execa: (...args: unknown[]) => {
    engine.calls.push(args);
    throw new Error('a test touched the engine');
  },
}));

const { main } = await import('../../harness/cli/main.ts');
const { COMMAND_USAGES, USAGE, usageOf, wantsHelp } = await import('../../harness/cli/usage.ts');
const { packageVersion } = await import('../../harness/cli/usage.ts');
const { platformsOption, reporters, sessionOptions } = await import('../../harness/cli/args.ts');
const { formatPlatform } = await import('../../harness/platform/platform.ts');

const { out, err } = captureConsole();

beforeEach(() => {
  engine.calls = [];
});

const COMMANDS = Object.keys(COMMAND_USAGES) as (keyof typeof COMMAND_USAGES)[];

describe('usage and --help', () => {
  test.each(
    COMMANDS.flatMap((c) => [
      [c, '--help'],
      [c, '-h'],
    ]),
  )("%s %s prints that command's usage on stdout and exits 0, touching no engine", async (command, flag) => {
    expect(await main([command, flag])).toBe(0);
    expect(out).toEqual([usageOf(command)]);
    expect(out[0]).toMatch(new RegExp(`^usage: multiarch-harness ${command}\\b`));
    expect(err).toEqual([]);
    expect(engine.calls).toEqual([]);
  });

  test('--help wins wherever it stands among the options, but not after --', async () => {
    expect(await main(['run', 'missing.ts', '--platforms', 'linux/arm64', '--help'])).toBe(0);
    expect(out).toEqual([usageOf('run')]);
    expect(wantsHelp(['--', '--help'])).toBe(false);
    expect(wantsHelp(['--command=--help'])).toBe(false);
  });

  test('every command has its own usage, with its own options and -h, --help', () => {
    for (const c of COMMANDS) {
      const u = usageOf(c);
      expect(u).toMatch(/^ {2}-h, --help {2,}/m);
      expect(u.split('\n')[0]).toBe(
        `usage: multiarch-harness ${COMMAND_USAGES[c].synopsis} [options]${c === 'verify' ? ' [-- CMD ARGS...]' : ''}`,
      );
    }
    expect(usageOf('run')).toMatch(/--keep-going/);
    expect(usageOf('run')).toMatch(
      /--registry-image IMAGE +the image the run's own registry starts from \(default: \$MULTIARCH_REGISTRY_IMAGE, else registry:2\)/,
    );
    expect(usageOf('verify')).not.toMatch(/--registry-image/);
    expect(usageOf('run')).not.toMatch(/--expect-uname/);
    expect(usageOf('verify')).toMatch(/--expect-uname/);
    expect(usageOf('doctor')).toMatch(/--require all\|a,b/);
    expect(usageOf('doctor')).not.toMatch(/--reporter/);
  });

  test("the top-level usage lists each command once, from the same table, and no command's options", () => {
    for (const c of COMMANDS) expect(USAGE).toContain(`  ${COMMAND_USAGES[c].synopsis} `);
    expect(USAGE).not.toMatch(/--keep-going|--expect-uname/);
  });

  test.each([['--help'], ['-h'], ['help']])('%s prints the top-level usage and exits 0', async (flag) => {
    expect(await main([flag])).toBe(0);
    expect(out).toEqual([USAGE]);
  });

  test('help <command> is <command> --help', async () => {
    expect(await main(['help', 'verify'])).toBe(0);
    expect(out).toEqual([usageOf('verify')]);
  });

  test('no command: the usage, exit 2', async () => {
    expect(await main([])).toBe(2);
    expect(out[0]).toMatch(/^usage:/);
  });

  test('an unknown command or option: one sentence and where the usage is, exit 2', async () => {
    expect(await main(['frobnicate'])).toBe(2);
    expect(err[0]).toMatch(/^multiarch-harness: "frobnicate" is not a command\.\nusage:/);
    err.length = 0;
    expect(await main(['run', 'x.ts', '--bogus'])).toBe(2);
    expect(err).toEqual(['multiarch-harness: run: unknown option --bogus (multiarch-harness run --help lists them)']);
    err.length = 0;
    expect(await main(['run'])).toBe(2);
    expect(err).toEqual(["multiarch-harness: run takes one scenario file, and none was given (see 'multiarch-harness run --help')."]);
    expect(engine.calls).toEqual([]);
  });
});

describe('the work hook (bin/ turns on Node’s compile cache there)', () => {
  test.each([[['--help']], [['--version']], [['help', 'run']], [['verify', '--help']], [[]], [['frobnicate']]])(
    '%j answers without it: nothing is cached anywhere',
    async (argv) => {
      const beforeWork = vi.fn();
      await main(argv, beforeWork);
      expect(beforeWork).not.toHaveBeenCalled();
    },
  );

  test('a command calls it once, before its module loads', async () => {
    const beforeWork = vi.fn();
    expect(await main(['report'], beforeWork)).toBe(2);
    expect(beforeWork).toHaveBeenCalledTimes(1);
  });
});

describe('--version', () => {
  test('prints the version in package.json and exits 0', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(await main(['--version'])).toBe(0);
    expect(out).toEqual([pkg.version]);
    expect(engine.calls).toEqual([]);
  });

  describe('from wherever the module sits', () => {
    let root = '';
    beforeAll(async () => {
      // An installed, compiled layout: a dist/package.json with only "type" sits between the
      // module and the package's own package.json, and a project's package.json above that.
      root = await mkdtemp(join(tmpdir(), 'mah-version-'));
      const pkg = join(root, 'node_modules', 'multiarch-harness');
      await mkdir(join(pkg, 'dist', 'harness', 'cli'), { recursive: true });
      await writeFile(join(root, 'package.json'), JSON.stringify({ name: 'my-project', version: '9.9.9' }));
      await writeFile(join(pkg, 'package.json'), JSON.stringify({ name: 'multiarch-harness', version: '1.2.3' }));
      await writeFile(join(pkg, 'dist', 'package.json'), JSON.stringify({ type: 'module' }));
      await writeFile(join(pkg, 'dist', 'harness', 'package.json'), '{ not json');
    });
    afterAll(() => rm(root, { recursive: true, force: true }));

    test('the nearest package.json named multiarch-harness, others passed over', () => {
      const module = join(root, 'node_modules', 'multiarch-harness', 'dist', 'harness', 'cli', 'version.js');
      expect(packageVersion(pathToFileURL(module))).toBe('1.2.3');
      expect(packageVersion(pathToFileURL(module).href)).toBe('1.2.3');
      expect(packageVersion(module)).toBe('1.2.3');
    });

    test('none: one sentence', () => {
      expect(() => packageVersion(join(root, 'version.js'))).toThrow(
        /^No package\.json named multiarch-harness was found in any folder above /,
      );
    });
  });
});

describe('--platform and --platforms', () => {
  const names = (values: Parameters<typeof platformsOption>[0]) => platformsOption(values)?.map(formatPlatform);

  test('--platform takes the same comma-separated list as --platforms, and may be repeated', () => {
    expect(names({ platforms: 'linux/arm64,linux/arm/v7' })).toEqual(['linux/arm64', 'linux/arm/v7']);
    expect(names({ platform: ['linux/arm64,linux/arm/v7'] })).toEqual(['linux/arm64', 'linux/arm/v7']);
    expect(names({ platform: ['linux/arm64', 'linux/amd64,linux/arm64/v8'] })).toEqual(['linux/arm64', 'linux/amd64']);
    expect(names({})).toBeUndefined();
    expect(() => names({ platform: [','] })).toThrow(/names no platform/);
    expect(() => names({ platform: ['linux//v7'] })).toThrow(/"linux\/\/v7" is not a platform/);
    expect(sessionOptions({ platform: ['linux/s390x'], quiet: true }, 'x').platforms?.map(formatPlatform)).toEqual(['linux/s390x']);
  });

  test('both: one sentence', () => {
    expect(() => platformsOption({ platform: ['linux/arm64'], platforms: 'linux/amd64' })).toThrow(
      'Use --platform or --platforms, not both.',
    );
  });

  test.each([
    [['run', 'no-such-scenario.ts', '--platform', 'linux/arm64', '--platforms', 'linux/amd64']],
    [['verify', 'alpine:latest', '--platforms', 'linux/amd64', '--platform', 'linux/arm64']],
  ])('both on the command line: exit 2 with that sentence, before anything is loaded or run: %j', async (argv) => {
    expect(await main(argv)).toBe(2);
    expect(err).toEqual(['multiarch-harness: Use --platform or --platforms, not both.']);
    expect(engine.calls).toEqual([]);
  });

  test('doctor keeps --require and has no --platform', async () => {
    expect(await main(['doctor', '--platform', 'linux/arm64'])).toBe(2);
    expect(err).toEqual(['multiarch-harness: doctor: unknown option --platform (multiarch-harness doctor --help lists them)']);
    expect(engine.calls).toEqual([]);
  });
});

describe('--reporter R=- (stdout)', () => {
  test('one reporter may write to stdout; two is one sentence', () => {
    expect(reporters({ reporter: ['json=-', 'junit=reports/x.xml'] })).toEqual([
      { name: 'json', file: '-' },
      { name: 'junit', file: 'reports/x.xml' },
    ]);
    expect(reporters({ json: '-' })).toEqual([{ name: 'json', file: '-' }]);
    expect(() => reporters({ reporter: ['json=-', 'junit=-'] })).toThrow(
      'Only one reporter can write to stdout, but json=- and junit=- ask for it: give the others a file with --reporter NAME=FILE.',
    );
    expect(() => reporters({ reporter: ['markdown=-'], json: '-' })).toThrow(/but markdown=- and json=- ask for it/);
    // The terminal's FILE is ignored, so terminal=- does not count.
    expect(reporters({ reporter: ['terminal=-', 'json=-'] })).toHaveLength(2);
  });

  test('two on the command line: exit 2 before the scenario loads', async () => {
    expect(await main(['run', 'no-such-scenario.ts', '--reporter', 'json=-', '--reporter', 'markdown=-'])).toBe(2);
    expect(err[0]).toMatch(/^multiarch-harness: Only one reporter can write to stdout/);
  });
});

describe('report: saved reports of an earlier schema', () => {
  test("a schemaVersion 1 report (its `article` section) is read as schemaVersion 2 (its reference, 'the article'), and renders as before", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mah-report-v1-'));
    try {
      const v1 = {
        schemaVersion: 1,
        kind: 'steps',
        scenario: 'manifest-path',
        title: 'manifest <path>',
        article: '2.4-2.7',
        startedAt: '2026-11-27T10:00:00.000Z',
        durationMs: 2000,
        host: { engine: '26.1.5', native: 'linux/amd64', imageStore: 'containerd', kernel: '6.1' },
        steps: [
          {
            section: '2.7',
            title: 'create',
            commands: ['docker manifest create a b'],
            article: 'Created manifest list',
            observed: ['ok'],
            differences: ['needs --insecure'],
            status: 'pass',
            failures: [],
            durationMs: 5,
          },
        ],
        platforms: [],
        summary: { passed: 1, failed: 0, skipped: 0 },
        notes: [],
      };
      await writeFile(join(dir, 'v1.json'), JSON.stringify(v1));
      const json = join(dir, 'out.json');
      expect(await main(['report', 'merge', join(dir, 'v1.json'), '--reporter', `json=${json}`, '--quiet'])).toBe(0);
      const read = JSON.parse(await readFile(json, 'utf8'));
      expect(read).toMatchObject({ schemaVersion: 2, reference: { name: 'the article', part: '2.4-2.7' } });
      expect(read).not.toHaveProperty('article');
      expect(read.steps[0]).toMatchObject({ reference: 'Created manifest list' });
      expect(read.steps[0]).not.toHaveProperty('article');
      expect(out.join('\n')).toMatch(/\(the article 2\.4-2\.7\)[\s\S]*~ differs from the article: needs --insecure/);
      expect(engine.calls).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('neither version 1 nor 2: one sentence', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mah-report-v0-'));
    try {
      await writeFile(join(dir, 'x.json'), JSON.stringify({ schemaVersion: 3, platforms: [] }));
      expect(await main(['report', join(dir, 'x.json')])).toBe(2);
      expect(err[0]).toMatch(/x\.json is not a multiarch-harness report \(schemaVersion 1 or 2\)\.$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the engine sentinel', () => {
  test('is what the harness gets for execa (so its silence above means something)', async () => {
    const { execa } = await import('execa');
    expect(() => execa('docker', ['version'])).toThrow('a test touched the engine');
    expect(engine.calls).toEqual([['docker', ['version']]]);
  });
});
