/**
 * The command line: dispatches to one module per command (*-command.ts), and turns what goes wrong
 * into one sentence. Exit codes: 0 every platform passed, 1 a check failed, 2 usage or environment
 * error (a HarnessError). Signals clean up every session in progress (command-line.ts). `--version`,
 * `--help` and `<command> --help` are answered here, before any command module (or the engine) is touched.
 */
import { checkBounds, UsageError } from '../base/index.ts';
import { failed, installSignalHandlers } from './command-line.ts';
import { isCommand, USAGE, usageOf, wantsHelp } from './usage.ts';
import { packageVersion } from './usage.ts';

const NAME = 'multiarch-harness';

/**
 * `beforeWork` is called once a command is going to run, after every answer that only prints
 * (--help, --version, the usage): bin/ turns on Node's compile cache there, so that those answers
 * write nothing anywhere.
 */
export async function main(argv: string[], beforeWork: () => void = () => undefined): Promise<number> {
  installSignalHandlers(NAME);
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
    beforeWork();
    switch (command) {
      case 'run':
        return await (await import('./run-command.ts')).runCommand(rest);
      case 'verify':
        return await (await import('./verify-command.ts')).verifyCommand(rest);
      case 'setup':
        return await (await import('./setup-command.ts')).setupCommand(rest);
      case 'doctor':
        return await (await import('./doctor-command.ts')).doctorCommand(rest);
      case 'report':
        return await (await import('./report-command.ts')).reportCommand(rest);
    }
  } catch (err) {
    return failed(NAME, err);
  }
}
