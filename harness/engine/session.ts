/**
 * A session: one harness invocation's identity and the resources it created on the engine.
 * Everything a session creates carries the label io.multiarch-harness.run=<id> (and the pid that
 * owns it), so cleanup finds it on success, failure or a signal, and the next session sweeps what a
 * killed one left behind. (The label keeps its historical name: reports and sweeps read it.)
 */
import { randomBytes } from 'node:crypto';
import { docker } from './docker.ts';

function debug(message: string): void {
  if (process.env.MULTIARCH_DEBUG) console.error(`[debug] ${message}`);
}

export const RUN_LABEL = 'io.multiarch-harness.run';
export const PID_LABEL = 'io.multiarch-harness.pid';

/** `--label k=v` arguments for docker commands, from `k=v` labels. */
export function labelArgs(labels: readonly string[]): string[] {
  return labels.flatMap((l) => ['--label', l]);
}

export class Session {
  readonly id = `mah-${randomBytes(4).toString('hex')}`;
  private readonly cleanups: Array<{ what: string; fn: () => Promise<unknown> }> = [];
  private readonly images = new Set<string>();
  private cleaned = false;

  get labels(): string[] {
    return [`${RUN_LABEL}=${this.id}`, `${PID_LABEL}=${process.pid}`];
  }

  get labelRecord(): Record<string, string> {
    return Object.fromEntries(this.labels.map((l) => l.split('=') as [string, string]));
  }

  /** `--label k=v` arguments for docker commands. */
  labelArgs(): string[] {
    return labelArgs(this.labels);
  }

  /** Registers a cleanup step; steps run in reverse order. */
  defer(what: string, fn: () => Promise<unknown>): void {
    this.cleanups.push({ what, fn });
  }

  /** An image this run pulled into the engine's store, removed at the end. */
  trackImage(ref: string): void {
    this.images.add(ref);
  }

  async cleanup(): Promise<string[]> {
    if (this.cleaned) return [];
    this.cleaned = true;
    const problems: string[] = [];
    for (const { what, fn } of this.cleanups.reverse()) {
      try {
        debug(`cleanup: ${what}`);
        await fn();
      } catch (err) {
        problems.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    debug(`cleanup: removing what carries ${RUN_LABEL}=${this.id}`);
    await removeLabelled(`${RUN_LABEL}=${this.id}`);
    if (this.images.size > 0) await docker(['image', 'rm', '-f', ...this.images], { check: false });
    return problems;
  }
}

/** Removes the containers, networks and volumes that carry a label filter. */
export async function removeLabelled(label: string): Promise<void> {
  const ids = (await docker(['ps', '-aq', '--filter', `label=${label}`], { check: false })).stdout.split('\n').filter(Boolean);
  debug(`containers with ${label}: ${ids.join(' ') || 'none'}`);
  if (ids.length) await docker(['rm', '-f', '-v', ...ids], { check: false });
  const nets = (await docker(['network', 'ls', '-q', '--filter', `label=${label}`], { check: false })).stdout.split('\n').filter(Boolean);
  if (nets.length) await docker(['network', 'rm', ...nets], { check: false });
  const vols = (await docker(['volume', 'ls', '-q', '--filter', `label=${label}`], { check: false })).stdout.split('\n').filter(Boolean);
  if (vols.length) await docker(['volume', 'rm', '-f', ...vols], { check: false });
}

/** Removes what earlier runs left behind when their process is gone (killed with SIGKILL, a crash). */
export async function sweepStaleSessions(): Promise<number> {
  const r = await docker(['ps', '-a', '--filter', `label=${RUN_LABEL}`, '--format', `{{.Label "${RUN_LABEL}"}} {{.Label "${PID_LABEL}"}}`], { check: false });
  const stale = new Set<string>();
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    const [run, pid] = line.split(' ');
    if (run && !pidAlive(Number(pid))) stale.add(run);
  }
  for (const run of stale) await removeLabelled(`${RUN_LABEL}=${run}`);
  return stale.size;
}

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
