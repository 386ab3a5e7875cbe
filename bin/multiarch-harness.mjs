#!/usr/bin/env node
// The CLI entry point: runs the compiled harness, dist/'s ES modules (one module graph: a scenario's
// `import 'multiarch-harness'` is this same harness). Start-up relies on lazy imports: `--help`,
// `--version` and `<command> --help` load only the command line's small modules, and each command
// imports what it uses when it runs. Node's compile cache is used where Node has one (22.1 and later).
import module from 'node:module';
import { existsSync } from 'node:fs';

const entry = new URL('../dist/harness/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  // Only a checkout of the repository that was never built gets here: the package ships dist/.
  console.error('multiarch-harness: the compiled harness (dist/) is missing: run `npm run build` in this checkout.');
  process.exit(2);
}
// Absent on Node 20: there, nothing happens.
const compileCache = module.enableCompileCache?.();
const loaded = compileCache?.directory ? 'modules, compile cache' : 'modules';
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
// For bench/: this process's own CPU time and peak memory (not its children's, the docker CLI's), and how its code was loaded.
if (process.env.MULTIARCH_RUSAGE_FILE) {
  const { writeFileSync } = await import('node:fs');
  const u = process.resourceUsage();
  writeFileSync(
    process.env.MULTIARCH_RUSAGE_FILE,
    JSON.stringify({ userMs: u.userCPUTime / 1000, systemMs: u.systemCPUTime / 1000, maxRssKiB: u.maxRSS, loaded }),
  );
}
