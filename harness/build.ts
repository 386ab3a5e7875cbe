/**
 * Builds an image for several platforms in one `docker buildx build --platform a,b --push`,
 * through a named builder (never the user's global current builder).
 */
import { labelArgs } from './run-context.ts';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BuildTimings, RawJsonSplitter, type BuildFailureCause } from './build-progress.ts';
import { docker, DockerError, type CommandResult } from './docker.ts';
import { UsageError } from './errors.ts';
import { formatPlatform, type Platform } from './platform.ts';
import { isTransient, withRetry } from './retry.ts';

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
}

export interface BuildResult {
  /** Digest of the pushed index (or manifest for a single platform). */
  digest: string;
  mediaType: string;
  totalMs: number;
  /** Wall-clock time each platform's steps ran, from BuildKit's rawjson progress stream. */
  perPlatformMs: Record<string, number>;
}

/**
 * A build that failed (not timed out). `failure` names the platform whose step failed first: BuildKit
 * cancels a multi-platform build at its first failing step, so every other platform's steps end
 * "context canceled" and the last error seen is rarely the cause.
 */
export class BuildFailedError extends DockerError {
  override name = 'BuildFailedError';
  constructor(
    readonly failure: BuildFailureCause | undefined,
    result: CommandResult,
    /** What to say when no step reported an error: the last error line of stderr, or the exit code. */
    fallback = `exit code ${result.exitCode}`,
  ) {
    super(failure ? describeBuildFailure(failure) : `the build failed: ${fallback}`, result);
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
  const tmp = await mkdtemp(join(tmpdir(), 'mah-build-'));
  const metadata = join(tmp, 'metadata.json');
  try {
    const attempt = async () => {
      const timings = new BuildTimings();
      const splitter = new RawJsonSplitter((o) => {
        for (const v of o.vertexes ?? []) {
          timings.add(v);
          if (v.started && !v.completed) req.onVertex?.(v.name);
        }
      });
      const args = [
        'buildx', 'build', '--builder', req.builder ?? 'default', '--progress=rawjson',
        '--platform', req.platforms.map(formatPlatform).join(','),
        `--provenance=${req.provenance ?? false}`, ...(req.noCache ? ['--no-cache'] : []),
        '--metadata-file', metadata, '--push', '-t', req.tag,
        ...labelArgs(req.labels ?? []),
        '-f', resolve(req.context, req.dockerfile ?? 'Dockerfile'), req.context,
      ];
      const r = await docker(args, { timeoutMs: req.timeoutMs, check: false, onStderrLine: (l) => splitter.line(l) });
      if (r.timedOut) throw new DockerError(`the build did not finish within ${Math.round((req.timeoutMs ?? 0) / 1000)} s.`, r);
      if (r.exitCode !== 0) {
        const detail = r.stderr.split('\n').findLast((l) => /ERROR|error/.test(l)) ?? `exit code ${r.exitCode}`;
        throw new BuildFailedError(timings.failureCause(req.platforms.length === 1 ? formatPlatform(req.platforms[0]!) : undefined), r, detail.trim());
      }
      return { r, timings };
    };
    const { r, timings } = await withRetry(attempt, { attempts: 3, retryIf: (e) => isTransient(e) && !(e as DockerError).result?.timedOut });
    const meta = JSON.parse(await readFile(metadata, 'utf8')) as Record<string, unknown>;
    const descriptor = meta['containerimage.descriptor'] as { mediaType?: string } | undefined;
    return {
      digest: String(meta['containerimage.digest'] ?? ''),
      mediaType: descriptor?.mediaType ?? '',
      totalMs: r.durationMs,
      perPlatformMs: timings.perPlatform(req.platforms.length === 1 ? formatPlatform(req.platforms[0]!) : undefined),
    };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
