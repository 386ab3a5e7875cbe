/**
 * Runs a build scenario end to end: classify platforms, start the run's registry, build and push
 * every runnable platform in one buildx build, run each platform pinned by its manifest digest,
 * judge the output, and clean up whatever happens.
 */
import pLimit from 'p-limit';
import { assertBuildable, buildAndPush, type BuildResult } from './build.ts';
import { DockerError } from './docker.ts';
import { classify, type PlatformExecution } from './execution-mode.ts';
import { describeExpectation, judge } from './expectations.ts';
import { probeHost, type HostProbe } from './host-probe.ts';
import { parseImageRef, pinned } from './image-ref.ts';
import { startRegistry } from './local-registry.ts';
import { formatPlatform, parsePlatform, samePlatform, type Platform } from './platform.ts';
import { fetchManifest, platformEntries, type IndexEntry } from './registry-client.ts';
import type { PlatformResult, RunReport } from './report/types.ts';
import { RunContext, sweepStaleRuns } from './run-context.ts';
import { BASE_RUN_TIMEOUT_MS, runPinned } from './run-platform.ts';
import { contextPath, type Scenario } from './scenario.ts';

export interface RunOptions {
  platforms?: Platform[];
  /** A requested platform that cannot run here is a skip instead of a failure. */
  allowSkip?: boolean;
  builder?: string;
  concurrency?: number;
  onProgress?: (message: string) => void;
  probe?: HostProbe;
}

/** Runs in progress, so a signal handler can clean them up. */
export const activeRuns = new Set<RunContext>();

const BUILD_TIMEOUT_MS = 45 * 60_000;
/** Exit codes of a process killed by SIGILL, SIGABRT, SIGBUS, SIGSEGV: typical of emulator faults. */
const CRASH_CODES = new Set([132, 134, 135, 139]);

export async function runScenario(s: Scenario, options: RunOptions = {}): Promise<RunReport> {
  const started = Date.now();
  const progress = options.onProgress ?? (() => undefined);
  const platforms = options.platforms ?? s.platforms.map(parsePlatform);
  const context = contextPath(s.build.context);
  await assertBuildable(context, s.build.dockerfile);

  const ctx = new RunContext();
  activeRuns.add(ctx);
  try {
    const swept = await sweepStaleRuns();
    if (swept) progress(`removed what ${swept} earlier killed run(s) left behind`);
    const probe = options.probe ?? (await probeHost({ labels: ctx.labels }));
    const executions = platforms.map((p) => classify(p, probe));
    const results = new Map<string, PlatformResult>();
    for (const e of executions.filter((x) => x.mode === 'unavailable')) {
      results.set(formatPlatform(e.platform), {
        platform: formatPlatform(e.platform), mode: e.mode, status: options.allowSkip ? 'skip' : 'fail',
        expected: describeExpectation(s.expect, e), output: '', durationMs: 0,
        message: `${formatPlatform(e.platform)} cannot run here: ${e.reason}`, ...(e.fix ? { fix: e.fix } : {}),
      });
    }
    const runnable = executions.filter((x) => x.mode !== 'unavailable');
    let image: RunReport['image'];
    const notes: string[] = [];
    if (runnable.length > 0) {
      const registry = await startRegistry(ctx);
      progress(`registry ${registry.address} is up`);
      const tag = `${registry.address}/${s.build.repository}:${ctx.id}`;
      progress(`building ${runnable.map((e) => formatPlatform(e.platform)).join(', ')}`);
      let build: BuildResult | undefined;
      try {
        build = await buildAndPush({
          context, ...(s.build.dockerfile ? { dockerfile: s.build.dockerfile } : {}),
          platforms: runnable.map((e) => e.platform), tag, labels: ctx.labels,
          provenance: s.build.provenance ?? false, builder: options.builder ?? 'default', timeoutMs: BUILD_TIMEOUT_MS,
          onVertex: (name) => { if (!name.startsWith('[internal]')) progress(`  ${name}`); },
        });
      } catch (err) {
        if (!(err instanceof DockerError)) throw err;
        for (const e of runnable) results.set(formatPlatform(e.platform), failed(e, s, `the build failed: ${err.message}`));
      }
      if (build) {
        image = { ref: tag, digest: build.digest, mediaType: build.mediaType, buildMs: build.totalMs };
        notes.push('Per-platform build times come from BuildKit\'s rawjson progress stream of one multi-platform build (union of each platform\'s step intervals; platforms build concurrently).');
        const ref = parseImageRef(tag);
        const index = await fetchManifest(ref);
        const entries: IndexEntry[] = index.body.manifests
          ? platformEntries(index)
          : [{ platform: runnable[0]!.platform, digest: index.digest, mediaType: index.mediaType }];
        const limit = pLimit(options.concurrency ?? 2);
        await Promise.all(
          runnable.map((e) =>
            limit(async () => {
              const r = await runOne(ctx, s, e, entries, ref, build!.perPlatformMs[formatPlatform(e.platform)]);
              progress(`${r.status === 'pass' ? 'PASS' : 'FAIL'} ${r.platform} (${r.mode}) ${r.output.split('\n')[0] ?? ''}`);
              results.set(r.platform, r);
            }),
          ),
        );
      }
    }
    const ordered = platforms.map((p) => results.get(formatPlatform(p))!);
    const problems = await ctx.cleanup();
    for (const p of problems) notes.push(`cleanup: ${p}`);
    return {
      schemaVersion: 1,
      scenario: s.name,
      title: s.title,
      ...(s.article ? { article: s.article } : {}),
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      host: {
        engine: probe.engineVersion, native: formatPlatform(probe.native), imageStore: probe.imageStore,
        ...(probe.buildxVersion ? { buildx: probe.buildxVersion } : {}), kernel: probe.kernel,
      },
      ...(image ? { image } : {}),
      platforms: ordered,
      summary: {
        passed: ordered.filter((r) => r.status === 'pass').length,
        failed: ordered.filter((r) => r.status === 'fail').length,
        skipped: ordered.filter((r) => r.status === 'skip').length,
      },
      notes,
    };
  } finally {
    await ctx.cleanup();
    activeRuns.delete(ctx);
  }
}

