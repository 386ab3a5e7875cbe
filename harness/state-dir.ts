/**
 * The harness's state folder: observation caches (host/observe.ts) and session records
 * (engine/session.ts). MULTIARCH_STATE_DIR, else /var/lib/multiarch-harness as root, else
 * ~/.cache/multiarch-harness.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export function stateDir(): string {
  if (process.env.MULTIARCH_STATE_DIR) return process.env.MULTIARCH_STATE_DIR;
  return process.getuid?.() === 0 ? '/var/lib/multiarch-harness' : join(homedir(), '.cache', 'multiarch-harness');
}
