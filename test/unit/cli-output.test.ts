// Where the CLI's output goes and how it looks: a reporter on stdout (`-`) moves the matrix to
// stderr; colour is decided per stream (NO_COLOR, FORCE_COLOR, TTY) and never reaches a file report;
// GitHub Actions annotations and groups.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { colorEnabled, publishReports } from '../../harness/cli/output.ts';
import { endProgressGroup, printProgress } from '../../harness/cli/progress.ts';
import { annotation, escapeData, escapeProperty, groupEnd, groupStart, isGitHubActions } from '../../harness/base/github-actions.ts';
import { renderAnnotations } from '../../harness/report/github.ts';
import { renderHtml } from '../../harness/report/html.ts';
import { renderJUnit } from '../../harness/report/junit.ts';
import { renderMarkdown } from '../../harness/report/markdown.ts';
import { renderTerminal } from '../../harness/report/terminal.ts';
import { checkReportDestinations, reportFiles, writeReports } from '../../harness/report/write.ts';
import type { SessionReport } from '../../harness/result/model.ts';

const ESC = '\x1b[';
const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

const report: SessionReport = {
  schemaVersion: 2,
  kind: 'build',
  scenario: 'hello',
  title: 'Hello, 100% sure',
  startedAt: '2026-11-27T10:00:00.000Z',
  durationMs: 2000,
  host: { engine: '26.1.5', native: 'linux/amd64', imageStore: 'containerd', kernel: '6.1' },
  platforms: [
    {
      platform: 'linux/amd64',
      mode: 'native',
      status: 'pass',
      expected: 'Hello, linux/amd64!',
      output: 'Hello, linux/amd64!',
      durationMs: 300,
      checks: { index: { status: 'pass' }, config: { status: 'pass' }, binary: { status: 'pass' }, run: { status: 'pass' } },
    },
    {
      platform: 'linux/arm64',
      mode: 'qemu',
      status: 'fail',
      expected: 'Hello, linux/arm64!',
      output: 'Hello, linux/amd64!',
      durationMs: 400,
      checks: {
        index: { status: 'pass' },
        config: { status: 'pass' },
        binary: { status: 'fail', message: '/app/hello: ELF 64-bit x86-64, not arm64: 100% wrong\r\nsee the build stage' },
        run: { status: 'fail', message: 'expected "Hello, linux/arm64!", got "Hello, linux/amd64!"' },
      },
      message: 'binary: built for x86-64; run: printed the wrong platform',
    },
    {
      platform: 'linux/mips64le',
      mode: 'unavailable',
      status: 'skip',
      expected: 'Hello, linux/mips64le!',
      output: '',
      durationMs: 0,
      checks: {
        index: { status: 'skip', message: 'not reached' },
        config: { status: 'skip', message: 'not reached' },
        binary: { status: 'skip', message: 'not reached' },
        run: { status: 'skip', message: 'cannot run here' },
      },
      message: 'cannot run here',
      fix: 'register qemu-mips64el',
    },
  ],
  summary: { passed: 1, failed: 1, skipped: 1 },
  notes: [],
};

let out: string[] = [];
let err: string[] = [];
let stdout = '';

/** Makes a stream say it is (or is not) a terminal, until the test ends. */
const ttyRestores: (() => void)[] = [];
function setTTY(stream: NodeJS.WriteStream, isTTY: boolean): void {
  const own = Object.getOwnPropertyDescriptor(stream, 'isTTY');
  Object.defineProperty(stream, 'isTTY', { value: isTTY, configurable: true, writable: true });
  ttyRestores.push(() => (own ? Object.defineProperty(stream, 'isTTY', own) : delete (stream as { isTTY?: boolean }).isTTY));
}

beforeEach(() => {
  out = [];
  err = [];
  stdout = '';
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
    out.push(a.join(' '));
  });
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => {
    err.push(a.join(' '));
  });
  vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string, ...rest: unknown[]) => {
    stdout += chunk;
    const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof process.stdout.write);
  // Whatever the environment running the tests says, these tests say it themselves.
  for (const name of ['NO_COLOR', 'FORCE_COLOR', 'GITHUB_ACTIONS', 'GITHUB_STEP_SUMMARY', 'TERM']) vi.stubEnv(name, undefined);
});

