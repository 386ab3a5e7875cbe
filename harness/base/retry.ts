/**
 * Retries an operation that fails transiently: a registry's 5xx answer, a reset connection, a
 * timeout. Distribution 2.8 answers 500 to a HEAD of a tag still being written. What is transient
 * is decided where the error is made (HarnessError.transient), not here.
 */
import { HarnessError } from './errors.ts';

export function isTransient(err: unknown): boolean {
  return err instanceof HarnessError && err.transient;
}

export interface RetryOptions {
  attempts?: number;
  /** First delay; doubled each time. */
  delayMs?: number;
  what?: string;
  retryIf?: (err: unknown) => boolean;
  onRetry?: (err: unknown, attempt: number) => void;
  /**
   * The pause before the next attempt, given the failure and the doubling delay: a caller whose
   * failure names its own pause (a registry's Retry-After) returns that. It may throw instead, to
   * stop trying (a pause longer than the caller waits for).
   */
  pauseMs?: (err: unknown, delayMs: number) => number;
}

export async function withRetry<T>(op: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 3;
  const retryIf = options.retryIf ?? isTransient;
  let delay = options.delayMs ?? 500;
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (attempt >= attempts || !retryIf(err)) throw err;
      const pause = options.pauseMs ? options.pauseMs(err, delay) : delay;
      options.onRetry?.(err, attempt);
      // The global timer: a test's fake clock drives it.
      await new Promise((r) => setTimeout(r, pause));
      delay *= 2;
    }
  }
}
