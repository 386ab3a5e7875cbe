/**
 * The command line: dispatches to one module per command (commands/), and turns what goes wrong
 * into one sentence. Exit codes: 0 every platform passed, 1 a check failed, 2 usage or environment
 * error (a HarnessError). Signals clean up every session in progress.
 */
import { HarnessError, UsageError } from '../errors.ts';
import { activeSessions } from '../scenario/run-scenario.ts';
import { USAGE } from './args.ts';
import { stopping, stopProgress } from './progress.ts';

export async function main(argv: string[]): Promise<number> {
  installSignalHandlers();
  try {
    const [command, ...rest] = argv;
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
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`"${command}" is not a command.\n${USAGE}`);
    }
  } catch (err) {
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
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
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
