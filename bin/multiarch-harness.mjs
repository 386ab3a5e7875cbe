#!/usr/bin/env node
// The CLI entry point: runs the compiled harness, dist/'s ES modules (one module graph: a scenario's
// `import 'multiarch-harness'` is this same harness). Start-up relies on lazy imports: `--help`,
// `--version` and `<command> --help` load only the command line's small modules, and each command
// imports what it uses when it runs. Node's compile cache is used where Node has one (22.1 and later),
// and only for a command that runs.
import module from 'node:module';
import { existsSync } from 'node:fs';

const entry = new URL('../dist/harness/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  // Only a checkout of the repository that was never built gets here: the package ships dist/.
  console.error('multiarch-harness: the compiled harness (dist/) is missing: run `npm run build` in this checkout.');
  process.exit(2);
}
const { main } = await import(entry.href);
let loaded = 'modules';
process.exitCode = await main(process.argv.slice(2), () => {
  // Only once a command runs, before its modules load: --help, --version and the usage write nothing
  // (the cache is Node's own folder, NODE_COMPILE_CACHE or the system's temporary one, never the
  // harness's state folder). Absent on Node 20: there, nothing happens.
  if (module.enableCompileCache?.()?.directory) loaded = 'modules, compile cache';
});
// For bench/: this process's own CPU time and peak memory (not its children's, the docker CLI's), and how its code was loaded.
if (process.env.MULTIARCH_RUSAGE_FILE) {
  const { writeFileSync } = await import('node:fs');
  const u = process.resourceUsage();
  writeFileSync(
    process.env.MULTIARCH_RUSAGE_FILE,
    JSON.stringify({ userMs: u.userCPUTime / 1000, systemMs: u.systemCPUTime / 1000, maxRssKiB: u.maxRSS, loaded }),
  );
}
