// After `tsc`: dist/harness/code-id.txt, the SHA-256 of every compiled .js file of the harness (by
// path and content). binary-check-cache.ts keys kept verdicts by it: a rebuilt harness whose code
// changed judges again; one whose code did not keeps its verdicts. Run from `npm run build`.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../dist/harness/', import.meta.url));
const files = readdirSync(root, { recursive: true })
  .filter((n) => n.endsWith('.js'))
  .sort();
const hash = createHash('sha256');
for (const f of files)
  hash
    .update(`${f}\0`)
    .update(readFileSync(join(root, f)))
    .update('\0');
writeFileSync(join(root, 'code-id.txt'), `${hash.digest('hex')}\n`);
