/**
 * Builds an image for several platforms in one `docker buildx build --platform a,b --push`,
 * through a named builder (never the user's global current builder).
 */
import { labelArgs } from '../session/index.ts';
import { readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BuildTimings, RawJsonSplitter, type BuildFailureCause } from './build-progress.ts';
import {
  looksLikeCrash,
  RUNTIME_CRASH,
  HangWatchdog,
  hangSeconds,
  type Hang,
  dockerCli,
  type CommandResult,
  EngineError,
} from '../engine/index.ts';
import { UsageError, isTransient, withRetry, scratchFolder } from '../base/index.ts';
import { formatPlatform, type Platform } from '../platform/index.ts';

export interface BuildRequest {
  context: string;
  /** Relative to the context, default Dockerfile. */
  dockerfile?: string;
  platforms: Platform[];
  tag: string;
  builder?: string;
  labels?: string[];
  /** BuildKit's default provenance attestation turns each tag into an index with an attestation. */
  provenance?: boolean;
  timeoutMs?: number;
  /** Build every step again (--no-cache): for timings that measure real work. */
  noCache?: boolean;
  onVertex?: (name: string) => void;
  /**
   * Platforms built under QEMU on this machine, with their handler's interpreter: a step of theirs
   * that uses no CPU and prints nothing for MULTIARCH_HANG_SECONDS is stopped as a hang.
   */
  emulated?: Array<{ platform: string; handler: string; interpreter: string }>;
}

export interface BuildResult {
  /** Digest of the pushed index (or manifest for a single platform). */
  digest: string;
  mediaType: string;
  totalMs: number;
  /** Wall-clock time each platform's steps ran, from BuildKit's rawjson progress stream. */
  perPlatformMs: Record<string, number>;
  /** Why each earlier attempt failed, when the build was tried again after a transient failure. */
  retried: string[];
}

/**
 * A build that failed (not timed out). `failure` names the platform whose step failed first: BuildKit
 * cancels a multi-platform build at its first failing step, so every other platform's steps end
 * "context canceled" and the last error seen is rarely the cause.
 */
export class BuildFailedError extends EngineError {
  override name = 'BuildFailedError';
  constructor(
    readonly failure: BuildFailureCause | undefined,
    result: CommandResult,
    /** What to say when no step reported an error: the last error line of stderr, or the exit code. */
    fallback = `exit code ${result.exitCode}`,
  ) {
    // A step that failed with its own error is the image's (or the emulator's) problem, not a passing one: never retried.
    super(failure ? describeBuildFailure(failure) : `the build failed: ${fallback}`, {
      result,
      ...(failure?.platform ? { transient: false } : {}),
    });
  }
}

/** "the build of linux/386 failed at [linux/386 builder 4/4] RUN ...: <error>; BuildKit cancelled linux/amd64 because of it" */
export function describeBuildFailure(f: BuildFailureCause): string {
  const cancelled = f.cancelled.length ? `; BuildKit cancelled ${f.cancelled.join(', ')} because of it` : '';
  return `${failedStep(f)}${cancelled}`;
}

/** The failing platform's own error: "the build of linux/386 failed at [linux/386 builder 4/4] RUN ...: <error>". */
export function failedStep(f: BuildFailureCause): string {
  return `the build${f.platform ? ` of ${f.platform}` : ''} failed at ${f.step}: ${f.error}`;
}

/** What a platform that was not built because another failed first says. */
export function cancelledBecause(f: BuildFailureCause): string {
  return `not built: BuildKit cancelled it because ${f.platform ? `the build of ${f.platform}` : 'a step'} failed first (at ${f.step}: ${f.error})`;
}

export async function assertBuildable(context: string, dockerfile = 'Dockerfile'): Promise<void> {
  const dir = await stat(context).catch(() => undefined);
  if (!dir?.isDirectory()) throw new UsageError(`The build context ${context} is not a folder.`);
  const file = await stat(resolve(context, dockerfile)).catch(() => undefined);
  if (!file?.isFile()) throw new UsageError(`There is no Dockerfile at ${resolve(context, dockerfile)}.`);
}

