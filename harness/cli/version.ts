/**
 * The package's version, for `--version`, and its root folder (where the demo finds its scenarios):
 * both from the nearest package.json named multiarch-harness above this module, so they hold
 * wherever the module sits (harness/cli/ in this repository, dist/... once compiled,
 * node_modules/multiarch-harness/... once installed), and a package.json of another name on the way
 * (dist/package.json with only "type") is passed over.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnvironmentError } from '../base/index.ts';

const PACKAGE_NAME = 'multiarch-harness';

function readManifest(file: string): { name?: unknown; version?: unknown } | undefined {
  try {
    const data: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return typeof data === 'object' && data !== null ? data : undefined;
  } catch {
    return undefined; // absent, unreadable or not JSON: not ours, look further up
  }
}

/** The version in the nearest package.json named multiarch-harness, from `from` (a module URL or path) upwards. */
export function packageVersion(from: string | URL = import.meta.url): string {
  return findManifest(from).version;
}

function findManifest(from: string | URL): { dir: string; version: string } {
  const start = from instanceof URL || from.startsWith('file:') ? fileURLToPath(from) : from;
  for (let dir = dirname(start); ; dir = dirname(dir)) {
    const manifest = readManifest(join(dir, 'package.json'));
    if (manifest?.name === PACKAGE_NAME && typeof manifest.version === 'string') return { dir, version: manifest.version };
    if (dirname(dir) === dir) throw new EnvironmentError(`No package.json named ${PACKAGE_NAME} was found in any folder above ${start}.`);
  }
}
