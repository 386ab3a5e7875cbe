/**
 * What each part of the set-up is doing right now, in a few words, for its heartbeat: a long step
 * (a Go compile of BuildKit for one platform, a multi-platform image build) prints nothing for
 * minutes, so the stand-in builder prints this, and the time so far, every 30 seconds. Stand-ins
 * are built side by side, so each keeps its own status: setStatus changes the one of the heartbeat
 * it runs under.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const current = new AsyncLocalStorage<{ now: string }>();

/** Says what the heartbeat this code runs under is doing now (nothing outside a heartbeat). */
export function setStatus(now: string): void {
  const status = current.getStore();
  if (status) status.now = now;
}

/** Prints `line(now, seconds)` every `everyMs` while fn runs; `now` is what fn last set with setStatus. */
export async function withHeartbeat<T>(line: (now: string, seconds: number) => string, fn: () => Promise<T>, everyMs = 30_000): Promise<T> {
  const started = Date.now();
  const status = { now: '' };
  const timer = setInterval(() => console.log(line(status.now, Math.round((Date.now() - started) / 1000))), everyMs);
  try {
    return await current.run(status, fn);
  } finally {
    clearInterval(timer);
  }
}
