#!/usr/bin/env node
// The CLI entry point: runs the compiled harness (dist/). verify, doctor and report start from
// dist/cli.cjs, the same code as one file with a kept code cache (setup/bundle-cli.mjs,
// harness/kept-bundle.ts); run and demo from the ES modules, because a scenario imports the harness
// and must get the same one. TypeScript scenarios are compiled by the harness when it loads one.
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
let main;
let bundle;
let loaded = 'modules';
if (ONE_FILE.has(argv[0] ?? '') && process.env.MULTIARCH_BUNDLE_CACHE !== 'off') {
  try {
    const { loadBuiltBundle } = await import(new URL('../dist/harness/kept-bundle.js', import.meta.url).href);
    bundle = await loadBuiltBundle(fileURLToPath(new URL('../dist/cli.cjs', import.meta.url)), argv[0]);
  } catch {
    bundle = undefined; // the ES modules, as without the bundle
  }
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
  writeFileSync(process.env.MULTIARCH_RUSAGE_FILE, JSON.stringify({ userMs: u.userCPUTime / 1000, systemMs: u.systemCPUTime / 1000, maxRssKiB: u.maxRSS, loaded }));
}
