/**
 * Where a run's time went, by phase (probe, registry, build, pull, static checks, run, cleanup):
 * each phase's busy time, summed over platforms that overlap, so the sum can exceed the wall time.
 *
 * Deep functions time their phase without being handed a clock: `timed` adds to every clock that
 * is running in this process. It is not AsyncLocalStorage on purpose: on Node 20 one
 * AsyncLocalStorage in use makes every promise of the process pay for async hooks (29 ms of a
 * verify's 182 ms of CPU, measured). The price: runs at once in one process (a vitest file with
 * concurrent describeImage suites, say) count each other's phases too (see RunReport.phasesMs).
 */
export type Phases = Record<string, number>;

/** The clocks of the runs going on in this process now. */
const running = new Set<Phases>();

/** Runs fn with a fresh clock; returns what it returned and the time per phase, in ms. */
export async function measurePhases<T>(fn: () => Promise<T>): Promise<{ value: T; phases: Phases }> {
  const phases: Phases = {};
  running.add(phases);
  try {
    const value = await fn();
    return { value, phases: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, Math.round(v)])) };
  } finally {
    running.delete(phases);
  }
}

/** Adds fn's duration to a phase of every running clock (none: fn just runs). */
export async function timed<T>(phase: string, fn: () => Promise<T>): Promise<T> {
  if (running.size === 0) return fn();
  const started = performance.now();
  try {
    return await fn();
  } finally {
    const took = performance.now() - started;
    for (const phases of running) phases[phase] = (phases[phase] ?? 0) + took;
  }
}
