/**
 * The phase clock (result/phases.ts), on a fake clock: each phase's busy time, overlapping work
 * summed, and each run's own phases only, however many runs go on at once.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { measurePhases, PhaseClock, timed } from '../../harness/result/phases.ts';
import { Session } from '../../harness/session/session.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('phase clock', () => {
  test('a run counts the time of each phase its work spends, overlapping work summed', async () => {
    const measured = measurePhases(async (clock) => {
      await Promise.all([timed(clock, 'pull', () => sleep(40)), timed(clock, 'pull', () => sleep(40))]);
      await timed(clock, 'run', () => sleep(20));
      return 'done';
    });
    await vi.advanceTimersByTimeAsync(60);
    const { value, phases } = await measured;
    expect(value).toBe('done');
    expect(phases).toEqual({ pull: 80, run: 20 });
  });

  test('without a clock fn just runs; a failure inside one is passed on, its time counted', async () => {
    await expect(timed(undefined, 'pull', async () => 7)).resolves.toBe(7);
    const clock = new PhaseClock();
    const failing = timed(clock, 'build', async () => {
      await sleep(10);
      throw new Error('no');
    });
    const rejected = expect(failing).rejects.toThrow('no');
    await vi.advanceTimersByTimeAsync(10);
    await rejected;
    expect(clock.totals()).toEqual({ build: 10 });
  });

  test('two runs at once in one process count their own phases only', async () => {
    const both = Promise.all([
      measurePhases((clock) => timed(clock, 'pull', () => sleep(80))),
      measurePhases((clock) => timed(clock, 'run', () => sleep(20))),
    ]);
    await vi.advanceTimersByTimeAsync(80);
    const [a, b] = await both;
    // b's run ended while a was going on; a's pull ended after b was done: neither sees the other's.
    expect(a.phases).toEqual({ pull: 80 });
    expect(b.phases).toEqual({ run: 20 });
  });

  test("a session carries its run's clock: two sessions' work is timed apart", async () => {
    const [one, two] = [new Session(), new Session()];
    const work = Promise.all([
      timed(one.phases, 'pull', () => sleep(30)),
      timed(two.phases, 'pull', () => sleep(50)),
      timed(two.phases, 'run', () => sleep(5)),
    ]);
    await vi.advanceTimersByTimeAsync(50);
    await work;
    expect(one.phases.totals()).toEqual({ pull: 30 });
    expect(two.phases.totals()).toEqual({ pull: 50, run: 5 });
  });
});