function failed(e: PlatformExecution, s: Scenario, message: string): PlatformResult {
  return {
    platform: formatPlatform(e.platform), mode: e.mode, status: 'fail', expected: describeExpectation(s.expect, e),
    output: '', durationMs: 0, message, ...(e.emulator ? { emulator: e.emulator } : {}),
  };
}

async function runOne(
  ctx: RunContext, s: Scenario, e: PlatformExecution, entries: IndexEntry[], ref: ReturnType<typeof parseImageRef>, buildMs: number | undefined,
): Promise<PlatformResult> {
  const platform = formatPlatform(e.platform);
  const entry = entries.find((x) => samePlatform(x.platform, e.platform));
  if (!entry) return failed(e, s, `the pushed index has no entry for ${platform}.`);
  const timeoutMs = BASE_RUN_TIMEOUT_MS * e.timeoutFactor;
  const run = await runPinned(ctx, pinned(ref, entry.digest), e.platform, { timeoutMs, ...(s.command ? { command: s.command } : {}) });
  const verdict = judge(s.expect, e, run.stdout);
  const crashed = run.exitCode !== undefined && CRASH_CODES.has(run.exitCode);
  const emulatorSuspect = e.mode === 'qemu' && (run.timedOut || crashed);
  let message = verdict.message;
  if (run.timedOut) message = `the run did not finish within ${timeoutMs / 1000} s${e.mode === 'qemu' ? ' (a hang under QEMU)' : ''}.`;
  else if (run.exitCode !== 0) message = `the container exited with ${run.exitCode}${crashed && e.mode === 'qemu' ? ' (a crash under QEMU)' : ''}: ${run.stderr.split('\n').at(-1) ?? ''}`.trim();
  const pass = verdict.pass && run.exitCode === 0 && !run.timedOut;
  return {
    platform, mode: e.mode, status: pass ? 'pass' : 'fail', expected: verdict.expected, output: run.stdout.trim(),
    durationMs: run.durationMs, ...(buildMs !== undefined ? { buildMs } : {}), digest: entry.digest,
    ...(run.exitCode !== undefined ? { exitCode: run.exitCode } : {}),
    ...(pass || !message ? {} : { message }), ...(e.emulator ? { emulator: e.emulator } : {}),
    ...(emulatorSuspect ? { emulatorSuspect } : {}),
  };
}
