/**
 * The build scenario's runner: classify each platform once, start the run's registry, build and push
 * every runnable platform in one buildx build, then verify the pushed image like any other.
 */
import {
  buildAndPush,
  platformOfVertex,
  buildLeavingOut,
  emulatedOf,
  hungPlatforms,
  leftOutNote,
  notBuilt,
  chooseBuilder,
} from '../build/index.ts';
import { verifyPlatforms } from '../verify/index.ts';
import { type PlatformExecution, expectedText, formatPlatform, parsePlatform } from '../platform/index.ts';
import { classifyPlaced, placementOf } from '../host/index.ts';
import { RegistryClient, withBlobCache, parseImageRef } from '../registry/index.ts';
import { timed, unverifiedResult, type PlatformResult, type SessionReport } from '../result/index.ts';
import { registryUpLine, startRegistry, type LocalRegistry } from '../session/index.ts';
import { contextPath, type BuildScenario } from './define.ts';
import { applyKnownIssues, knownIssueNotes } from './known-issues.ts';
import { checkOptions, type RunnerInput, type ScenarioOutcome } from './outcome.ts';
import { EnvironmentError } from '../base/index.ts';

const BUILD_TIMEOUT_MS = 45 * 60_000;

export async function runBuildScenario(s: BuildScenario, env: RunnerInput): Promise<ScenarioOutcome> {
  const { session, probe, options, progress } = env;
  const platforms = options.platforms ?? s.platforms.map(parsePlatform);
  const executions = platforms.map((p) => classifyPlaced(p, probe, env.nodes));
  const results = new Map<string, PlatformResult>();
  const notes: string[] = [];
  const unverified = (e: PlatformExecution, status: 'fail' | 'skip', message: string) => {
    const placed = placementOf(e.platform, probe, env.nodes);
    return { ...unverifiedResult(e, expectedText(s.expect, e, placed.probe.native), status, message), node: placed.engineName };
  };
  for (const e of executions.filter((x) => x.mode === 'unavailable')) {
    results.set(
      formatPlatform(e.platform),
      unverified(e, options.allowSkip ? 'skip' : 'fail', `${formatPlatform(e.platform)} cannot run here: ${e.reason}`),
    );
  }
  const runnable = executions.filter((x) => x.mode !== 'unavailable');
  let image: SessionReport['image'];
  let registryImage: string | undefined;
  if (runnable.length > 0) {
    const registry = await timed(session.phases, 'registry', () => startRegistry(session, options.registryImage));
    progress(registryUpLine(registry));
    registryImage = registry.image;
    const tag = `${registry.address}/${s.build.repository}:${session.id}`;
    // With the containerd image store, --push also keeps the image in the engine's store: recorded before the build.
    session.trackImage(tag);
    const builder = await chooseBuilder(
      session,
      probe,
      options.builder,
      runnable.map((e) => e.platform),
      env.nodes,
      (line) => progress(line),
    );
    notes.push(builder.note);
    progress(`building ${runnable.map((e) => formatPlatform(e.platform)).join(', ')} with the builder ${builder.name}`);
    for (const e of runnable) progress('', { platform: formatPlatform(e.platform), state: 'building' });
    const attempts = await timed(session.phases, 'build', () =>
      buildLeavingOut(
        runnable,
        (platforms) =>
          buildAndPush({
            context: contextPath(s.build.context),
            ...(s.build.dockerfile ? { dockerfile: s.build.dockerfile } : {}),
            platforms,
            tag,
            labels: session.labels,
            provenance: s.build.provenance ?? false,
            builder: builder.name,
            timeoutMs: BUILD_TIMEOUT_MS,
            noCache: Boolean(options.noCache),
            onVertex: (name) => {
              if (name.startsWith('[internal]')) return;
              const platform = platformOfVertex(name);
              progress(`  ${name}`, platform ? { platform, state: `building: ${name.replace(/^\[[^\]]*\]\s*/, '')}` } : undefined);
            },
            ...(probe.engineIsLocal ? { emulated: emulatedOf(runnable) } : {}),
          }),
        Boolean(options.keepGoing),
        progress,
      ),
    );
    // A platform not built while the run's own registry is gone is the harness's failure, not the image's.
    if (notBuilt(attempts).length > 0) await requireRegistry(registry, 'during the build');
    const suspects = hungPlatforms(attempts);
    for (const [e, message] of notBuilt(attempts)) {
      const r = unverified(e, 'fail', message);
      results.set(r.platform, suspects.has(r.platform) ? { ...r, emulatorSuspect: true } : r);
    }
    const note = leftOutNote(attempts, Boolean(options.keepGoing));
    if (note) notes.push(note);
    const build = attempts.build;
    if (build) {
      image = { ref: tag, digest: build.digest, mediaType: build.mediaType, buildMs: build.totalMs };
      notes.push(
        "Per-platform build times come from BuildKit's rawjson progress stream of one multi-platform build (union of each platform's step intervals; platforms build concurrently).",
      );
      if (build.retried.length) {
        notes.push(
          `The build was tried again after ${build.retried.length === 1 ? 'a transient failure' : `${build.retried.length} transient failures`} (${build.retried.map((m) => m.replace(/\s+/g, ' ').slice(0, 300)).join('; ')}); the build phase's time counts every attempt, the per-platform times only the last.`,
        );
      }
      const ref = parseImageRef(tag);
      const verified = await verifyPlatforms({
        ctx: session,
        probe,
        nodes: env.nodes,
        target: { kind: 'registry', ref },
        source: withBlobCache(RegistryClient.for(ref)),
        executions: attempts.attempted,
        expect: s.expect,
        ...(s.command ? { command: s.command } : {}),
        ...checkOptions(s, options),
        onProgress: progress,
      });
      if (verified.some((v) => v.status === 'fail')) await requireRegistry(registry, 'while the image was being verified');
      const settled = verified.map((v) => applyKnownIssues(v, s.knownIssues ?? []));
      notes.push(...knownIssueNotes(settled));
      for (const r of settled) {
        const buildMs = build.perPlatformMs[r.platform];
        const builtOn = builder.memberOf?.(r.platform);
        results.set(r.platform, { ...r, ...(buildMs !== undefined ? { buildMs } : {}), ...(builtOn ? { builtOn } : {}) });
        progress(`${r.status.toUpperCase()} ${r.platform} (${r.mode}) ${r.output.split('\n')[0] ?? ''}`, {
          platform: r.platform,
          state: r.status,
        });
      }
    }
  }
  return {
    platforms: platforms.map((p) => results.get(formatPlatform(p))!),
    ...(image ? { image } : {}),
    ...(registryImage ? { registryImage } : {}),
    notes,
  };
}

/** One sentence (exit 2) when the run's own registry no longer answers: nothing it held can be judged. */
async function requireRegistry(registry: LocalRegistry, when: string): Promise<void> {
  if (await registry.answers()) return;
  throw new EnvironmentError(
    `The run's registry ${registry.address} stopped answering ${when}, so the image could not be verified (the registry's failure, not the image's).`,
  );
}
