/**
 * The bounded waits (bounds.ts) and what each ends with when it is passed, made short through its
 * variable: MULTIARCH_HARNESS_REGISTRY_READY_TIMEOUT_MS (the run's registry answering, 60 s),
 * MULTIARCH_HARNESS_DOCKER_TIMEOUT_MS (a command that states no bound, 15 min),
 * MULTIARCH_HARNESS_REPORT_WRITE_TIMEOUT_MS (a report file, 30 s). Offline: a registry on
 * 127.0.0.1 that never gets ready, a command that sleeps, a report written into a FIFO nobody reads.
 * Pauses and the clock are fake where the code waits on timers; no assertion is about wall-clock time.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { BOUNDS, boundMs, checkBounds } from '../../harness/base/bounds.ts';
import { main } from '../../harness/cli/main.ts';
import { CommandError, describeFailure, execCommand, type CommandResult } from '../../harness/base/exec.ts';
import { UsageError } from '../../harness/base/errors.ts';
import { RegistryReady } from '../../harness/session/registry-ready.ts';
import { checkReportDestinations, writeReports } from '../../harness/report/write.ts';
import type { SessionReport } from '../../harness/result/model.ts';
import { settle, startLoopbackServer, type LoopbackServer } from '../support/loopback-server.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mah-bounds-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

describe('the bounds and their variables, read in one place', () => {
  test('defaults: 60 s, 15 min, 30 s, 60 s; one naming scheme', () => {
    expect(boundMs('registryReady', {})).toBe(60_000);
    expect(boundMs('dockerCommand', {})).toBe(15 * 60_000);
    expect(boundMs('reportWrite', {})).toBe(30_000);
    expect(boundMs('registryStall', {})).toBe(60_000);
    expect(Object.values(BOUNDS).map((b) => b.variable)).toEqual([
      'MULTIARCH_HARNESS_REGISTRY_READY_TIMEOUT_MS',
      'MULTIARCH_HARNESS_DOCKER_TIMEOUT_MS',
      'MULTIARCH_HARNESS_REPORT_WRITE_TIMEOUT_MS',
      'MULTIARCH_HARNESS_REGISTRY_STALL_TIMEOUT_MS',
    ]);
  });

  test('a variable sets its bound in milliseconds; empty is unset', () => {
    expect(boundMs('dockerCommand', { MULTIARCH_HARNESS_DOCKER_TIMEOUT_MS: '2500' })).toBe(2500);
    expect(boundMs('reportWrite', { MULTIARCH_HARNESS_REPORT_WRITE_TIMEOUT_MS: ' ' })).toBe(30_000);
  });

  test('anything but a whole number of milliseconds a timer can take is one sentence (a usage error), said by checkBounds before any work', () => {
    for (const bad of ['5s', '0', '-1', '1.5', '1e3', '2147483648']) {
      const env = { MULTIARCH_HARNESS_REGISTRY_READY_TIMEOUT_MS: bad };
      expect(() => checkBounds(env), bad).toThrow(UsageError);
      expect(() => checkBounds(env)).toThrow(
        `MULTIARCH_HARNESS_REGISTRY_READY_TIMEOUT_MS is "${bad}", not a whole number of milliseconds from 1 to 2147483647: unset it for the default, 60 s.`,
      );
    }
    expect(() => checkBounds({ MULTIARCH_HARNESS_DOCKER_TIMEOUT_MS: 'soon' })).toThrow(/unset it for the default, 15 min\.$/);
  });
});

describe('the command line says a malformed bound first', () => {
  test('one sentence, exit 2, before the command is even loaded; --help still answers', async () => {
    const said: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => {
      said.push(a.join(' '));
    });
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    vi.stubEnv('MULTIARCH_HARNESS_DOCKER_TIMEOUT_MS', '15m');
    try {
      expect(await main(['report', join(dir, 'missing.json')])).toBe(2);
      expect(said).toEqual([
        'multiarch-harness: MULTIARCH_HARNESS_DOCKER_TIMEOUT_MS is "15m", not a whole number of milliseconds from 1 to 2147483647: unset it for the default, 15 min.',
      ]);
      expect(await main(['verify', '--help'])).toBe(0);
    } finally {
      vi.restoreAllMocks();
    }
  });
});

describe("the run registry's readiness (registry-ready.ts), bounded by MULTIARCH_HARNESS_REGISTRY_READY_TIMEOUT_MS", () => {
  let starting: LoopbackServer;
  let port: number;
  let asked = 0;
  beforeAll(async () => {
    // Answers every question as a registry that never finishes starting: 503.
    starting = await startLoopbackServer((_req, res) => {
      asked++;
      res.writeHead(503).end('{}');
    });
    port = starting.port;
  });
  afterAll(() => starting.close());

  test('the variable is the start-up timeout, and passing it is the end of one sentence that names it', async () => {
    vi.stubEnv('MULTIARCH_HARNESS_REGISTRY_READY_TIMEOUT_MS', '1000');
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const wait = new RegistryReady(5000, '127.0.0.1');
    expect(wait.getStartupTimeout()).toBe(1000);
    const started = Date.now();
    const err = await settle(wait.waitUntilReady(undefined, { getBinding: () => port })).catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      `the registry did not answer GET /v2/ with 200 on 127.0.0.1:${port} within 1 s (MULTIARCH_HARNESS_REGISTRY_READY_TIMEOUT_MS sets that bound)`,
    );
    // Asked every 200 ms until the bound: at 0, 200, ..., 1000.
    expect(asked).toBe(6);
    expect(Date.now() - started).toBe(1000);
  });
});

describe('a command that states no bound (base/exec.ts), bounded by MULTIARCH_HARNESS_DOCKER_TIMEOUT_MS', () => {
  test('passing the bound ends the command and is one sentence that names the bound and the variable', async () => {
    vi.stubEnv('MULTIARCH_HARNESS_DOCKER_TIMEOUT_MS', '100');
    const err = await execCommand('sleep', ['30']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    const r = (err as CommandError).result;
    expect(r).toMatchObject({ timedOut: true, timeoutMs: 100, defaultBound: true, exitCode: undefined });
    // Ended, not left running: the timeout's signal ended it.
    expect(r!.signal).toMatch(/^SIG(TERM|KILL)$/);
    expect((err as Error).message).toBe(
      '`sleep 30` did not finish within 0.1 s (the bound on a command that states none: MULTIARCH_HARNESS_DOCKER_TIMEOUT_MS sets it).',
    );
    // As before: a command that timed out counts as a passing failure for whoever retries (transientFailure).
    expect((err as CommandError).transient).toBe(true);
  });

  test('a command with its own bound keeps it, and says only how long it had', async () => {
    vi.stubEnv('MULTIARCH_HARNESS_DOCKER_TIMEOUT_MS', '100');
    expect((await execCommand('sh', ['-c', 'exit 0'], { timeoutMs: 60_000 })).exitCode).toBe(0);
    const own: CommandResult = {
      command: 'docker buildx inspect --bootstrap b',
      exitCode: undefined,
      stdout: '',
      stderr: '',
      durationMs: 300_000,
      timedOut: true,
      signal: 'SIGTERM',
      timeoutMs: 300_000,
      defaultBound: false,
    };
    expect(describeFailure(own)).toBe('`docker buildx inspect --bootstrap b` did not finish within 5 min.');
  });
});

describe('a report write (report/write.ts), bounded by MULTIARCH_HARNESS_REPORT_WRITE_TIMEOUT_MS', () => {
  test('a report into a FIFO nobody reads: one sentence at the bound, naming the file and the variable', async () => {
    const fifo = join(dir, 'nobody-reads.json');
    await promisify(execFile)('mkfifo', [fifo]);
    vi.stubEnv('MULTIARCH_HARNESS_REPORT_WRITE_TIMEOUT_MS', '2000');
    vi.stubEnv('GITHUB_STEP_SUMMARY', '');
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const report = { kind: 'verify' } as unknown as SessionReport;
    const started = Date.now();
    const err = await settle(writeReports([report], [{ name: 'json', file: fifo }], 'x', true)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(
      `The report ${fifo} could not be written within 2 s: its file system does not answer (MULTIARCH_HARNESS_REPORT_WRITE_TIMEOUT_MS sets that bound).`,
    );
    expect(Date.now() - started).toBe(2000);
    vi.useRealTimers();
    // The write still waits for a reader in the thread pool: read it, so nothing is left waiting.
    expect(JSON.parse(await readFile(fifo, 'utf8'))).toEqual(report);
  });

  test('a malformed bound is said before the run, by the destinations check', async () => {
    vi.stubEnv('MULTIARCH_HARNESS_REPORT_WRITE_TIMEOUT_MS', 'thirty');
    await expect(checkReportDestinations([{ name: 'json', file: join(dir, 'r.json') }], 'x')).rejects.toThrow(
      /^MULTIARCH_HARNESS_REPORT_WRITE_TIMEOUT_MS is "thirty"/,
    );
  });
});
