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
