#!/usr/bin/env node
// The CLI entry point: runs the compiled harness (dist/). verify, doctor, report, and `run` of a
// scenario the harness compiles itself (TypeScript that Node loads as an ES module) start from
// dist/cli.cjs, the same code as one file with a kept code cache (setup/bundle-cli.mjs,
// harness/kept-bundle.ts); such a scenario gets that bundle's harness API, the one that runs it.
// A scenario that goes through tsx or is JavaScript, and demo, run on the ES modules: the
// scenario's own `import 'multiarch-harness'` gets the same harness there.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/harness/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  // Only a checkout of the repository that was never built gets here: the package ships dist/.
  console.error('multiarch-harness: the compiled harness (dist/) is missing: run `npm run build` in this checkout.');
  process.exit(2);
}
const argv = process.argv.slice(2);
const ONE_FILE = new Set(['verify', 'doctor', 'report']);

/** Whether `run`'s scenario (its one TypeScript argument) is compiled by the harness, and so may run on the one-file CLI. */
async function compiledRun(args) {
  if (process.env.MULTIARCH_SCENARIO_CACHE === 'off') return false;
  const files = args.filter((a) => !a.startsWith('-') && /\.m?ts$/i.test(a));
  if (files.length !== 1) return false;
  const { loadsAsEsModule } = await import(new URL('../dist/harness/scenario/module-kind.js', import.meta.url).href);
  return loadsAsEsModule(resolve(files[0]));
}

let main;
let bundle;
let loaded = 'modules';
const oneFile = ONE_FILE.has(argv[0] ?? '') || (argv[0] === 'run' && await compiledRun(argv.slice(1)));
if (oneFile && process.env.MULTIARCH_BUNDLE_CACHE !== 'off') {
  try {
    const { loadBuiltBundle } = await import(new URL('../dist/harness/kept-bundle.js', import.meta.url).href);
    bundle = await loadBuiltBundle(fileURLToPath(new URL('../dist/cli.cjs', import.meta.url)), argv[0]);
  } catch {
    bundle = undefined; // the ES modules, as without the bundle
  }
  if (bundle) {
    // Scenarios loaded from the bundle are imported by this module's import(), and get the bundle's harness API.
    bundle.exports.useOneFileHarness((url) => import(url));
    main = bundle.exports.main;
    loaded = bundle.cached ? 'one-file, cached' : 'one-file';
  }
}
main ??= (await import(entry.href)).main;
process.exitCode = await main(argv);
// Kept once the command ran: the functions it compiled are in the cache too.
await bundle?.keepCodeCache();
// For bench/: this process's own CPU time and peak memory (not its children's, the docker CLI's), and how its code was loaded.
if (process.env.MULTIARCH_RUSAGE_FILE) {
  const { writeFileSync } = await import('node:fs');
  const u = process.resourceUsage();
  writeFileSync(process.env.MULTIARCH_RUSAGE_FILE, JSON.stringify({ userMs: u.userCPUTime / 1000, systemMs: u.systemCPUTime / 1000, maxRssKiB: u.maxRSS, loaded }));
}
