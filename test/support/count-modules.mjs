// Loaded with `node --import` (test/unit/startup.test.ts): appends the URL of every module the
// process resolves to the file MULTIARCH_MODULES_FILE names, one a line. Registered after tsx, its
// resolve hook runs first and sees what tsx resolves to. The hooks run in a thread of their own,
// where this same file is loaded again: only the main thread registers.
import { appendFileSync } from 'node:fs';
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

if (isMainThread) register(import.meta.url);

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (process.env.MULTIARCH_MODULES_FILE) appendFileSync(process.env.MULTIARCH_MODULES_FILE, `${resolved.url}\n`);
  return resolved;
}
