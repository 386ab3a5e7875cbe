/**
 * What the set-up is doing right now, in a few words, for its heartbeat: a long step (a Go compile
 * of BuildKit for one platform, a multi-platform image build) prints nothing for minutes, so the
 * stand-in builder prints this, and the time so far, every 30 seconds.
 */
export const setupStatus = { now: '' };

/** Prints `line(now, seconds)` every `everyMs` while fn runs. */
export async function withHeartbeat<T>(line: (now: string, seconds: number) => string, fn: () => Promise<T>, everyMs = 30_000): Promise<T> {
  const started = Date.now();
  const timer = setInterval(() => console.log(line(setupStatus.now, Math.round((Date.now() - started) / 1000))), everyMs);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}