afterEach(() => {
  for (const restore of ttyRestores.splice(0).reverse()) restore();
  endProgressGroup();
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('colour decisions, for the stream the matrix goes to', () => {
  const tty = { isTTY: true };
  const pipe = { isTTY: false };

  test.each([
    ['a terminal', tty, {}, true],
    ['a pipe or file', pipe, {}, false],
    ['a stream that does not say', {}, {}, false],
    ['NO_COLOR=1 on a terminal', tty, { NO_COLOR: '1' }, false],
    ['NO_COLOR set to anything, even empty', tty, { NO_COLOR: '' }, false],
    ['FORCE_COLOR=1 on a pipe', pipe, { FORCE_COLOR: '1' }, true],
    ['FORCE_COLOR set empty on a pipe', pipe, { FORCE_COLOR: '' }, true],
    ['FORCE_COLOR=3 on a pipe', pipe, { FORCE_COLOR: '3' }, true],
    ['FORCE_COLOR=0 on a terminal', tty, { FORCE_COLOR: '0' }, false],
    ['FORCE_COLOR=false on a terminal', tty, { FORCE_COLOR: 'false' }, false],
    ['NO_COLOR over FORCE_COLOR', pipe, { NO_COLOR: '1', FORCE_COLOR: '1' }, false],
    ['TERM=dumb on a terminal', tty, { TERM: 'dumb' }, false],
    ['TERM=dumb with FORCE_COLOR', pipe, { TERM: 'dumb', FORCE_COLOR: '1' }, true],
    ['CI alone on a pipe (no guess)', pipe, { CI: 'true' }, false],
  ])('%s', (_, stream, env, want) => {
    expect(colorEnabled(stream, env)).toBe(want);
  });

  test('reads process.env by default', () => {
    vi.stubEnv('FORCE_COLOR', '1');
    expect(colorEnabled({ isTTY: false })).toBe(true);
    vi.stubEnv('NO_COLOR', '1');
    expect(colorEnabled({ isTTY: true })).toBe(false);
  });
});

describe('the coloured matrix', () => {
  test('without the option, and with color: false, the text has no escape codes', () => {
    expect(renderTerminal(report)).not.toContain(ESC);
    expect(renderTerminal(report, { color: false })).toBe(renderTerminal(report));
  });

  test('with color: PASS green, FAIL red, SKIP yellow; the same text and alignment once the codes are stripped', () => {
    const plain = renderTerminal(report);
    const colored = renderTerminal(report, { color: true });
    expect(colored).toContain(`${ESC}32mPASS${ESC}39m`);
    expect(colored).toContain(`${ESC}31mFAIL${ESC}39m`);
    expect(colored).toContain(`${ESC}33mSKIP${ESC}39m`);
    expect(colored).toContain(`${ESC}32mok${ESC}39m`);
    expect(stripAnsi(colored)).toBe(plain);
    // Only the marks are coloured, not the platform names or the header.
    expect(colored).toMatch(/^PLATFORM {2,}MODE/m);
    expect(colored).toMatch(/^linux\/arm64 {2,}qemu/m);
  });
});

describe('--reporter R=-', () => {
  test('the destination check accepts - and creates nothing for it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mah-stdout-'));
    const cwd = process.cwd();
    try {
      process.chdir(dir);
      await checkReportDestinations([{ name: 'json', file: '-' }, { name: 'terminal' }], 'hello');
      expect(
        reportFiles(
          [
            { name: 'json', file: '-' },
            { name: 'junit', file: 'x.xml' },
          ],
          'hello',
        ),
      ).toEqual(['x.xml']);
      await expect(
        checkReportDestinations(
          [
            { name: 'json', file: '-' },
            { name: 'html', file: '-' },
          ],
          'hello',
        ),
      ).rejects.toThrow(/Only one reporter can write to stdout/);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      process.chdir(cwd);
      await rm(dir, { recursive: true, force: true });
    }
  });

  test.each([
    ['json', (s: string) => expect(JSON.parse(s)).toEqual(report)],
    ['junit', (s: string) => expect(s).toBe(renderJUnit([report]))],
    ['markdown', (s: string) => expect(s).toBe(renderMarkdown([report]))],
  ] as const)('%s=-: the report alone on stdout, the matrix on stderr', async (name, check) => {
    vi.stubEnv('GITHUB_STEP_SUMMARY', join(tmpdir(), 'must-not-be-written.md'));
    const code = await publishReports([report], [{ name, file: '-' }], 'hello', true);
    expect(code).toBe(1);
    check(stdout);
    expect(out).toEqual([]);
    expect(err[0]).toBe(`${renderTerminal(report)}\n`);
    expect(err.at(-1)).toBe('reports: stdout');
  });

  test('without -, the matrix is on stdout as before', async () => {
    await publishReports([report], [], 'hello', true);
    expect(out).toEqual([`${renderTerminal(report)}\n`]);
    expect(stdout).toBe('');
  });

  test('two reporters on stdout are refused before anything is written', async () => {
    await expect(
      writeReports(
        [report],
        [
          { name: 'json', file: '-' },
          { name: 'junit', file: '-' },
        ],
        'hello',
        true,
      ),
    ).rejects.toThrow(/Only one reporter/);
    expect(stdout).toBe('');
  });
});

