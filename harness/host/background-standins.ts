/**
 * Stand-ins the set-up finishes in the background. On a bare machine the moby/buildkit stand-in is
 * six Go compiles (ten minutes and more on 2 cores), and only docker-container builders use it: the
 * set-up (setup/standins/main.ts) says ready without it and builds it in a process of its own,
 * recorded in $STATE_DIR/standins/background.json. Whatever is about to use such an image calls
 * awaitStandIn first: it returns at once when nothing is pending (any machine with internet, or one
 * whose set-up is done), waits while the recorded process runs, and says in one sentence when that
 * process failed or was stopped. The image is pushed to the mirror only whole, with every platform
 * its upstream publishes, so nothing ever sees part of it.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { EnvironmentError } from '../errors.ts';
import { readStateFile, stateDir, writeStateFile } from '../state-dir.ts';

/** The process building stand-ins in the background, identified beyond its pid (pids are reused). */
export interface BackgroundBuild {
  pid: number;
  /** /proc/PID/stat's start time (clock ticks since boot) and the boot it was read in. */
  startTicks: string;
  bootId: string;
  /** Image references, as the recipes name them ("moby/buildkit:buildx-stable-1"). */
  refs: string[];
  log: string;
  started: string;
}

/** What a background build that failed left for those waiting on it. */
export interface BackgroundFailure {
  refs: string[];
  message: string;
  log: string;
}

export const backgroundFile = (dir = stateDir()) => join(dir, 'standins', 'background.json');
export const backgroundFailureFile = (dir = stateDir()) => join(dir, 'standins', 'background-failed.json');

async function bootId(): Promise<string> {
  return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '')).trim();
}

