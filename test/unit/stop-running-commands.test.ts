/**
 * A program ending on a signal stops the commands it still runs before it cleans up
 * (harness/base/exec.ts, stopRunningCommands): SIGTERM, then SIGKILL for one that ignores it.
 * Real processes (sh and sleep), no engine.
 */
import { describe, expect, test } from 'vitest';
import { execCommand, stopRunningCommands } from '../../harness/base/index.ts';

describe('stopRunningCommands', () => {
  test('with nothing running it returns at once', async () => {
    const t0 = performance.now();
    await stopRunningCommands(5_000);
    expect(performance.now() - t0).toBeLessThan(1_000);
  });

  test('a running command gets SIGTERM and has exited when it resolves', async () => {
    const run = execCommand('sleep', ['30'], { check: false });
    // Started: execa is loaded at the first command.
    await new Promise((r) => setTimeout(r, 300));
    await stopRunningCommands(5_000);
    const r = await run;
    expect(r.signal).toBe('SIGTERM');
    expect(r.durationMs).toBeLessThan(5_000);
  });

  test('one that ignores SIGTERM is killed once the grace is over, and one that has exited is not waited for again', async () => {
    const stubborn = execCommand('sh', ['-c', 'trap "" TERM; while :; do sleep 0.1; done'], { check: false });
    await new Promise((r) => setTimeout(r, 300));
    await stopRunningCommands(500);
    const r = await stubborn;
    expect(r.signal).toBe('SIGKILL');
    const t0 = performance.now();
    await stopRunningCommands(5_000);
    expect(performance.now() - t0).toBeLessThan(1_000);
  });
});
