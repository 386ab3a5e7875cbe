/**
 * Where a run's time went, by phase (probe, registry, build, pull, static checks, run, cleanup):
 * each phase's busy time, summed over platforms that overlap, so the sum can exceed the wall time.
 * The clock follows the work through async calls (AsyncLocalStorage): deep functions time their
 * phase without being handed a clock.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export type Phases = Record<string, number>;

const clock = new AsyncLocalStorage<Phases>();

/** Runs fn with a fresh clock; returns what it returned and the time per phase, in ms. */
export async function measurePhases<T>(fn: () => Promise<T>): Promise<{ value: T; phases: Phases }> {
  const phases: Phases = {};
  const value = await clock.run(phases, fn);
  return { value, phases: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, Math.round(v)])) };
}

/** Adds fn's duration to a phase of the current clock (if there is one). */
export async function timed<T>(phase: string, fn: () => Promise<T>): Promise<T> {
  const phases = clock.getStore();
  if (!phases) return fn();
  const started = performance.now();
  try {
    return await fn();
  } finally {
    phases[phase] = (phases[phase] ?? 0) + performance.now() - started;
  }
}
