#!/usr/bin/env node
// The CLI entry point: registers tsx's loader so the harness and users' TypeScript scenarios load
// on Node 20, then hands over to harness/cli.ts.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../harness/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