describe('colour reaches the matrix only, decided for its stream', () => {
  test('FORCE_COLOR: the matrix (on stderr) is coloured, the JSON on stdout is not', async () => {
    vi.stubEnv('FORCE_COLOR', '1');
    await publishReports([report], [{ name: 'json', file: '-' }], 'hello', true);
    expect(err[0]).toContain(ESC);
    expect(stdout).not.toContain(ESC);
  });

  test('the matrix follows the TTY-ness of its own stream: stderr here, not stdout', async () => {
    setTTY(process.stdout, true);
    setTTY(process.stderr, false);
    await publishReports([report], [{ name: 'json', file: '-' }], 'hello', true);
    expect(err[0]).not.toContain(ESC);
    out = [];
    await publishReports([report], [], 'hello', true);
    expect(out[0]).toContain(ESC);
    // And the other way round: a terminal on stderr, stdout piped into a file.
    setTTY(process.stdout, false);
    setTTY(process.stderr, true);
    err = [];
    await publishReports([report], [{ name: 'json', file: '-' }], 'hello', true);
    expect(err[0]).toContain(ESC);
    expect(stdout).not.toContain(ESC);
  });

  test('NO_COLOR wins on a terminal', async () => {
    setTTY(process.stdout, true);
    vi.stubEnv('NO_COLOR', '1');
    await publishReports([report], [], 'hello', true);
    expect(out[0]).not.toContain(ESC);
  });

  test('file reports never carry colour codes', () => {
    for (const text of [renderJUnit([report]), renderMarkdown([report]), renderHtml([report]), JSON.stringify(report)])
      expect(text).not.toContain(ESC);
  });
});

describe('GitHub Actions', () => {
  test('escaping as GitHub requires: %, CR, LF in messages; also : and , in properties', () => {
    expect(escapeData('100% done\r\nnext: a, b')).toBe('100%25 done%0D%0Anext: a, b');
    expect(escapeProperty('100% done\r\nnext: a, b')).toBe('100%25 done%0D%0Anext%3A a%2C b');
    expect(escapeData('%0A')).toBe('%250A'); // an escape already in the text is not taken for one
    expect(annotation('error', 'a:b', 'x\ny')).toBe('::error title=a%3Ab::x%0Ay');
  });

  test('one ::error per failed check, titled scenario platform check', () => {
    expect(renderAnnotations([report])).toEqual([
      '::error title=hello linux/arm64 binary::/app/hello: ELF 64-bit x86-64, not arm64: 100%25 wrong%0D%0Asee the build stage',
      '::error title=hello linux/arm64 run::expected "Hello, linux/arm64!", got "Hello, linux/amd64!"',
    ]);
  });

  test('failed steps, a failed platform with no failed check (with its fix), and known issues (a warning, not an error)', () => {
    const more: SessionReport = {
      ...report,
      steps: [
        {
          section: '2.7',
          title: 'create',
          commands: [],
          observed: [],
          differences: [],
          status: 'fail',
          failures: ['expected "Created"', 'got nothing'],
          durationMs: 1,
        },
        { section: '2.8', title: 'push', commands: [], observed: [], differences: [], status: 'pass', failures: [], durationMs: 1 },
      ],
      platforms: [
        { ...report.platforms[2]!, status: 'fail', message: 'cannot run here' },
        { ...report.platforms[1]!, status: 'pass', knownIssues: ['binary: GOARM=7 in arm/v6'] },
      ],
    };
    expect(renderAnnotations([more])).toEqual([
      '::error title=hello 2.7 create::expected "Created"%0Agot nothing',
      '::error title=hello linux/mips64le::cannot run here%0AFix: register qemu-mips64el',
      '::warning title=hello linux/arm64::known issue, accepted by the scenario: binary: GOARM=7 in arm/v6',
    ]);
  });

  test('only under GITHUB_ACTIONS=true: the annotations follow the matrix on its stream', async () => {
    expect(isGitHubActions({ GITHUB_ACTIONS: 'true' })).toBe(true);
    expect(isGitHubActions({ GITHUB_ACTIONS: 'false' })).toBe(false);
    expect(isGitHubActions({})).toBe(false);
    await publishReports([report], [], 'hello', true);
    expect(out.filter((l) => l.startsWith('::'))).toEqual([]);
    vi.stubEnv('GITHUB_ACTIONS', 'true');
    out = [];
    await publishReports([report], [], 'hello', true);
    expect(out).toEqual([`${renderTerminal(report)}\n`, ...renderAnnotations([report])]);
    out = [];
    err = [];
    await publishReports([report], [{ name: 'json', file: '-' }], 'hello', true);
    expect(out).toEqual([]);
    expect(err.slice(0, 3)).toEqual([`${renderTerminal(report)}\n`, ...renderAnnotations([report])]);
    expect(stdout).not.toMatch(/::error/);
  });

  test("a scenario's progress lines are folded into a ::group::, closed before the matrix", async () => {
    vi.stubEnv('GITHUB_ACTIONS', 'true');
    const a = printProgress('alpha');
    const b = printProgress('beta');
    a('building');
    a('running linux/arm64');
    b('building');
    await publishReports([report], [], 'hello', true);
    const lines = err.map((l) => l.replace(/^\[(\w+) [\d.]+s\]/, '[$1]'));
    expect(lines).toEqual([
      groupStart('alpha'),
      '[alpha] building',
      '[alpha] running linux/arm64',
      groupEnd(),
      groupStart('beta'),
      '[beta] building',
      groupEnd(),
    ]);
    expect(groupStart('a\nb')).toBe('::group::a%0Ab');
  });

  test('no groups outside GitHub Actions', () => {
    printProgress('alpha')('building');
    endProgressGroup();
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^\[alpha [\d.]+s\] building$/);
  });
});
