/**
 * The binary check's verdicts, kept on disk by everything they depend on, so that verifying the same
 * image again reads no layer at all (issue 12: work done once). A verdict depends on:
 *
 * - the platform's layers, by digest (every byte of the file system), and the config's entry
 *   settings (entrypoint, command, environment, working folder): not the whole config, whose
 *   creation time and labels change with every rebuild of the same content, so a cached build's
 *   image is not judged again;
 * - what was asked: the platform, the --command, the --allow-foreign globs;
 * - the host facts the message uses: how the platform runs here (native, compat, or which QEMU
 *   handler) and the engine's own platform;
 * - the harness's code (its build's hash of every compiled file), so an upgraded or changed
 *   harness judges again.
 *
 * Like the layer cache (registry/blob-cache.ts), it holds no conclusion about the host that was not
 * observed: the run check, which is about this host, is never cached. A reused verdict says so in
 * its message, with when it was reached. Verdicts unused for two weeks are removed.
 * MULTIARCH_CHECK_CACHE=off turns it off.
 */
import { createHash } from 'node:crypto';
import { readFile, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { harnessCodeId, pruneStateFolder, stateDir, writeStateFile } from '../base/index.ts';
import type { EntryBinary } from '../image/index.ts';
import { type PlatformExecution, formatPlatform, type Platform } from '../platform/index.ts';
import type { CheckResult } from '../result/index.ts';

/** What a reused verdict carries: the check's result and what the run check may need (a second opinion's command line). */
export interface KeptVerdict {
  result: CheckResult;
  summary?: string;
  elfFiles?: number;
  /** The program's command line, without its bytes. */
  binary?: Pick<EntryBinary, 'command' | 'argv' | 'path' | 'chain'>;
}

export interface KeptVerdictKey {
  /** The layers' digests, in order. */
  layers: readonly string[];
  /** What the check reads of the image config's `config` object: Entrypoint, Cmd, Env, WorkingDir. */
  runtimeConfig: unknown;
  exec: PlatformExecution;
  native: Platform;
  command?: readonly string[];
  allowForeign?: readonly string[];
}

const MAX_IDLE_MS = 14 * 24 * 3600_000;

function enabled(): boolean {
  return process.env.MULTIARCH_CHECK_CACHE !== 'off';
}

function cacheDir(): string {
  return join(stateDir(), 'verdicts');
}

async function fileOf(k: KeptVerdictKey): Promise<string> {
  const identity = JSON.stringify({
    code: await harnessCodeId(),
    layers: k.layers,
    runtime: k.runtimeConfig ?? null,
    platform: formatPlatform(k.exec.platform),
    mode: k.exec.mode,
    handler: k.exec.emulator?.handler ?? null,
    native: formatPlatform(k.native),
    command: k.command ?? null,
    allowForeign: k.allowForeign ?? [],
  });
  return join(cacheDir(), `${createHash('sha256').update(identity).digest('hex').slice(0, 32)}.json`);
}

/** A verdict reached before for exactly this key, its message saying it was reused; undefined when there is none. */
export async function reusedVerdict(k: KeptVerdictKey): Promise<KeptVerdict | undefined> {
  if (!enabled()) return undefined;
  const file = await fileOf(k);
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (!text) return undefined;
  try {
    const stored = JSON.parse(text) as KeptVerdict & { judgedAt: string };
    const now = new Date();
    await utimes(file, now, now).catch(() => undefined);
    const note = `reused: the harness judged the same layers and entry settings at ${stored.judgedAt}`;
    const { judgedAt: _, ...verdict } = stored;
    return { ...verdict, result: { ...verdict.result, message: verdict.result.message ? `${verdict.result.message} (${note})` : note } };
  } catch {
    return undefined;
  }
}

/** Keeps a verdict for next time (never a check that could not read the image: that may pass later). */
export async function keepVerdict(k: KeptVerdictKey, v: KeptVerdict & { readable: boolean }): Promise<void> {
  if (!enabled() || !v.readable) return;
  const file = await fileOf(k);
  const { readable: _, ...verdict } = v;
  const binary = verdict.binary
    ? { command: verdict.binary.command, argv: verdict.binary.argv, path: verdict.binary.path, chain: verdict.binary.chain }
    : undefined;
  try {
    await writeStateFile(
      file,
      JSON.stringify({ ...verdict, ...(binary ? { binary } : {}), judgedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }),
    );
    await pruneOnce();
  } catch {
    // A read-only state folder costs a judgement next time, nothing more.
  }
}

let pruned = false;

/** Verdicts unused for two weeks go, at most once per process and only when one was written. */
async function pruneOnce(): Promise<void> {
  if (pruned) return;
  pruned = true;
  await pruneStateFolder(cacheDir(), { idleMs: MAX_IDLE_MS });
}
