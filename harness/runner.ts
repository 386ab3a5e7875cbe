/**
 * Runs a scenario end to end. A build scenario classifies its platforms, starts the run's
 * registry, builds and pushes every runnable platform in one buildx build, then verifies the pushed
 * image (index, config, binary, run) like any other; a verify scenario checks an existing image.
 * Whatever happens, the run's resources are cleaned up.
 */
import type { BuildFailureCause } from './build-progress.ts';
import { assertBuildable, buildAndPush, BuildFailedError, cancelledBecause, failedStep, type BuildRequest, type BuildResult } from './build.ts';
import { DockerError } from './docker.ts';
import { classify, type PlatformExecution } from './execution-mode.ts';
import { describeExpectation } from './expectations.ts';
import { probeHost, type HostProbe } from './host-probe.ts';
import { parseImageRef, type ImageRef } from './image-ref.ts';
import { startRegistry } from './local-registry.ts';
import { formatPlatform, parsePlatform, type Platform } from './platform.ts';
import { RegistryClient } from './registry-client.ts';
import type { PlatformResult, RunReport } from './report/types.ts';
import { RunContext, sweepStaleRuns } from './run-context.ts';
import { UsageError } from './errors.ts';
import { contextPath, privilegedRefusal, type BuildScenario, type KnownIssue, type Scenario } from './scenario.ts';
import { createStepsContext, type StepResult } from './steps.ts';
import { verifyPlatforms } from './verify.ts';

export interface RunOptions {
  platforms?: Platform[];
  /** A requested platform that cannot run here is a skip instead of a failure. */
  allowSkip?: boolean;
  builder?: string;
  concurrency?: number;
  caFile?: string;
  /** Scenarios that run privileged containers (StepsScenario.privileged) run only when this is set. */
  allowPrivileged?: boolean;
  /** Build scenarios: build every step again (--no-cache), so build times measure real work. */
  noCache?: boolean;
  /**
   * Build scenarios: when a platform's step fails (and BuildKit cancels the others), build again
   * without it, as long as platforms remain, and verify the ones that built.
   */
  keepGoing?: boolean;
  onProgress?: (message: string) => void;
  probe?: HostProbe;
}

/** Runs in progress, so a signal handler can clean them up. */
export const activeRuns = new Set<RunContext>();

const BUILD_TIMEOUT_MS = 45 * 60_000;

export async function runScenario(s: Scenario, options: RunOptions = {}): Promise<RunReport> {
  if (s.kind === 'build') await assertBuildable(contextPath(s.build.context), s.build.dockerfile);
  if (s.kind === 'steps' && s.privileged && !options.allowPrivileged) throw new UsageError(privilegedRefusal(s));
  const ref = s.kind === 'verify' ? parseImageRef(s.image) : undefined;
  const started = Date.now();
  const progress = options.onProgress ?? (() => undefined);
  const ctx = new RunContext();
  activeRuns.add(ctx);
  try {
    const swept = await sweepStaleRuns();
    if (swept) progress(`removed what ${swept} earlier killed run(s) left behind`);
    const probe = options.probe ?? (await probeHost({ labels: ctx.labels }));
    const notes: string[] = [];
    let steps: StepResult[] | undefined;
    let outcome: { results: PlatformResult[]; image?: RunReport['image'] };
    if (s.kind === 'build') {
      outcome = await runBuild(s, options, ctx, probe, notes, progress);
    } else if (s.kind === 'verify') {
      outcome = { results: await verifyPlatforms({ ctx, probe, ref: ref!, client: RegistryClient.for(ref!, clientOptions(options)), ...common(s, options, progress) }) };
    } else {
      const made = await createStepsContext(ctx, probe, progress);
      await s.run(made.t);
      steps = made.steps;
      outcome = { results: made.t.platforms };
    }
    const problems = await ctx.cleanup();
    for (const p of problems) notes.push(`cleanup: ${p}`);
    const platforms = outcome.results;
    return {
      schemaVersion: 1,
      kind: s.kind,
      scenario: s.name,
      title: s.title,
      ...(s.article ? { article: s.article } : {}),
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      host: {
        engine: probe.engineVersion, native: formatPlatform(probe.native), imageStore: probe.imageStore,
        ...(probe.buildxVersion ? { buildx: probe.buildxVersion } : {}), kernel: probe.kernel,
      },
      ...(outcome.image ? { image: outcome.image } : {}),
      platforms,
      ...(steps ? { steps } : {}),
      summary: {
        passed: platforms.filter((r) => r.status === 'pass').length + (steps ?? []).filter((x) => x.status === 'pass').length,
        failed: platforms.filter((r) => r.status === 'fail').length + (steps ?? []).filter((x) => x.status === 'fail').length,
        skipped: platforms.filter((r) => r.status === 'skip').length,
      },
      notes,
    };
  } finally {
    await ctx.cleanup();
    activeRuns.delete(ctx);
  }
}

