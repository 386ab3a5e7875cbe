/**
 * The entry of the one-file CLI, dist/cli.cjs (setup/bundle-cli.mjs): the command line, and what
 * bin/multiarch-harness.mjs calls before `run` there (scenario/module-import.ts).
 */
import { runsOnOneFileCli } from './cli/commands/run.ts';
import { provideHarness, withdrawHarness } from './scenario/module-import.ts';

export { main } from './cli/main.ts';

/**
 * Prepares `run args` on this bundle: its scenario will import with `importOf` (bin/'s own
 * import()) and get this bundle's harness API. False, with nothing left provided, when the
 * scenario must run on the ES modules instead (run.ts, runsOnOneFileCli). The API is loaded only
 * here: verify, doctor and report do not pay for it.
 */
export async function prepareOneFileRun(args: string[], importOf: (url: string) => Promise<unknown>): Promise<boolean> {
  try {
    provideHarness(await import('./index.ts'), importOf);
    if (await runsOnOneFileCli(args)) return true;
  } catch {
    // Whatever it was, the ES modules run the command as they always can.
  }
  withdrawHarness();
  return false;
}
