/**
 * The entry of the one-file CLI, dist/cli.cjs (setup/bundle-cli.mjs): the command line, and what
 * bin/multiarch-harness.mjs calls before it when a scenario will run on it (scenario/module-import.ts).
 */
import * as api from './index.ts';
import { provideHarness } from './scenario/module-import.ts';

export { main } from './cli/main.ts';

/** Scenarios loaded from here import with `importOf` (bin/'s own import()) and get this bundle's harness API. */
export function useOneFileHarness(importOf: (url: string) => Promise<unknown>): void {
  provideHarness(api, importOf);
}
