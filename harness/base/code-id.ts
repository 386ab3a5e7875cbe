/**
 * The harness's code as it is now, for caches that keep what it concluded or produced (kept
 * verdicts, compiled scenarios): the compiled harness carries its own id (code-id.txt, the hash of
 * every compiled file, written by `npm run build`); run from its TypeScript sources (tests), every
 * source file's name, size and modification time. A changed harness finds nothing it kept before.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let id: Promise<string> | undefined;

export function harnessCodeId(): Promise<string> {
  id ??= (async () => {
    const root = dirname(fileURLToPath(import.meta.url));
    const built = await readFile(join(root, 'code-id.txt'), 'utf8').catch(() => undefined);
    if (built?.trim()) return built.trim();
    const names = (await readdir(root, { recursive: true })).filter((n) => /\.(ts|js)$/.test(n)).sort();
    const stats = await Promise.all(
      names.map((n) =>
        stat(join(root, n)).then(
          (s) => `${n}:${s.size}:${s.mtimeMs}`,
          () => `${n}:gone`,
        ),
      ),
    );
    return createHash('sha256').update(stats.join('\n')).digest('hex');
  })();
  return id;
}
