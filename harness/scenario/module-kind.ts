/**
 * Whether Node would load a scenario file as an ES module. Its own module, with nothing but node:
 * imports: bin/multiarch-harness.mjs asks it before choosing how to load the harness for `run`
 * (a scenario compiled by compiled-scenarios.ts can run on the one-file CLI, one that goes through
 * tsx cannot), and loading it must cost next to nothing.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Whether Node would load this file as an ES module: .mts, or .ts under a package.json with "type": "module". */
export async function loadsAsEsModule(path: string): Promise<boolean> {
  if (/\.mts$/i.test(path)) return true;
  if (!/\.ts$/i.test(path)) return false;
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const text = await readFile(join(dir, 'package.json'), 'utf8').catch(() => undefined);
    if (text !== undefined) {
      try {
        return (JSON.parse(text) as { type?: string }).type === 'module';
      } catch {
        return false;
      }
    }
    if (dirname(dir) === dir) return false;
  }
}
