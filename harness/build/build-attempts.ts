/**
 * The builds of one build scenario: BuildKit cancels a multi-platform build at the first failing
 * step, so the platform that failed first is named with its own error and the others are said to be
 * cancelled because of it; with keepGoing the build is repeated without the failed platform(s).
 */
import { BuildFailedError, cancelledBecause, failedStep, type BuildRequest, type BuildResult } from './build.ts';
import type { BuildFailureCause } from './build-progress.ts';
import { EngineError } from '../engine/index.ts';
import { type PlatformExecution, formatPlatform, type Platform } from '../platform/index.ts';

/** The builds of one run: the last one, its platforms, and those left out of it because their step failed first. */
export interface BuildAttempts<E extends { platform: Platform }> {
  /** The last build, when it succeeded. */
  build?: BuildResult;
  /** Why the last build failed, when it did. */
  error?: EngineError;
  /** The platforms of the last build. */
  attempted: E[];
  leftOut: Array<{ execution: E; failure: BuildFailureCause }>;
}

/**
 * Builds `runnable`; with keepGoing, while a build fails at a step of a named platform and others
 * remain, builds again without it (each failed build leaves one out: at most runnable.length builds).
 */
export async function buildLeavingOut<E extends { platform: Platform }>(
  runnable: E[],
  build: (platforms: Platform[]) => Promise<BuildResult>,
  keepGoing: boolean,
  progress: (m: string) => void,
): Promise<BuildAttempts<E>> {
  const leftOut: BuildAttempts<E>['leftOut'] = [];
  let attempted = runnable;
  for (let builds = 1; ; builds++) {
    try {
      return { build: await build(attempted.map((e) => e.platform)), attempted, leftOut };
    } catch (err) {
      if (!(err instanceof EngineError)) throw err;
      const failure = err instanceof BuildFailedError ? err.failure : undefined;
      const failed = attempted.find((e) => formatPlatform(e.platform) === failure?.platform);
      const rest = attempted.filter((e) => e !== failed);
      if (!keepGoing || !failure || !failed || rest.length === 0 || builds >= runnable.length) return { error: err, attempted, leftOut };
      leftOut.push({ execution: failed, failure });
      progress(
        `the build of ${failure.platform} failed first; building ${rest.map((e) => formatPlatform(e.platform)).join(', ')} again without it`,
      );
      attempted = rest;
    }
  }
}

/** Platforms built under QEMU, with their handler's interpreter, for the build's hang watchdog. */
export function emulatedOf(executions: readonly PlatformExecution[]): NonNullable<BuildRequest['emulated']> {
  return executions.flatMap((e) =>
    e.mode === 'qemu' && e.emulator
      ? [{ platform: formatPlatform(e.platform), handler: e.emulator.handler, interpreter: e.emulator.interpreter }]
      : [],
  );
}

/** Platforms whose build step hung under QEMU and was stopped. */
export function hungPlatforms<E extends { platform: Platform }>(a: BuildAttempts<E>): Set<string> {
  const failures = [
    ...a.leftOut.map((l) => l.failure),
    ...(a.error instanceof BuildFailedError && a.error.failure ? [a.error.failure] : []),
  ];
  return new Set(failures.filter((f) => f.emulatorSuspect && f.platform).map((f) => f.platform!));
}

/** Why each platform the builds did not build was not built: a failed one its own error, the others the failure that stopped them. */
export function notBuilt<E extends { platform: Platform }>(a: BuildAttempts<E>): Array<[E, string]> {
  const out = a.leftOut.map(({ execution, failure }): [E, string] => [execution, failedStep(failure)]);
  if (!a.error) return out;
  const failure = a.error instanceof BuildFailedError ? a.error.failure : undefined;
  for (const e of a.attempted) {
    if (failure?.platform === formatPlatform(e.platform)) out.push([e, failedStep(failure)]);
    else if (failure?.platform) out.push([e, cancelledBecause(failure)]);
    else out.push([e, a.error instanceof BuildFailedError ? a.error.message : `the build failed: ${a.error.message}`]);
  }
  return out;
}

/** The report's note on platforms left out of the final build, or how to build the others without the one that failed. */
export function leftOutNote<E extends { platform: Platform }>(a: BuildAttempts<E>, keepGoing: boolean): string | undefined {
  const names = (list: E[]) => list.map((e) => formatPlatform(e.platform)).join(', ');
  if (a.leftOut.length) {
    const why = a.leftOut
      .map(({ execution, failure }) => `${formatPlatform(execution.platform)}, because ${failedStep(failure)}`)
      .join('; ');
    return `Left out of the final build (keep going): ${why}. ${a.build ? `The final build built ${names(a.attempted)}.` : `The final build of ${names(a.attempted)} failed too.`}`;
  }
  const failure = a.error instanceof BuildFailedError ? a.error.failure : undefined;
  if (keepGoing || !failure?.platform || a.attempted.length < 2) return undefined;
  return `The build of ${failure.platform} failed first and stopped the others; with --keep-going (SessionOptions.keepGoing) they are built and verified without it.`;
}
