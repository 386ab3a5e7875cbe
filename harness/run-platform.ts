/**
 * Runs a pinned image as one platform: `docker run --rm --platform P ref@digest`, with a timeout
 * scaled for emulation. A run that times out has its container removed (killing the CLI alone
 * would leave it running).
 */
import { docker } from './docker.ts';
import type { RunContext } from './run-context.ts';
import { formatPlatform, platformSlug, type Platform } from './platform.ts';

export interface PlatformRun {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
}

export const BASE_RUN_TIMEOUT_MS = 60_000;

export async function runPinned(
  ctx: RunContext,
  image: string,
  platform: Platform,
  options: { timeoutMs: number; command?: string[] },
): Promise<PlatformRun> {
  const name = `${ctx.id}-run-${platformSlug(platform)}-${Math.random().toString(36).slice(2, 7)}`;
  // Pull first, untimed by the run's timeout: a slow registry is not a slow emulator.
  await docker(['pull', '--quiet', '--platform', formatPlatform(platform), image], { timeoutMs: 300_000 });
  ctx.trackImage(image);
  const r = await docker(
    ['run', '--rm', '--name', name, ...ctx.labelArgs(), '--platform', formatPlatform(platform), image, ...(options.command ?? [])],
    { check: false, timeoutMs: options.timeoutMs },
  );
  if (r.timedOut) await docker(['rm', '-f', name], { check: false });
  return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, durationMs: r.durationMs, timedOut: r.timedOut };
}
