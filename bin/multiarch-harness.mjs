#!/usr/bin/env node
// The CLI entry point: runs the compiled harness (dist/). TypeScript scenarios are loaded through
// tsx's loader, registered by the harness when it loads one (harness/scenario/define.ts).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/harness/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  // Only a checkout of the repository that was never built gets here: the package ships dist/.
  console.error('multiarch-harness: the compiled harness (dist/) is missing: run `npm run build` in this checkout.');
  process.exit(2);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
// For bench/: this process's own CPU time and peak memory (not its children's, the docker CLI's).
if (process.env.MULTIARCH_RUSAGE_FILE) {
  const { writeFileSync } = await import('node:fs');
  const u = process.resourceUsage();
  writeFileSync(process.env.MULTIARCH_RUSAGE_FILE, JSON.stringify({ userMs: u.userCPUTime / 1000, systemMs: u.systemCPUTime / 1000, maxRssKiB: u.maxRSS }));
}
