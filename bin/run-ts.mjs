#!/usr/bin/env node
// Runs a TypeScript file on Node 20 (which cannot strip types itself) through tsx's loader, with
// the tsconfig.json nearest the file, as an editor reads it: setup/tsconfig.json resolves the
// package's own name ('multiarch-harness', 'multiarch-harness/prepare') to its sources, so the
// set-up runs before anything is built; the root tsconfig.json has no such paths.
import { register } from 'tsx/esm/api';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [file, ...rest] = process.argv.slice(2);
if (!file) {
  console.error('usage: run-ts.mjs FILE.ts [args...]');
  process.exit(2);
}
const path = resolve(file);
/** The tsconfig.json of the file's folder or the nearest one above it; none: tsx's default (the working directory's). */
function nearestTsconfig(from) {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'tsconfig.json'))) return join(dir, 'tsconfig.json');
    if (dirname(dir) === dir) return undefined;
  }
}
process.argv = [process.argv[0], path, ...rest];
const tsconfig = nearestTsconfig(path);
register(tsconfig ? { tsconfig } : {});
await import(pathToFileURL(path).href);
