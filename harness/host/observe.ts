/**
 * How this engine really runs each platform, learnt by running a tiny program for it: a FROM-scratch
 * image (made with `docker import`, nothing pulled) holding the platform's uname probe
 * (probe-program.ts) is run with `docker run --platform P`. What happened is recorded: it ran or
 * not, the `uname -m` it printed, and which binfmt_misc handler (if any) the kernel handed it to,
 * found by matching the program's ELF header against each handler's magic and mask, as the kernel
 * does. Tables (execution-mode.ts) only say what to expect; these observations are the answer.
 *
 * Observations are cached per host in the harness's state folder, keyed by the engine, its kernel
 * and the exact handler set (registration text and interpreter file), so a run pays for them once
 * and a changed handler is observed again.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { type BinfmtHandler, matchingHandler } from './binfmt.ts';
import { Engine, runContainer } from '../engine/index.ts';
import { type PlatformObservation, platformSlug, type Platform } from '../platform/index.ts';
import { stateDir, writeStateFile, harnessCodeId } from '../base/index.ts';
import { elfHeaderOf, PROBE_PLATFORMS, probeProgram } from './probe-program.ts';

export interface HostObservations {
  /** Engine, kernel and handler set the observations hold for. */
  key: string;
  observedAt: string;
  platforms: Record<string, PlatformObservation>;
}

/** How long one probe may take: QEMU starts in well under a second; a hang is a finding. */
const PROBE_TIMEOUT_MS = 60_000;

/** The platforms a probe exists for, on an engine of this OS. */
export function observablePlatforms(os: string): string[] {
  return PROBE_PLATFORMS.filter((p) => p.startsWith(`${os}/`));
}

/** Identity of the handler set: the registrations and, when local, the interpreter files behind them. */
export async function handlerSetKey(engine: string, kernel: string, handlers: readonly BinfmtHandler[], local: boolean): Promise<string> {
  // The boot (a kernel's command line, ia32_emulation= say, changes with it) and the probe programs
  // count too: the harness's code id stands for the programs it makes (making them all to hash them cost 11 ms a start).
  const boot = local ? await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '') : '';
  const h = createHash('sha256').update(`${engine}\n${kernel}\n${boot}\n${await harnessCodeId()}\n`);
  // By code unit, not localeCompare: its first call sets up ICU's collator, 10 ms of every start.
  for (const x of [...handlers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    h.update(JSON.stringify(x));
    if (local && x.interpreter) {
      let s: ReturnType<typeof statSync> | undefined;
      try {
        s = statSync(x.interpreter);
      } catch {
        s = undefined;
      }
      h.update(s ? `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}` : 'missing');
    }
  }
  return h.digest('hex').slice(0, 24);
}

function cacheFile(key: string): string {
  return join(stateDir(), 'observations', `${key}.json`);
}

async function readCache(key: string): Promise<HostObservations | undefined> {
  const text = await readFile(cacheFile(key), 'utf8').catch(() => undefined);
  if (!text) return undefined;
  try {
    const data = JSON.parse(text) as HostObservations;
    return data.key === key && data.platforms ? data : undefined;
  } catch {
    return undefined;
  }
}

async function writeCache(data: HostObservations): Promise<void> {
  const file = cacheFile(data.key);
  try {
    await writeStateFile(file, JSON.stringify(data, null, 2));
  } catch {
    // A read-only state folder costs a probe next time, nothing more.
  }
}

export interface ObserveOptions {
  key: string;
  handlers: readonly BinfmtHandler[];
  platforms: readonly string[];
  labels?: Readonly<Record<string, string>>;
  /** Observe again even when the cache has an answer. */
  fresh?: boolean;
}

/** Observations for the platforms asked for, from the cache where it has them. */
export async function observePlatforms(o: ObserveOptions): Promise<HostObservations> {
  const cached = o.fresh ? undefined : await readCache(o.key);
  const have = cached?.platforms ?? {};
  const missing = o.platforms.filter((p) => !have[p]);
  if (missing.length === 0 && cached) return cached;
  const limit = pLimit(4);
  const seen = await Promise.all(missing.map((p) => limit(() => observeOne(p, o))));
  const data: HostObservations = {
    key: o.key,
    observedAt: new Date().toISOString(),
    platforms: { ...have, ...Object.fromEntries(seen.map((s) => [s.platform, s])) },
  };
  // What the engine failed to do (make the probe image, answer in time) says nothing lasting about
  // the host: reported now, observed again next time.
  const lasting = Object.fromEntries(Object.entries(data.platforms).filter(([, x]) => !x.engineFailure));
  await writeCache({ ...data, platforms: lasting });
  return data;
}

