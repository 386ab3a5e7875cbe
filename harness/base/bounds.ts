/**
 * The bounded waits a user may set, each from one environment variable, read here and nowhere
 * else: MULTIARCH_HARNESS_<WHAT>_TIMEOUT_MS, a whole number of milliseconds. Unset (or empty), the
 * bound is its default. Tests make a bound short to see the sentence it ends with; a slow machine
 * may make one longer. Anything else is a usage error, said before any work starts (cli/main.ts
 * asks for every bound first).
 */
import { UsageError } from './errors.ts';

export const BOUNDS = {
  /** The session's own registry (`registry:2`) answering GET /v2/ with 200 once its container started. */
  registryReady: { variable: 'MULTIARCH_HARNESS_REGISTRY_READY_TIMEOUT_MS', defaultMs: 60_000 },
  /** A docker command that states no bound of its own (a scenario step's commands among them). */
  dockerCommand: { variable: 'MULTIARCH_HARNESS_DOCKER_TIMEOUT_MS', defaultMs: 15 * 60_000 },
  /** Writing one report file: longer is a stuck file system, not a slow disk. */
  reportWrite: { variable: 'MULTIARCH_HARNESS_REPORT_WRITE_TIMEOUT_MS', defaultMs: 30_000 },
  /**
   * A registry's connection staying silent, before its answer or in the middle of it; and the time
   * in which an answer's body must bring 64 KiB, and twice which its headers must be whole (registry/http.ts).
   */
  registryStall: { variable: 'MULTIARCH_HARNESS_REGISTRY_STALL_TIMEOUT_MS', defaultMs: 60_000 },
} as const;

export type BoundName = keyof typeof BOUNDS;

/** The longest delay a Node timer takes (2^31 - 1 ms, 24.8 days); a longer one would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The bound in milliseconds: the variable's value, else the default. */
export function boundMs(name: BoundName, env: NodeJS.ProcessEnv = process.env): number {
  const { variable, defaultMs } = BOUNDS[name];
  const raw = env[variable]?.trim();
  if (raw === undefined || raw === '') return defaultMs;
  const ms = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(ms > 0 && ms <= MAX_TIMER_MS)) {
    throw new UsageError(
      `${variable} is "${raw}", not a whole number of milliseconds from 1 to ${MAX_TIMER_MS}: unset it for the default, ${formatBound(defaultMs)}.`,
    );
  }
  return ms;
}

/** Reads every bound once: a malformed one is a usage error before anything runs. */
export function checkBounds(env: NodeJS.ProcessEnv = process.env): void {
  for (const name of Object.keys(BOUNDS) as BoundName[]) boundMs(name, env);
}

/** "0.5 s", "30 s", "15 min". */
export function formatBound(ms: number): string {
  if (ms >= 120_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${ms / 1000} s`;
}
