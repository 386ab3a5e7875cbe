import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  awaitPreparedImage,
  isRunning,
  preparationFailureFile,
  preparingFile,
  preparingImage,
  runningPreparation,
} from '../../harness/host/prepared-images.ts';
import { createsContainerBuilder } from '../../harness/build/builder.ts';
import { describeBackground } from '../../setup/status-report.ts';

const REF = 'moby/buildkit:buildx-stable-1';
/** What this repository's set-up records as the way to try again (setup/standins/main.ts). */
const RETRY_HINT = 'run `bash setup/prepare-host.sh` to build it again';
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mah-bg-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A process that runs `script` (sh), recorded as preparing `refs` in the background, as the set-up records its stand-in build. */
async function recorded(script: string, refs = [REF]) {
  const child = spawn('sh', ['-c', script], { stdio: 'ignore' });
  const exited = new Promise((r) => child.on('exit', r));
  const preparation = await preparingImage(refs, {
    pid: child.pid!,
    log: join(dir, 'standins-background.log'),
    retryHint: RETRY_HINT,
    dir,
  });
  return { b: preparation.record, preparation, exited };
}

describe("images another process prepares (the set-up's stand-ins, finished in the background)", () => {
  test('nothing recorded: returns at once', async () => {
    await expect(awaitPreparedImage(REF, { dir, pollMs: 10 })).resolves.toBeUndefined();
    expect(await runningPreparation(dir)).toBeUndefined();
    expect(await describeBackground(dir)).toBeUndefined();
  });

  test('waits while the recorded process runs, and returns once it removed its record', async () => {
    const record = preparingFile(dir);
    // The build finishes (removes its record) only when the test says so: after the wait was seen.
    const finish = join(dir, 'finish');
    // (It also ends when the test's folder is gone: a failed test leaves no process behind.)
    const { b } = await recorded(`while [ ! -e '${finish}' ] && [ -d '${dir}' ]; do sleep 0.01; done; rm -f '${record}'`);
    expect(await isRunning(b)).toBe(true);
    expect((await runningPreparation(dir))?.pid).toBe(b.pid);
    await writeFile(
      b.log,
      '[standins] moby/buildkit:buildx-stable-1: go build github.com/moby/buildkit/cmd/buildkitd for linux/s390x (240 s so far)\n',
    );
    expect(await describeBackground(dir)).toMatch(
      /^stand-ins: moby\/buildkit:buildx-stable-1 being built in the background since .* \(pid \d+, log .*\): go build github.com\/moby\/buildkit\/cmd\/buildkitd for linux\/s390x; a docker-container builder waits for it$/,
    );
    const lines: string[] = [];
    let sawWait: () => void = () => undefined;
    const waiting = new Promise<void>((resolve) => {
      sawWait = resolve;
    });
    let returned = false;
    const awaited = awaitPreparedImage(REF, {
      dir,
      pollMs: 20,
      everyMs: 10_000,
      onWait: (l) => {
        lines.push(l);
        sawWait();
      },
    }).finally(() => {
      returned = true;
    });
    await waiting;
    // Waiting, while the record is there and its process runs.
    expect(returned).toBe(false);
    expect(await isRunning(b)).toBe(true);
    await writeFile(finish, '');
    await awaited;
    // It returned because the record went, not before.
    expect(await runningPreparation(dir)).toBeUndefined();
    expect(existsSync(record)).toBe(false);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`pid ${b.pid}`);
    expect(lines[0]).toMatch(
      /^waiting for moby\/buildkit:buildx-stable-1, which the set-up builds in the background \(pid \d+, log \S+\): go build github.com\/moby\/buildkit\/cmd\/buildkitd for linux\/s390x \(waited 0 s\)$/,
    );
  });

  test('a record whose process ended without finishing: one sentence naming the log', async () => {
    const { b, exited } = await recorded('exit 0');
    await exited;
    expect(await isRunning(b)).toBe(false);
    expect(await describeBackground(dir)).toMatch(/stopped before it finished/);
    await expect(awaitPreparedImage(REF, { dir, pollMs: 10 })).rejects.toThrow(
      /background build of moby\/buildkit:buildx-stable-1 stopped before it finished \(log: .*standins-background\.log\); run `bash setup\/prepare-host\.sh`/,
    );
  });

  test('a pid now held by another process, or a record of an earlier boot, is not the build', async () => {
    const { b } = await recorded('sleep 5');
    expect(await isRunning({ ...b, startTicks: String(Number(b.startTicks) - 1) })).toBe(false);
    expect(await isRunning({ ...b, bootId: 'another-boot' })).toBe(false);
    process.kill(b.pid);
  });

  test('a failed build: its record goes, its failure is said', async () => {
    const { b, preparation } = await recorded('sleep 5');
    await preparation.done('go build failed');
    process.kill(b.pid);
    expect(await describeBackground(dir)).toMatch(
      /^stand-ins: the background build of moby\/buildkit:buildx-stable-1 failed: go build failed/,
    );
    await expect(awaitPreparedImage(REF, { dir, pollMs: 10 })).rejects.toThrow(
      /could not build moby\/buildkit:buildx-stable-1 in the background: go build failed/,
    );
    await rm(preparationFailureFile(dir));
    await expect(awaitPreparedImage(REF, { dir, pollMs: 10 })).resolves.toBeUndefined();
  });

  test('another image being built is not waited for', async () => {
    const { b } = await recorded('sleep 5', ['library/registry:2']);
    await expect(awaitPreparedImage(REF, { dir, pollMs: 10 })).resolves.toBeUndefined();
    process.kill(b.pid);
  });

  test("which docker commands start BuildKit's image", () => {
    expect(createsContainerBuilder(['buildx', 'create', '--name', 'b'])).toBe(true);
    expect(createsContainerBuilder(['buildx', 'create', '--name', 'b', '--driver', 'docker-container'])).toBe(true);
    expect(createsContainerBuilder(['buildx', 'create', '--driver=docker-container'])).toBe(true);
    expect(createsContainerBuilder(['buildx', 'create', '--driver', 'remote', 'tcp://127.0.0.1:1234'])).toBe(false);
    expect(createsContainerBuilder(['buildx', 'ls'])).toBe(false);
    expect(createsContainerBuilder(['run', 'buildx', 'create'])).toBe(false);
  });
});