async function tarOf(name: string, content: Uint8Array): Promise<Buffer> {
  // Loaded only when a probe image is made (observations are cached).
  const { default: tar } = await import('tar-stream');
  const pack = tar.pack();
  pack.entry({ name, mode: 0o755, uid: 0, gid: 0 }, Buffer.from(content));
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function parseProbePlatform(text: string): Platform {
  const [os, architecture, variant] = text.split('/') as [string, string, string | undefined];
  return variant ? { os, architecture, variant } : { os, architecture };
}

/**
 * One platform's probe, run now through the engine and not cached: what the set-up asks when it wants
 * the kernel's own answer for a platform (its handlers disabled for a moment), where an answer kept
 * for another handler set would say nothing.
 */
export function observePlatform(platform: string, handlers: readonly BinfmtHandler[]): Promise<PlatformObservation> {
  return observeOne(platform, { key: '', handlers, platforms: [platform] });
}

async function observeOne(platformText: string, o: ObserveOptions): Promise<PlatformObservation> {
  const platform = parseProbePlatform(platformText);
  const handler = matchingHandler(o.handlers, elfHeaderOf(platform));
  const image = `multiarch-harness-probe:${platformSlug(platform)}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const started = performance.now();
  const done = (x: Omit<PlatformObservation, 'platform' | 'durationMs'>): PlatformObservation => ({
    platform: platformText,
    ...x,
    ...(handler ? { handler: handler.name } : {}),
    durationMs: Math.round(performance.now() - started),
  });
  const engine = Engine.current();
  // `docker import --platform P --change ... - image`, through the engine's API.
  const imported = await engine
    .importImage(Buffer.from(await tarOf('probe', probeProgram(platform))), {
      ref: image,
      platform: platformText,
      changes: [
        'ENTRYPOINT ["/probe"]',
        ...(o.labels && Object.keys(o.labels).length
          ? [
              `LABEL ${Object.entries(o.labels)
                .map(([k, v]) => `${k}=${v}`)
                .join(' ')}`,
            ]
          : []),
      ],
    })
    .then(
      () => undefined,
      (err: Error) => err.message,
    );
  if (imported !== undefined) return done({ ran: false, engineFailure: true, error: `the probe image could not be made: ${imported}` });
  const name = image.replace(/[:]/g, '-');
  try {
    const r = await runContainer(
      {
        name,
        platform: platformText,
        image,
        labels: { ...o.labels },
        timeoutMs: PROBE_TIMEOUT_MS,
      },
      engine,
    ).catch((err: Error) => err);
    if (r instanceof Error) return done({ ran: false, engineFailure: true, error: `the probe could not be run: ${r.message}` });
    if (r.timedOut) return done({ ran: false, engineFailure: true, error: `no answer within ${PROBE_TIMEOUT_MS / 1000} s (a hang)` });
    if (r.refused !== undefined) return done({ ran: false, engineFailure: true, error: `the probe could not be run: ${r.refused}` });
    const machine = r.stdout.split('\0')[0]!.trim();
    if (r.exitCode === 0 && machine) return done({ ran: true, machine, exitCode: 0 });
    return done({ ran: false, error: failureOf(r.exitCode, r.stderr), ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}) });
  } finally {
    await engine.removeImage(image).catch(() => undefined);
  }
}

const SIGNALS: Record<number, string> = { 4: 'SIGILL', 5: 'SIGTRAP', 6: 'SIGABRT', 7: 'SIGBUS', 8: 'SIGFPE', 9: 'SIGKILL', 11: 'SIGSEGV' };

function failureOf(exitCode: number | undefined, stderr: string): string {
  const text = lastLine(stderr);
  // runc's "exec /probe: exec format error": the kernel's own word (ENOEXEC), kept whole.
  const m = /exec [^:]*: (.*)$/.exec(text);
  if (m) return m[1]!;
  if (exitCode !== undefined && exitCode > 128)
    return `killed by ${SIGNALS[exitCode - 128] ?? `signal ${exitCode - 128}`}${text ? ` (${text})` : ''}`;
  return `exit code ${exitCode ?? '?'}${text ? `: ${text}` : ''}`;
}

function lastLine(s: string): string {
  return s.trim().split('\n').filter(Boolean).at(-1)?.trim() ?? '';
}
