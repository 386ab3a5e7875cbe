/**
 * The command line: dispatches to one module per command (commands/), and turns what goes wrong
 * into one sentence. Exit codes: 0 every platform passed, 1 a check failed, 2 usage or environment
 * error (a HarnessError). Signals clean up every session in progress. `--version`, `--help` and
 * `<command> --help` are answered here, before any command module (or the engine) is touched.
 */
import { checkBounds } from '../bounds.ts';
import { HarnessError, UsageError } from '../errors.ts';
import { activeSessions } from '../engine/active-sessions.ts';
import { endProgressGroup, stopping, stopProgress } from './progress.ts';
import { isCommand, USAGE, usageOf, wantsHelp } from './usage.ts';
import { packageVersion } from './version.ts';

export async function main(argv: string[]): Promise<number> {
  installSignalHandlers();
  try {
    const [command, ...rest] = argv;
    if (command === undefined) {
      console.log(USAGE);
      return 2;
    }
    if (command === '--version') {
      console.log(packageVersion());
      return 0;
    }
    if (command === 'help' || command === '--help' || command === '-h') {
      // `help run` is `run --help`.
      const topic = rest[0] === '--help' || rest[0] === '-h' ? undefined : rest[0];
      if (topic !== undefined && !isCommand(topic)) throw new UsageError(`"${topic}" is not a command.\n${USAGE}`);
      console.log(topic === undefined ? USAGE : usageOf(topic));
      return 0;
    }
    if (!isCommand(command)) throw new UsageError(`"${command}" is not a command.\n${USAGE}`);
    if (wantsHelp(rest)) {
      console.log(usageOf(command));
      return 0;
    }
    // The bounded waits a user set (MULTIARCH_HARNESS_*_TIMEOUT_MS): a malformed one is said before any work.
    checkBounds();
    switch (command) {
      case 'run':
        return await (await import('./commands/run.ts')).runCommand(rest);
      case 'verify':
        return await (await import('./commands/verify.ts')).verifyCommand(rest);
      case 'demo':
        return await (await import('../../demo/demo-command.ts')).demoCommand(rest);
      case 'doctor':
        return await (await import('./commands/doctor.ts')).doctorCommand(rest);
      case 'report':
        return await (await import('./commands/report.ts')).reportCommand(rest);
    }
  } catch (err) {
    endProgressGroup();
    if (!stopping()) console.error(`multiarch-harness: ${oneSentence(err)}`);
    return 2;
  }
}

function oneSentence(err: unknown): string {
  if (err instanceof HarnessError) return err.message;
  const message = err instanceof Error ? err.message : String(err);
  return `internal error: ${message.split('\n')[0]} (set MULTIARCH_DEBUG=1 for details)${process.env.MULTIARCH_DEBUG ? `\n${(err as Error).stack}` : ''}`;
}

let handlersInstalled = false;
function installSignalHandlers(): void {
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
      console.error(`multiarch-harness: ${signal}: cleaning up ${activeSessions.size} session(s)`);
      void Promise.allSettled([...activeSessions].map((r) => r.cleanup())).then((results) => {
        for (const r of results) {
          const problems = r.status === 'fulfilled' ? r.value : [String(r.reason)];
          for (const p of problems) console.error(`multiarch-harness: cleanup: ${p}`);
        }
        console.error(`multiarch-harness: ${signal}: cleaned up; exiting with ${code}`);
        process.exit(code);
      });
    });
  }
}
