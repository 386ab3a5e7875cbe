/**
 * Where a run's time went, by phase (probe, registry, build, pull, static checks, run, cleanup):
 * each phase's busy time, summed over platforms that overlap, so the sum can exceed the wall time.
 *
 * A run's clock travels with its work: the run's Session carries it (`session.phases`), and deep
 * functions, which are handed the session anyway, time their phase on it
 * (`timed(ctx.phases, 'pull', ...)`). Runs at once in one process (a vitest file with concurrent
 * describeImage suites, say) each count their own phases only. Not AsyncLocalStorage: on Node 20
 * one AsyncLocalStorage in use makes every promise of the process pay for async hooks (29 ms of a
 * verify's 182 ms of CPU, measured).
 */
export type Phases = Record<string, number>;

/** One run's busy time per phase. */
export class PhaseClock {
  private readonly busy: Phases = {};

  /** Runs fn and adds its duration to the phase; a failure is passed on, its time counted too. */
  async time<T>(phase: string, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await fn();
    } finally {
      this.busy[phase] = (this.busy[phase] ?? 0) + (performance.now() - started);
    }
  }

  /** Milliseconds per phase so far, rounded. */
  totals(): Phases {
    return Object.fromEntries(Object.entries(this.busy).map(([k, v]) => [k, Math.round(v)]));
  }
}

/** Adds fn's duration to a phase of the clock given (none: fn just runs). */
export function timed<T>(clock: PhaseClock | undefined, phase: string, fn: () => Promise<T>): Promise<T> {
  return clock ? clock.time(phase, fn) : fn();
}

/** Runs fn with a fresh clock; returns what it returned and the time per phase, in ms. */
export async function measurePhases<T>(fn: (clock: PhaseClock) => Promise<T>): Promise<{ value: T; phases: Phases }> {
  const clock = new PhaseClock();
  const value = await fn(clock);
  return { value, phases: clock.totals() };
}
