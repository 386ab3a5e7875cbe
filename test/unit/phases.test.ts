import { describe, expect, test } from 'vitest';
import { measurePhases, timed } from '../../harness/result/phases.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('phase clock', () => {
  test('a run counts the time of each phase its work spends, overlapping work summed', async () => {
    const { value, phases } = await measurePhases(async () => {
      await Promise.all([timed('pull', () => sleep(40)), timed('pull', () => sleep(40))]);
      await timed('run', () => sleep(20));
      return 'done';
    });
    expect(value).toBe('done');
    expect(phases.pull).toBeGreaterThanOrEqual(75);
    expect(phases.run).toBeGreaterThanOrEqual(18);
    expect(Object.keys(phases).sort()).toEqual(['pull', 'run']);
  });

  test('outside a run fn just runs; a failure inside one is passed on', async () => {
    await expect(timed('pull', async () => 7)).resolves.toBe(7);
    await expect(
      measurePhases(async () => {
        await timed('build', async () => {
          await sleep(10);
          throw new Error('no');
        });
      }),
    ).rejects.toThrow('no');
  });

  test('two runs at once in one process count each other\'s phases (documented in RunReport.phasesMs)', async () => {
    const [a, b] = await Promise.all([
      measurePhases(() => timed('pull', () => sleep(80))),
      measurePhases(() => timed('run', () => sleep(20))),
    ]);
    // b's run ended while a was going on; a's pull ended after b was done.
    expect(Object.keys(a.phases).sort()).toEqual(['pull', 'run']);
    expect(Object.keys(b.phases)).toEqual(['run']);
  });
});