function clientOptions(o: RunOptions) {
  return o.caFile ? { caFile: o.caFile } : {};
}

function common(s: Scenario, o: RunOptions, progress: (m: string) => void) {
  const platforms = o.platforms ?? s.platforms?.map(parsePlatform);
  return {
    ...(platforms ? { platforms } : {}),
    ...(s.expect ? { expect: s.expect } : {}),
    ...(s.command ? { command: s.command } : {}),
    allowSkip: Boolean(o.allowSkip),
    concurrency: o.concurrency ?? 2,
    onProgress: progress,
  };
}

async function runBuild(
  s: BuildScenario, options: RunOptions, ctx: RunContext, probe: HostProbe, notes: string[], progress: (m: string) => void,
): Promise<{ results: PlatformResult[]; image?: RunReport['image'] }> {
  const platforms = options.platforms ?? s.platforms.map(parsePlatform);
  const executions = platforms.map((p) => classify(p, probe));
  const results = new Map<string, PlatformResult>();
  /** A platform that never reached the checks: it cannot run here, or its build failed. */
  const unverified = (e: PlatformExecution, status: 'fail' | 'skip', message: string): PlatformResult => ({
    platform: formatPlatform(e.platform), mode: e.mode, status, expected: describeExpectation(s.expect, e, probe.native),
    output: '', durationMs: 0, message, ...(e.fix ? { fix: e.fix } : {}), ...(e.emulator ? { emulator: e.emulator } : {}),
  });
  for (const e of executions.filter((x) => x.mode === 'unavailable')) {
    results.set(formatPlatform(e.platform), unverified(e, options.allowSkip ? 'skip' : 'fail', `${formatPlatform(e.platform)} cannot run here: ${e.reason}`));
  }
  const runnable = executions.filter((x) => x.mode !== 'unavailable');
  let image: RunReport['image'];
  if (runnable.length > 0) {
    const registry = await startRegistry(ctx);
    progress(`registry ${registry.address} is up`);
    const tag = `${registry.address}/${s.build.repository}:${ctx.id}`;
    progress(`building ${runnable.map((e) => formatPlatform(e.platform)).join(', ')}`);
    const attempts = await buildLeavingOut(runnable, (platforms) => buildAndPush({
      context: contextPath(s.build.context), ...(s.build.dockerfile ? { dockerfile: s.build.dockerfile } : {}),
      platforms, tag, labels: ctx.labels,
      provenance: s.build.provenance ?? false, builder: options.builder ?? 'default', timeoutMs: BUILD_TIMEOUT_MS,
      noCache: Boolean(options.noCache),
      onVertex: (name) => { if (!name.startsWith('[internal]')) progress(`  ${name}`); },
      ...(probe.engineIsLocal ? { emulated: emulatedOf(runnable) } : {}),
    }), Boolean(options.keepGoing), progress);
    const suspects = hungPlatforms(attempts);
    for (const [e, message] of notBuilt(attempts)) {
      const r = unverified(e, 'fail', message);
      results.set(r.platform, suspects.has(r.platform) ? { ...r, emulatorSuspect: true } : r);
    }
    const note = leftOutNote(attempts, Boolean(options.keepGoing));
    if (note) notes.push(note);
    // With the containerd image store, --push also keeps the image in the engine's store.
    ctx.trackImage(tag);
    const build = attempts.build;
    if (build) {
      image = { ref: tag, digest: build.digest, mediaType: build.mediaType, buildMs: build.totalMs };
      notes.push('Per-platform build times come from BuildKit\'s rawjson progress stream of one multi-platform build (union of each platform\'s step intervals; platforms build concurrently).');
      const ref: ImageRef = parseImageRef(tag);
      const verified = await verifyPlatforms({
        ctx, probe, ref, client: RegistryClient.for(ref), ...common(s, { ...options, platforms: attempts.attempted.map((e) => e.platform) }, progress),
      });
      for (const verifiedResult of verified) {
        const r = applyKnownIssues(verifiedResult, s.knownIssues ?? [], notes);
        const buildMs = build.perPlatformMs[r.platform];
        results.set(r.platform, { ...r, ...(buildMs !== undefined ? { buildMs } : {}) });
        progress(`${r.status.toUpperCase()} ${r.platform} (${r.mode}) ${r.output.split('\n')[0] ?? ''}`);
      }
    }
  }
  return { results: platforms.map((p) => results.get(formatPlatform(p))!), ...(image ? { image } : {}) };
}