/** Field 22 of /proc/PID/stat (after the command name, which may hold spaces), or undefined when there is no such process. */
async function processStartTicks(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

/** The record of a background build of process pid (written by the set-up right after it started it). */
export async function describeBackgroundBuild(pid: number, refs: string[], log: string): Promise<BackgroundBuild> {
  return { pid, startTicks: (await processStartTicks(pid)) ?? '', bootId: await bootId(), refs, log, started: new Date().toISOString() };
}

/** Whether the recorded process is the one still running (not a later process that got its pid, nor one of an earlier boot). */
export async function isRunning(b: BackgroundBuild): Promise<boolean> {
  if (b.bootId !== (await bootId())) return false;
  const ticks = await processStartTicks(b.pid);
  return ticks !== undefined && ticks === b.startTicks;
}

/** The record as it is, whether its process still runs or not. */
export function readBackgroundBuild(dir = stateDir()): Promise<BackgroundBuild | undefined> {
  return readStateFile<BackgroundBuild>(backgroundFile(dir));
}

/** The background build in progress, if any (a record left by a process that is gone is not one). */
export async function runningBackgroundBuild(dir = stateDir()): Promise<BackgroundBuild | undefined> {
  const b = await readBackgroundBuild(dir);
  return b && (await isRunning(b)) ? b : undefined;
}

export async function recordBackgroundBuild(b: BackgroundBuild, dir = stateDir()): Promise<void> {
  await writeStateFile(backgroundFile(dir), JSON.stringify(b, null, 2));
}

/** Called by the background process when it ends: its record goes, and a failure is kept for those waiting. */
export async function endBackgroundBuild(pid: number, failure: BackgroundFailure | undefined, dir = stateDir()): Promise<void> {
  if (failure) await writeStateFile(backgroundFailureFile(dir), JSON.stringify(failure, null, 2));
  const b = await readBackgroundBuild(dir);
  if (b?.pid === pid) await rm(backgroundFile(dir), { force: true });
}

/** A new set-up decides again: an earlier background failure no longer stands. */
export async function forgetBackgroundFailure(dir = stateDir()): Promise<void> {
  await rm(backgroundFailureFile(dir), { force: true });
}

/** What the log's last line says the build does now ("compiling buildkitd for linux/s390x"), without its prefixes and clock. */
async function lastLogLine(log: string, ref: string): Promise<string> {
  const text = await readFile(log, 'utf8').catch(() => '');
  const line = text.trim().split('\n').at(-1) ?? '';
  return line
    .replace(/^\[standins\]\s*/, '')
    .replace(`${ref}: `, '')
    .replace(/\s*\(\d+ s so far\)$/, '');
}

export interface AwaitOptions {
  /** A line while waiting, then one every `everyMs` (default 30 s). */
  onWait?: (line: string) => void;
  everyMs?: number;
  pollMs?: number;
  dir?: string;
}

/**
 * Returns when `ref` is not being built in the background (any more). Throws an EnvironmentError
 * (one sentence) when its background build failed, or stopped before it finished.
 */
export async function awaitStandIn(ref: string, options: AwaitOptions = {}): Promise<void> {
  const dir = options.dir ?? stateDir();
  const started = Date.now();
  let lastLine = -Infinity;
  for (;;) {
    const b = await readBackgroundBuild(dir);
    if (!b || !b.refs.includes(ref)) break;
    if (!(await isRunning(b))) {
      // It may have just ended: its own last act is removing this record.
      const again = await readBackgroundBuild(dir);
      if (!again || again.pid !== b.pid || again.startTicks !== b.startTicks) continue;
      throw new EnvironmentError(
        `The set-up's background build of ${ref} stopped before it finished (log: ${b.log}); run \`bash setup/prepare-host.sh\` to build it again.`,
      );
    }
    if (options.onWait && Date.now() - lastLine >= (options.everyMs ?? 30_000)) {
      lastLine = Date.now();
      const s = Math.round((Date.now() - started) / 1000);
      const now = (await lastLogLine(b.log, ref)) || 'starting';
      options.onWait(`waiting for ${ref}, which the set-up builds in the background (pid ${b.pid}, log ${b.log}): ${now} (waited ${s} s)`);
    }
    await new Promise((r) => setTimeout(r, options.pollMs ?? 2000));
  }
  const failed = await readStateFile<BackgroundFailure>(backgroundFailureFile(dir));
  if (failed?.refs.includes(ref)) {
    throw new EnvironmentError(
      `The set-up could not build ${ref} in the background: ${failed.message} (log: ${failed.log}); run \`bash setup/prepare-host.sh\` to try again.`,
    );
  }
}

/** doctor's line on the set-up's background build: running, failed or stopped; undefined when there is none. */
export async function describeBackground(dir = stateDir()): Promise<string | undefined> {
  const b = await readBackgroundBuild(dir);
  if (b && (await isRunning(b))) {
    const now = (await lastLogLine(b.log, b.refs[0] ?? '')) || 'starting';
    return `stand-ins: ${b.refs.join(', ')} being built in the background since ${b.started} (pid ${b.pid}, log ${b.log}): ${now}; a docker-container builder waits for it`;
  }
  if (b)
    return `stand-ins: the background build of ${b.refs.join(', ')} stopped before it finished (log ${b.log}); \`bash setup/prepare-host.sh\` builds it again`;
  const failed = await readStateFile<BackgroundFailure>(backgroundFailureFile(dir));
  if (failed)
    return `stand-ins: the background build of ${failed.refs.join(', ')} failed: ${failed.message} (log ${failed.log}); \`bash setup/prepare-host.sh\` tries again`;
  return undefined;
}

/** Whether `docker ...args` creates a builder that runs BuildKit's image (docker-container, buildx create's default driver). */
export function createsContainerBuilder(args: readonly string[]): boolean {
  if (args[0] !== 'buildx' || args[1] !== 'create') return false;
  const at = args.findIndex((a) => a === '--driver' || a.startsWith('--driver='));
  if (at < 0) return true;
  const driver = args[at]!.includes('=') ? args[at]!.split('=')[1] : args[at + 1];
  return driver === 'docker-container';
}