export async function buildAndPush(req: BuildRequest): Promise<BuildResult> {
  await assertBuildable(req.context, req.dockerfile);
  const tmp = await scratchFolder('build');
  const metadata = join(tmp, 'metadata.json');
  try {
    const attempt = async () => {
      const timings = new BuildTimings();
      const watchdog = hangWatchdogFor(req, timings);
      const splitter = new RawJsonSplitter((o) => {
        for (const v of o.vertexes ?? []) {
          timings.add(v);
          if (v.started && !v.completed) req.onVertex?.(v.name);
        }
        for (const l of o.logs ?? []) timings.addLog(l.vertex, l.data);
        for (const x of [...(o.vertexes ?? []).map((v) => ({ vertex: v.digest })), ...(o.statuses ?? []), ...(o.logs ?? [])]) {
          watchdog?.noteActivity(timings.platformOfDigest(x.vertex));
        }
      });
      const args = [
        'buildx',
        'build',
        '--builder',
        req.builder ?? 'default',
        '--progress=rawjson',
        '--platform',
        req.platforms.map(formatPlatform).join(','),
        `--provenance=${req.provenance ?? false}`,
        ...(req.noCache ? ['--no-cache'] : []),
        '--metadata-file',
        metadata,
        '--push',
        '-t',
        req.tag,
        ...labelArgs(req.labels ?? []),
        '-f',
        resolve(req.context, req.dockerfile ?? 'Dockerfile'),
        req.context,
      ];
      watchdog?.start();
      const r = await dockerCli(args, { timeoutMs: req.timeoutMs, check: false, onStderrLine: (l) => splitter.line(l) }).finally(() =>
        watchdog?.stop(),
      );
      if (r.timedOut) throw new EngineError(`the build did not finish within ${Math.round((req.timeoutMs ?? 0) / 1000)} s.`, { result: r });
      if (r.exitCode !== 0) {
        const detail = r.stderr.split('\n').findLast((l) => /ERROR|error/.test(l)) ?? `exit code ${r.exitCode}`;
        const cause = timings.failureCause(req.platforms.length === 1 ? formatPlatform(req.platforms[0]!) : undefined);
        throw new BuildFailedError(watchdog?.explain(cause) ?? crashUnderQemu(cause, req.emulated), r, detail.trim());
      }
      return { r, timings };
    };
    const retried: string[] = [];
    const { r, timings } = await withRetry(attempt, {
      attempts: 3,
      retryIf: (e) => isTransient(e) && !(e as EngineError).result?.timedOut,
      onRetry: (e) => retried.push(e instanceof Error ? e.message : String(e)),
    });
    const meta = JSON.parse(await readFile(metadata, 'utf8')) as Record<string, unknown>;
    const descriptor = meta['containerimage.descriptor'] as { mediaType?: string } | undefined;
    return {
      digest: String(meta['containerimage.digest'] ?? ''),
      mediaType: descriptor?.mediaType ?? '',
      totalMs: r.durationMs,
      perPlatformMs: timings.perPlatform(req.platforms.length === 1 ? formatPlatform(req.platforms[0]!) : undefined),
      retried,
    };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Watches the QEMU processes of a build's emulated platforms, fed with the platforms' progress. */
class BuildHangWatchdog {
  private readonly dog: HangWatchdog;
  /** Hangs, with the platforms that use the handler and the steps they were running. */
  readonly hangs: Array<Hang & { platforms: string[]; steps: string[] }> = [];

  constructor(
    private readonly emulated: NonNullable<BuildRequest['emulated']>,
    timings: BuildTimings,
    idleMs: number,
  ) {
    const interpreters = [...new Map(emulated.map((e) => [e.handler, { handler: e.handler, path: e.interpreter }])).values()];
    this.dog = new HangWatchdog({
      // BuildKit's step containers: /docker/buildkit/<id> (docker driver) or .../buildkit/<id> inside a builder container.
      interpreters,
      idleMs,
      cgroup: /\/buildkit\//,
      onHang: (h) => {
        const platforms = emulated.filter((e) => e.handler === h.handler).map((e) => e.platform);
        this.hangs.push({ ...h, platforms, steps: platforms.flatMap((p) => timings.running(p)) });
      },
    });
  }

  start(): void {
    this.dog.start();
  }
  stop(): void {
    this.dog.stop();
  }

  noteActivity(platform: string | undefined): void {
    const handler = platform ? this.emulated.find((e) => e.platform === platform)?.handler : undefined;
    if (handler) this.dog.activity(handler);
  }

  /** The failure as it really was: a step stopped because it hung under QEMU. */
  explain(cause: BuildFailureCause | undefined): BuildFailureCause | undefined {
    const hang = this.hangs[0];
    if (!hang) return cause;
    const platform = cause?.platform && hang.platforms.includes(cause.platform) ? cause.platform : hang.platforms[0];
    const step = (cause?.platform === platform ? cause?.step : undefined) ?? hang.steps[0] ?? 'a step';
    return {
      platform,
      step,
      cancelled: (cause?.cancelled ?? []).filter((p) => p !== platform),
      emulatorSuspect: true,
      error: `it hung under QEMU (${hang.handler}): no CPU time and no output for ${Math.round(hang.idleMs / 1000)} s, so the harness stopped it (pids ${hang.pids.join(', ')}); likely the emulator, not the image`,
    };
  }
}

function hangWatchdogFor(req: BuildRequest, timings: BuildTimings): BuildHangWatchdog | undefined {
  return req.emulated?.length ? new BuildHangWatchdog(req.emulated, timings, hangSeconds() * 1000) : undefined;
}

/** A step of an emulated platform that died of a signal or with a runtime's crash report: emulator-suspect. */
function crashUnderQemu(cause: BuildFailureCause | undefined, emulated: BuildRequest['emulated']): BuildFailureCause | undefined {
  if (!cause?.platform || !emulated?.some((e) => e.platform === cause.platform)) return cause;
  const code = /exit code: (\d+)/.exec(cause.error)?.[1];
  if (!looksLikeCrash(code === undefined ? undefined : Number(code), cause.log ?? '')) return cause;
  const report = cause.log?.split('\n').find((l) => RUNTIME_CRASH.test(l));
  return {
    ...cause,
    emulatorSuspect: true,
    error: `${cause.error} (a crash under QEMU${report ? `: "${report.trim()}"` : ''}; likely the emulator, not the image)`,
  };
}
