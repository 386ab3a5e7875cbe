#!/usr/bin/env node
// The CLI entry point: runs the compiled harness (dist/). verify, doctor, report, and `run` of a
// scenario the harness compiles itself (TypeScript that Node loads as an ES module) start from
// dist/cli.cjs, the same code as one file with a kept code cache (setup/bundle-cli.mjs,
// harness/kept-bundle.ts); such a scenario gets that bundle's harness API, the one that runs it.
// A scenario that goes through tsx, is JavaScript, or imports a package or a JavaScript file (each
// of which would import the harness from dist/), and demo, run on the ES modules: there every
// `import 'multiarch-harness'` gets the same harness.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/harness/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  // Only a checkout of the repository that was never built gets here: the package ships dist/.
  console.error('multiarch-harness: the compiled harness (dist/) is missing: run `npm run build` in this checkout.');
  process.exit(2);
}
const argv = process.argv.slice(2);
const ONE_FILE = new Set(['verify', 'doctor', 'report']);

// `run` may start from the bundle only with a TypeScript argument; the bundle says for sure (prepareOneFileRun).
const mayRunOnOneFile = (args) => process.env.MULTIARCH_SCENARIO_CACHE !== 'off' && args.some((a) => /\.m?ts$/i.test(a));

let main;
let bundle;
let loaded = 'modules';
const run = argv[0] === 'run';
if ((ONE_FILE.has(argv[0] ?? '') || (run && mayRunOnOneFile(argv.slice(1)))) && process.env.MULTIARCH_BUNDLE_CACHE !== 'off') {
  try {
    const { loadBuiltBundle } = await import(new URL('../dist/harness/kept-bundle.js', import.meta.url).href);
    bundle = await loadBuiltBundle(fileURLToPath(new URL('../dist/cli.cjs', import.meta.url)), argv[0]);
  } catch {
    bundle = undefined; // the ES modules, as without the bundle
  }
  // A scenario run from the bundle is imported by this module's import(), and gets the bundle's harness API.
  if (bundle && run && !(await bundle.exports.prepareOneFileRun(argv.slice(1), (url) => import(url)))) bundle = undefined;
  if (bundle) {
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
  writeFileSync(
    process.env.MULTIARCH_RUSAGE_FILE,
    JSON.stringify({ userMs: u.userCPUTime / 1000, systemMs: u.systemCPUTime / 1000, maxRssKiB: u.maxRSS, loaded }),
  );
}
