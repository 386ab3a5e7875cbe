/**
 * Retries an operation that talks to a registry when it fails transiently: a 5xx answer, a reset
 * connection, a timeout. Distribution 2.8 answers 500 to a HEAD of a tag still being written.
 */
import { DockerError } from './docker.ts';

const TRANSIENT = /\b5\d\d\b|Internal Server Error|invalid checksum digest format|connection reset|EOF|i\/o timeout|TLS handshake timeout|ECONNRESET|temporarily unavailable/i;

export function isTransient(err: unknown): boolean {
  if (err instanceof DockerError) return err.result.timedOut || TRANSIENT.test(err.result.stderr);
  return err instanceof Error && TRANSIENT.test(err.message);
}

export interface RetryOptions {
  attempts?: number;
  /** First delay; doubled each time. */
  delayMs?: number;
  what?: string;
  retryIf?: (err: unknown) => boolean;
  onRetry?: (err: unknown, attempt: number) => void;
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
      options.onRetry?.(err, attempt);
      await new Promise((r) => setTimeout(r, delay));
      delay *= 2;
    }
  }
}
