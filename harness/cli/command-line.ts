/**
 * What a program that runs scenarios does around its work, the CLI's commands and a user's own
 * program alike: a malformed bound (MULTIARCH_HARNESS_*_TIMEOUT_MS) is said before any work, a
 * signal cleans up every session in progress, and what goes wrong is one sentence and exit code 2.
 */
import { checkBounds, HarnessError, activeSessions, stopRunningCommands } from '../base/index.ts';
import { endProgressGroup, stopping, stopProgress } from './progress.ts';

/**
 * Runs `body` as the program `name`: its exit code, or 2 with one sentence on stderr
 * ("name: what went wrong") when it throws. SIGINT and SIGTERM clean up every session in progress
 * and exit with 130 and 143.
 */
export async function runAsCommand(name: string, body: () => Promise<number>): Promise<number> {
  installSignalHandlers(name);
  try {
    checkBounds();
    return await body();
  } catch (err) {
    return failed(name, err);
  }
}

/** A program's end by an error: the progress closed, one sentence on stderr (none once a signal's cleanup began), exit code 2. */
export function failed(name: string, err: unknown): number {
  endProgressGroup();
  if (!stopping()) console.error(`${name}: ${oneSentence(err)}`);
  return 2;
}

function oneSentence(err: unknown): string {
  if (err instanceof HarnessError) return err.message;
  const message = err instanceof Error ? err.message : String(err);
  return `internal error: ${message.split('\n')[0]} (set MULTIARCH_DEBUG=1 for details)${process.env.MULTIARCH_DEBUG ? `\n${(err as Error).stack}` : ''}`;
}

let handlersInstalled = false;
export function installSignalHandlers(name: string): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  // process.on, not once: tsx's loader also listens and exits at once when it sees no other
  // listener, which would cut the cleanup short. A second signal exits without waiting.
  let cleaning = false;
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.on(signal, () => {
      if (cleaning) process.exit(code);
      cleaning = true;
      stopProgress();
      console.error(`${name}: ${signal}: cleaning up ${activeSessions.size} session(s)`);
      // Its docker commands first: one still building would create its image after the cleanup.
      void stopRunningCommands()
        .then((stopped) => {
          if (process.env.MULTIARCH_DEBUG) for (const c of stopped) console.error(`[debug] stopped before the cleanup: ${c}`);
          return Promise.allSettled([...activeSessions].map((r) => r.cleanup()));
        })
        .then((results) => {
          for (const r of results) {
            const problems = r.status === 'fulfilled' ? r.value : [String(r.reason)];
            for (const p of problems) console.error(`${name}: cleanup: ${p}`);
          }
          console.error(`${name}: ${signal}: cleaned up; exiting with ${code}`);
          process.exit(code);
        });
    });
  }
}
