/**
 * Whether Node would load a scenario file as an ES module: such a TypeScript scenario is compiled
 * by the harness (compiled-scenarios.ts); any other goes through tsx.
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