/** The builds of one run: the last one, its platforms, and those left out of it because their step failed first. */
export interface BuildAttempts<E extends { platform: Platform }> {
  /** The last build, when it succeeded. */
  build?: BuildResult;
  /** Why the last build failed, when it did. */
  error?: DockerError;
  /** The platforms of the last build. */
  attempted: E[];
  leftOut: Array<{ execution: E; failure: BuildFailureCause }>;
}

/**
 * Builds `runnable`; with keepGoing, while a build fails at a step of a named platform and others
 * remain, builds again without it (each failed build leaves one out: at most runnable.length builds).
 */
export async function buildLeavingOut<E extends { platform: Platform }>(
  runnable: E[], build: (platforms: Platform[]) => Promise<BuildResult>, keepGoing: boolean, progress: (m: string) => void,
): Promise<BuildAttempts<E>> {
  const leftOut: BuildAttempts<E>['leftOut'] = [];
  let attempted = runnable;
  for (let builds = 1; ; builds++) {
    try {
      return { build: await build(attempted.map((e) => e.platform)), attempted, leftOut };
    } catch (err) {
      if (!(err instanceof DockerError)) throw err;
      const failure = err instanceof BuildFailedError ? err.failure : undefined;
      const failed = attempted.find((e) => formatPlatform(e.platform) === failure?.platform);
      const rest = attempted.filter((e) => e !== failed);
      if (!keepGoing || !failure || !failed || rest.length === 0 || builds >= runnable.length) return { error: err, attempted, leftOut };
      leftOut.push({ execution: failed, failure });
      progress(`the build of ${failure.platform} failed first; building ${rest.map((e) => formatPlatform(e.platform)).join(', ')} again without it`);
      attempted = rest;
    }
  }
}

/** Platforms built under QEMU, with their handler's interpreter, for the build's hang watchdog. */
function emulatedOf(executions: readonly PlatformExecution[]): NonNullable<BuildRequest['emulated']> {
  return executions.flatMap((e) => (e.mode === 'qemu' && e.emulator ? [{ platform: formatPlatform(e.platform), handler: e.emulator.handler, interpreter: e.emulator.interpreter }] : []));
}

/** Platforms whose build step hung under QEMU and was stopped. */
function hungPlatforms<E extends { platform: Platform }>(a: BuildAttempts<E>): Set<string> {
  const failures = [...a.leftOut.map((l) => l.failure), ...(a.error instanceof BuildFailedError && a.error.failure ? [a.error.failure] : [])];
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
    const why = a.leftOut.map(({ execution, failure }) => `${formatPlatform(execution.platform)}, because ${failedStep(failure)}`).join('; ');
    return `Left out of the final build (keep going): ${why}. ${a.build ? `The final build built ${names(a.attempted)}.` : `The final build of ${names(a.attempted)} failed too.`}`;
  }
  const failure = a.error instanceof BuildFailedError ? a.error.failure : undefined;
  if (keepGoing || !failure?.platform || a.attempted.length < 2) return undefined;
  return `The build of ${failure.platform} failed first and stopped the others; with --keep-going (RunOptions.keepGoing) they are built and verified without it.`;
}

/** A platform whose only failures are known issues of the scenario passes, with the reason recorded. */
export function applyKnownIssues(r: PlatformResult, issues: readonly KnownIssue[], notes: string[]): PlatformResult {
  if (r.status !== 'fail' || !r.checks) return r;
  const failing = Object.entries(r.checks).filter(([, c]) => c.status === 'fail');
  const matched = failing.map(([name, c]) => issues.find((i) => i.platform === r.platform && i.check === name && i.matches.test(c.message ?? '')));
  if (matched.some((m) => !m)) return r;
  const why = matched.map((m) => `${m!.check}: ${m!.why}`);
  for (const w of why) notes.push(`${r.platform}: known issue, ${w}`);
  const { message: _message, ...rest } = r;
  return { ...rest, status: 'pass', knownIssues: why };
}
