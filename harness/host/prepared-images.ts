/**
 * Images another process is preparing. A host's set-up may say ready before every image it makes
 * is there: a long build (an image compiled from source for six platforms) goes on in a process of
 * its own, recorded in $STATE_DIR/prepared-images/preparing.json with the images it makes, its log,
 * and how to start it again (`retryHint`, the set-up's own words). Whatever is about to use such an
 * image calls awaitPreparedImage first: it returns at once when nothing is pending (the usual case),
 * waits while the recorded process runs, and says in one sentence when that process failed or was
 * stopped. The library knows no set-up: the record says what to do next.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { EnvironmentError, readStateFile, stateDir, writeStateFile } from '../base/index.ts';

/** The process preparing images, identified beyond its pid (pids are reused). */
export interface PreparingRecord {
  pid: number;
  /** /proc/PID/stat's start time (clock ticks since boot) and the boot it was read in. */
  startTicks: string;
  bootId: string;
  /** Image references, as the users of the images name them ("moby/buildkit:buildx-stable-1"). */
  refs: string[];
  log: string;
  /** What a user does when the preparation failed or stopped, an imperative clause: "run `make images` to build it again". */
  retryHint: string;
  started: string;
}

/** What a preparation that failed left for those waiting on it. */
export interface PreparationFailure {
  refs: string[];
  message: string;
  log: string;
  retryHint: string;
}

export const preparingFile = (dir = stateDir()) => join(dir, 'prepared-images', 'preparing.json');
export const preparationFailureFile = (dir = stateDir()) => join(dir, 'prepared-images', 'failed.json');

async function bootId(): Promise<string> {
  return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '')).trim();
}

/** Field 22 of /proc/PID/stat (after the command name, which may hold spaces), or undefined when there is no such process. */
async function processStartTicks(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

export interface PreparingOptions {
  /** The preparing process's log, named in every sentence about it. */
  log: string;
  retryHint: string;
  /** The process that prepares the images; default this one. */
  pid?: number;
  dir?: string;
}

/** A preparation in progress, recorded: `done()` when it ends, with the failure's message when it failed. */
export interface Preparation {
  readonly record: PreparingRecord;
  done(failure?: string): Promise<void>;
}

/**
 * Records that process `pid` (default: this one) is preparing `refs`, so that their users wait for
 * it. The record goes with `done()`; a failure given to it is kept for those waiting.
 */
export async function preparingImage(refs: readonly string[], options: PreparingOptions): Promise<Preparation> {
  const dir = options.dir ?? stateDir();
  const pid = options.pid ?? process.pid;
  const record: PreparingRecord = {
    pid,
    startTicks: (await processStartTicks(pid)) ?? '',
    bootId: await bootId(),
    refs: [...refs],
    log: options.log,
    retryHint: options.retryHint,
    started: new Date().toISOString(),
  };
  await writeStateFile(preparingFile(dir), JSON.stringify(record, null, 2));
  return {
    record,
    async done(failure) {
      if (failure !== undefined) {
        const failed: PreparationFailure = { refs: record.refs, message: failure, log: record.log, retryHint: record.retryHint };
        await writeStateFile(preparationFailureFile(dir), JSON.stringify(failed, null, 2));
      }
      const now = await readPreparing(dir);
      if (now?.pid === pid) await rm(preparingFile(dir), { force: true });
    },
  };
}

/** Whether the recorded process is the one still running (not a later process that got its pid, nor one of an earlier boot). */
export async function isRunning(b: PreparingRecord): Promise<boolean> {
  if (b.bootId !== (await bootId())) return false;
  const ticks = await processStartTicks(b.pid);
  return ticks !== undefined && ticks === b.startTicks;
}

/** The record as it is, whether its process still runs or not. */
export function readPreparing(dir = stateDir()): Promise<PreparingRecord | undefined> {
  return readStateFile<PreparingRecord>(preparingFile(dir));
}

/** The preparation in progress, if any (a record left by a process that is gone is not one). */
export async function runningPreparation(dir = stateDir()): Promise<PreparingRecord | undefined> {
  const b = await readPreparing(dir);
  return b && (await isRunning(b)) ? b : undefined;
}

/** The failure the last preparation left, if it failed. */
export function readPreparationFailure(dir = stateDir()): Promise<PreparationFailure | undefined> {
  return readStateFile<PreparationFailure>(preparationFailureFile(dir));
}

/** A new preparation decides again: an earlier failure no longer stands. */
export async function forgetPreparationFailure(dir = stateDir()): Promise<void> {
  await rm(preparationFailureFile(dir), { force: true });
}

/**
 * What the log's last line says the preparation does now ("compiling buildkitd for linux/s390x"),
 * without a leading `[tag]`, the image's name and a trailing clock ("(240 s so far)").
 */
export async function lastLogLine(log: string, ref: string): Promise<string> {
  const text = await readFile(log, 'utf8').catch(() => '');
  const line = text.trim().split('\n').at(-1) ?? '';
  return line
    .replace(/^\[[^\]]*\]\s*/, '')
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
 * Returns when `ref` is not being prepared by another process (any more). Throws an EnvironmentError
 * (one sentence, ending with the record's retry hint) when its preparation failed, or stopped
 * before it finished.
 */
export async function awaitPreparedImage(ref: string, options: AwaitOptions = {}): Promise<void> {
  const dir = options.dir ?? stateDir();
  const started = Date.now();
  let lastLine = -Infinity;
  for (;;) {
    const b = await readPreparing(dir);
    if (!b || !b.refs.includes(ref)) break;
    if (!(await isRunning(b))) {
      // It may have just ended: its own last act is removing this record.
      const again = await readPreparing(dir);
      if (!again || again.pid !== b.pid || again.startTicks !== b.startTicks) continue;
      throw new EnvironmentError(`The set-up's background build of ${ref} stopped before it finished (log: ${b.log}); ${b.retryHint}.`);
    }
    if (options.onWait && Date.now() - lastLine >= (options.everyMs ?? 30_000)) {
      lastLine = Date.now();
      const s = Math.round((Date.now() - started) / 1000);
      const now = (await lastLogLine(b.log, ref)) || 'starting';
      options.onWait(`waiting for ${ref}, which the set-up builds in the background (pid ${b.pid}, log ${b.log}): ${now} (waited ${s} s)`);
    }
    await new Promise((r) => setTimeout(r, options.pollMs ?? 2000));
  }
  const failed = await readPreparationFailure(dir);
  if (failed?.refs.includes(ref)) {
    throw new EnvironmentError(
      `The set-up could not build ${ref} in the background: ${failed.message} (log: ${failed.log}); ${failed.retryHint}.`,
    );
  }
}
