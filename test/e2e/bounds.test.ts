// The bounded waits that need the engine, made short through their variables in the CLI process's
// environment (issue 24, item 6): a docker command that does not end (`docker run` of a container
// that sleeps, MULTIARCH_HARNESS_DOCKER_TIMEOUT_MS) and a run registry that never answers (an image
// that only sleeps as MULTIARCH_REGISTRY_IMAGE, MULTIARCH_HARNESS_REGISTRY_READY_TIMEOUT_MS). Each
// ends with its one sentence naming the bound and the variable, and leaves nothing behind: the
// container the bound cut short really ran (the engine's own events say so) and is gone. The third
// bound, a report write, needs no engine: test/unit/bounds.test.ts writes into a FIFO nobody reads.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { SessionReport } from '../../harness/result/model.ts';
import { CLI, harnessLeftovers, ROOT } from './helpers.ts';
import { IMAGE, TEST_LABEL } from './fixtures/hanging-step.ts';

/** An image that runs and never answers anything: alpine's shell, sleeping (made with create + commit, no build). */
const SILENT = `mah-e2e-silent-registry:${process.pid}`;
const OWN_LABEL = 'io.multiarch-harness.test=bounds';

let tmp = '';
/** Whether this test pulled the alpine stand-in (then it removes it again: other tests expect it absent). */
let pulled = false;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'mah-bounds-'));
  // In the engine before the runs: a pull inside the bound would spend it.
  if ((await execa('docker', ['image', 'inspect', IMAGE], { reject: false })).exitCode !== 0) {
    await execa('docker', ['pull', '--quiet', IMAGE]);
    pulled = true;
  }
  const made = await execa('docker', ['create', '--label', OWN_LABEL, IMAGE, 'sleep', '3600']);
  const id = made.stdout.trim();
  try {
    await execa('docker', ['commit', id, SILENT]);
  } finally {
    await execa('docker', ['rm', '-f', id], { reject: false });
  }
}, 5 * 60_000);

afterAll(async () => {
  await execa('docker', ['image', 'rm', '-f', SILENT], { reject: false });
  if (pulled) await execa('docker', ['image', 'rm', IMAGE], { reject: false });
  if (tmp) await rm(tmp, { recursive: true, force: true });
  expect(await harnessLeftovers()).toEqual([]);
});

/** The CLI with the variables given, GITHUB_STEP_SUMMARY unset. */
function cli(args: string[], env: Record<string, string>) {
  return execa('node', [CLI, ...args], { cwd: ROOT, reject: false, env: { GITHUB_STEP_SUMMARY: '', ...env }, timeout: 10 * 60_000 });
}

/** The engine's events for containers matching the filters, between two moments (seconds since the epoch), as `event name`. */
async function containerEvents(since: number, until: number, filters: string[]): Promise<string[]> {
  const r = await execa('docker', [
    'events',
    '--since',
    String(since),
    '--until',
    String(until),
    '--filter',
    'type=container',
    ...filters.flatMap((f) => ['--filter', f]),
    '--format',
    '{{.Action}} {{.Actor.Attributes.name}}',
  ]);
  return r.stdout.split('\n').filter(Boolean);
}

const seconds = () => Math.floor(Date.now() / 1000);

describe('a bound passed is one sentence, and nothing is left behind', () => {
  test("MULTIARCH_HARNESS_DOCKER_TIMEOUT_MS: a step's `docker run` of a container that sleeps is ended at the bound; the step fails with the sentence; the container is gone", async () => {
    const since = seconds() - 1;
    const report = join(tmp, 'hanging-step.json');
    const r = await cli(['run', 'test/e2e/fixtures/hanging-step.ts', '--json', report, '--quiet'], {
      MULTIARCH_HARNESS_DOCKER_TIMEOUT_MS: '8000',
    });
    const until = seconds() + 1;
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(1);
    const json = JSON.parse(await readFile(report, 'utf8')) as SessionReport;
    const step = json.steps![0]!;
    expect(step.status).toBe('fail');
    expect(step.failures).toHaveLength(1);
    expect(step.failures[0]).toMatch(
      /^`docker run --rm --name mah-[0-9a-f]+-sleeper .*` did not finish within 8 s \(the bound on a command that states none: MULTIARCH_HARNESS_DOCKER_TIMEOUT_MS sets it\)\.$/,
    );
    expect(`${r.stdout}\n${r.stderr}`).toContain('did not finish within 8 s');
    expect(r.stderr).not.toMatch(/internal error|^\s+at /m);
    // The container started (the bound cut a running command short, not a pull) and was removed.
    const events = await containerEvents(since, until, [`label=${TEST_LABEL}`]);
    expect(
      events.filter((e) => e.startsWith('start ')),
      events.join('\n'),
    ).toHaveLength(1);
    expect(
      events.filter((e) => e.startsWith('destroy ')),
      events.join('\n'),
    ).toHaveLength(1);
    expect((await execa('docker', ['ps', '-aq', '--filter', `label=${TEST_LABEL}`])).stdout.trim()).toBe('');
    expect(await harnessLeftovers()).toEqual([]);
  });

  test('MULTIARCH_HARNESS_REGISTRY_READY_TIMEOUT_MS: a run registry that never answers GET /v2/ is one sentence (exit 2) at the bound; its container is gone', async () => {
    const since = seconds() - 1;
    const r = await cli(['run', 'test/e2e/fixtures/echo-amd64.ts', '--quiet'], {
      MULTIARCH_REGISTRY_IMAGE: SILENT,
      MULTIARCH_HARNESS_REGISTRY_READY_TIMEOUT_MS: '3000',
    });
    const until = seconds() + 1;
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^multiarch-harness: The local registry \\(${SILENT.replace(/[.:]/g, '\\$&')}\\) did not start: the registry did not answer GET /v2/ with 200 on 127\\.0\\.0\\.1:\\d+ within 3 s \\(MULTIARCH_HARNESS_REGISTRY_READY_TIMEOUT_MS sets that bound\\)\\.$`,
      ),
    );
    // It ran, and was removed (testcontainers removes what did not get ready; the session's label sweeps the rest).
    const events = await containerEvents(since, until, [`image=${SILENT}`]);
    expect(
      events.filter((e) => e.startsWith('start ')),
      events.join('\n'),
    ).toHaveLength(1);
    expect(
      events.filter((e) => e.startsWith('destroy ')),
      events.join('\n'),
    ).toHaveLength(1);
    expect((await execa('docker', ['ps', '-aq', '--filter', `ancestor=${SILENT}`])).stdout.trim()).toBe('');
    expect(await harnessLeftovers()).toEqual([]);
  });
});
