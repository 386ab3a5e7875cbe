/**
 * The bake scenario's runner: buildx resolves the bake file (while the engine is probed), each
 * target's platforms are classified once (narrowed by --platforms; none in the file: the engine's
 * own), the session's registry starts as for a build, one `buildx bake --push` builds every target
 * with a runnable platform, and each target's pushed image is verified like any other. Every
 * platform result names its target, and the report lists the targets and their images.
 */
import { allowances, bakeAndPush, BakeFailedError, bakeFiles, describeFiles, resolveBake, type BakePlan } from '../bake/index.ts';
import type { BakeTarget } from '../bake/index.ts';
import { chooseBuilder, platformOfVertex } from '../build/index.ts';
import { verifyPlatforms } from '../verify/index.ts';
import {
  type Expectation,
  type Platform,
  type PlatformExecution,
  expectedText,
  formatPlatform,
  parsePlatform,
  samePlatform,
} from '../platform/index.ts';
import { classifyPlaced, placementOf } from '../host/index.ts';
import { RegistryClient, withBlobCache, parseImageRef } from '../registry/index.ts';
import { timed, unverifiedResult, type PlatformResult, type Progress, type TargetResult } from '../result/index.ts';
import { registryUpLine, startRegistry, type LocalRegistry } from '../session/index.ts';
import { EnvironmentError, UsageError } from '../base/index.ts';
import { EngineError } from '../engine/index.ts';
import { bakeFilePaths, type BakeScenario } from './define.ts';
import { checkOptions, type RunnerInput, type ScenarioOutcome, type SessionOptions } from './outcome.ts';

const BAKE_TIMEOUT_MS = 45 * 60_000;

/** What buildx made of the scenario's bake file: its files, and the targets it would build. */
export interface ResolvedBake {
  bake: Awaited<ReturnType<typeof bakeFiles>>;
  targets: BakeTarget[];
}

/** Has buildx resolve the bake file (`--print`); started before the engine is probed, awaited by the run. */
export function resolveBakeScenario(s: BakeScenario): Promise<ResolvedBake> {
  const resolved = (async () => {
    const bake = await bakeFiles(bakeFilePaths(s), s.targets);
    return { bake, targets: (await resolveBake(bake)).targets };
  })();
  resolved.catch(() => undefined);
  return resolved;
}

/** One target's platforms here: how each runs, and which of them the bake builds. */
interface TargetWork {
  target: BakeTarget;
  executions: PlatformExecution[];
  runnable: PlatformExecution[];
}

export async function runBakeScenario(s: BakeScenario, env: RunnerInput, early = resolveBakeScenario(s)): Promise<ScenarioOutcome> {
  const { session, probe, options, progress } = env;
  const { bake, targets } = await early;
  checkExpectations(s, targets, bake.files);
  const notes: string[] = [];
  const narrowing = options.platforms ?? s.platforms?.map(parsePlatform);
  const work: TargetWork[] = targets.map((target) => {
    const own = target.platforms.length ? target.platforms.map(parsePlatform) : [probe.native];
    const platforms = narrowing ? own.filter((p) => narrowing.some((q) => samePlatform(p, q))) : own;
    const executions = platforms.map((p) => classifyPlaced(p, probe, env.nodes));
    return { target, executions, runnable: executions.filter((e) => e.mode !== 'unavailable') };
  });
  notes.push(...narrowingNotes(work, narrowing, options));
  const results = new Map<string, PlatformResult>();
  const key = (target: string, platform: string) => `${target} ${platform}`;
  const unverified = (target: string, e: PlatformExecution, status: 'fail' | 'skip', message: string): PlatformResult => {
    const placed = placementOf(e.platform, probe, env.nodes);
    const expect = expectationOf(s, target);
    return { ...unverifiedResult(e, expectedText(expect, e, placed.probe.native), status, message), target, node: placed.engineName };
  };
  for (const w of work)
    for (const e of w.executions.filter((x) => x.mode === 'unavailable')) {
      const r = unverified(
        w.target.name,
        e,
        options.allowSkip ? 'skip' : 'fail',
        `${formatPlatform(e.platform)} cannot run here: ${e.reason}`,
      );
      results.set(key(w.target.name, r.platform), r);
    }
  const built = work.filter((w) => w.runnable.length > 0);
  const reported: TargetResult[] = [];
  let registryImage: string | undefined;
  if (built.length > 0) {
    const registry = await timed(session.phases, 'registry', () => startRegistry(session, options.registryImage));
    progress(registryUpLine(registry));
    registryImage = registry.image;
    const repositories = repositoryNames(built.map((w) => w.target.name));
    const plans: BakePlan[] = built.map((w) => ({
      name: w.target.name,
      platforms: w.runnable.map((e) => e.platform),
      tag: `${registry.address}/${session.id}/${repositories.get(w.target.name)}:latest`,
    }));
    // With the containerd image store, --push also keeps each image in the engine's store: recorded before the bake.
    for (const p of plans) session.trackImage(p.tag);
    const union = unionOf(plans.flatMap((p) => p.platforms));
    const builder = await chooseBuilder(session, probe, options.builder, union, env.nodes, (line) => progress(line));
    notes.push(builder.note);
    progress(
      `baking ${plans.map((p) => `${p.name} (${p.platforms.map(formatPlatform).join(', ')})`).join('; ')} with the builder ${builder.name}`,
    );
    for (const p of plans)
      for (const platform of p.platforms) progress('', { platform: key(p.name, formatPlatform(platform)), state: 'building' });
    const replaced = built.filter((w) => w.target.outputs.some((o) => !/^type=(image|registry)\b/.test(o)));
    if (replaced.length)
      notes.push(
        `The bake file's own outputs (${replaced.map((w) => `${w.target.name}: ${w.target.outputs.join('; ')}`).join(', ')}) were replaced by a push to the session's registry: the pushed image is what is verified.`,
      );
    let baked: Awaited<ReturnType<typeof bakeAndPush>> | undefined;
    try {
      baked = await timed(session.phases, 'build', () =>
        bakeAndPush({
          bake,
          targets: plans,
          builder: builder.name,
          labels: session.labels,
          provenance: s.provenance ?? false,
          noCache: Boolean(options.noCache),
          timeoutMs: BAKE_TIMEOUT_MS,
          allowRead: allowances(
            built.map((w) => w.target),
            bake.cwd,
            probe.buildxVersion,
          ),
          onVertex: (target, name) => {
            if (name.startsWith('[internal]')) return;
            const platform = platformOfVertex(name) ?? onlyPlatform(plans, target);
            progress(
              `  ${target}: ${name}`,
              platform ? { platform: key(target, platform), state: `building: ${name.replace(/^\[[^\]]*\]\s*/, '')}` } : undefined,
            );
          },
        }),
      );
    } catch (err) {
      if (!(err instanceof EngineError)) throw err;
      // A platform not built while the run's own registry is gone is the harness's failure, not the image's.
      await requireRegistry(registry, 'during the bake');
      for (const w of built)
        for (const e of w.runnable) {
          const r = unverified(w.target.name, e, 'fail', whyNotBuilt(err, w.target.name, formatPlatform(e.platform)));
          results.set(key(w.target.name, r.platform), r);
        }
    }
    for (const p of plans) {
      const done = baked?.targets[p.name];
      reported.push({ name: p.name, ref: p.tag, ...(done ? { digest: done.digest, buildMs: done.buildMs } : {}) });
    }
    if (baked) {
      notes.push(
        "Per-platform build times come from BuildKit's rawjson progress stream of one bake, per target (union of each platform's step intervals; targets and platforms build concurrently).",
      );
      if (baked.retried.length)
        notes.push(
          `The bake was tried again after ${baked.retried.length === 1 ? 'a transient failure' : `${baked.retried.length} transient failures`} (${baked.retried.map((m) => m.replace(/\s+/g, ' ').slice(0, 300)).join('; ')}); the build phase's time counts every attempt, the per-platform times only the last.`,
        );
      for (const w of built) {
        const target = w.target.name;
        const plan = plans.find((p) => p.name === target)!;
        const done = baked.targets[target]!;
        const ref = parseImageRef(`${plan.tag}@${done.digest}`);
        const expect = expectationOf(s, target);
        const verified = await verifyPlatforms({
          ctx: session,
          probe,
          nodes: env.nodes,
          target: { kind: 'registry', ref },
          source: withBlobCache(RegistryClient.for(ref)),
          executions: w.runnable,
          ...(expect ? { expect } : {}),
          ...(s.command ? { command: s.command } : {}),
          ...checkOptions(s, options),
          onProgress: targetProgress(progress, target),
        });
        if (verified.some((v) => v.status === 'fail')) await requireRegistry(registry, 'while the images were being verified');
        for (const r of verified) {
          const buildMs = done.perPlatformMs[r.platform];
          const builtOn = builder.memberOf?.(r.platform);
          results.set(key(target, r.platform), {
            ...r,
            target,
            ...(buildMs !== undefined ? { buildMs } : {}),
            ...(builtOn ? { builtOn } : {}),
          });
          progress(`${r.status.toUpperCase()} ${target} ${r.platform} (${r.mode}) ${r.output.split('\n')[0] ?? ''}`, {
            platform: key(target, r.platform),
            state: r.status,
          });
        }
      }
    }
  }
  // The targets in the bake file's order, each target's platforms in the order it lists them; a target with none here is left out.
  const platforms = work.flatMap((w) => w.executions.map((e) => results.get(key(w.target.name, formatPlatform(e.platform)))!));
  const listed = work.filter((w) => w.executions.length > 0).map((w) => w.target.name);
  const targetResults = listed.map((name) => reported.find((t) => t.name === name) ?? { name, ref: '' });
  return {
    platforms,
    ...(targetResults.length ? { targets: targetResults } : {}),
    ...(registryImage ? { registryImage } : {}),
    notes,
    ...(platforms.length ? {} : { nothingBecause: whyNothing(s, work, narrowing, bake.files) }),
  };
}

/** The expectation of a target: the scenario's one, or its entry in the scenario's map by target. */
export function expectationOf(s: BakeScenario, target: string): Expectation | undefined {
  if (!s.expect) return undefined;
  if (isExpectation(s.expect)) return s.expect;
  return Object.hasOwn(s.expect, target) ? s.expect[target] : undefined;
}

function isExpectation(e: Expectation | Record<string, Expectation>): e is Expectation {
  return typeof (e as { kind?: unknown }).kind === 'string';
}

/** A map of expectations that names a target the bake does not build: one sentence (exit 2), before anything is built. */
export function checkExpectations(s: BakeScenario, targets: readonly BakeTarget[], files: readonly string[]): void {
  if (!s.expect || isExpectation(s.expect)) return;
  const names = new Set(targets.map((t) => t.name));
  const unknown = Object.keys(s.expect).filter((k) => !names.has(k));
  if (unknown.length)
    throw new UsageError(
      `The scenario ${s.name} expects output of ${unknown.length === 1 ? 'the target' : 'the targets'} ${unknown.join(', ')}, which ${describeFiles(files)} does not build (it builds ${[...names].join(', ')}).`,
    );
}

/** Each target's repository on the session's registry: its name in lower case, made unique. */
export function repositoryNames(targets: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const taken = new Set<string>();
  for (const t of targets) {
    const base =
      t
        .toLowerCase()
        .replace(/[^a-z0-9._-]+/g, '-')
        .replace(/^[._-]+|[._-]+$/g, '') || 'target';
    let name = base;
    for (let i = 2; taken.has(name); i++) name = `${base}-${i}`;
    taken.add(name);
    out.set(t, name);
  }
  return out;
}

/** The platforms of several targets, each once, in the order they come. */
function unionOf(platforms: readonly Platform[]): Platform[] {
  const out: Platform[] = [];
  for (const p of platforms) if (!out.some((q) => samePlatform(p, q))) out.push(p);
  return out;
}

/** A target built for one platform names no platform in its steps: they are that platform's. */
function onlyPlatform(plans: readonly BakePlan[], target: string): string | undefined {
  const platforms = plans.find((p) => p.name === target)?.platforms ?? [];
  return platforms.length === 1 ? formatPlatform(platforms[0]!) : undefined;
}

/** A target's progress: its platforms' rows keyed by target and platform, so two targets' linux/amd64 are two rows. */
function targetProgress(progress: Progress, target: string): Progress {
  return (message, state) =>
    progress(message ? `${target}: ${message}` : message, state ? { ...state, platform: `${target} ${state.platform}` } : undefined);
}

/**
 * Why a platform of a failed bake was not built: the step that failed first says so for its own
 * platform (or every platform of its target, when the step names none); the others were stopped because of it.
 */
export function whyNotBuilt(err: EngineError, target: string, platform: string): string {
  if (!(err instanceof BakeFailedError) || !err.failure)
    return err instanceof BakeFailedError ? err.message : `the bake failed: ${err.message}`;
  const { target: failed, cause } = err.failure;
  if (failed === target && (!cause.platform || cause.platform === platform)) return err.message;
  return `not built: BuildKit stopped it because the bake of ${failed}${cause.platform ? ` for ${cause.platform}` : ''} failed first (at ${cause.step}: ${cause.error})`;
}

/** What --platforms (or the scenario's platforms) left out, for the report. */
function narrowingNotes(work: readonly TargetWork[], narrowing: Platform[] | undefined, options: SessionOptions): string[] {
  if (!narrowing) return [];
  const by = options.platforms ? '--platforms' : "the scenario's platforms";
  const notes: string[] = [];
  const none = work.filter((w) => w.executions.length === 0).map((w) => w.target.name);
  if (none.length) notes.push(`Not built: ${none.join(', ')}, which ${by} leave${none.length === 1 ? 's' : ''} no platform.`);
  const unused = narrowing.filter((p) => !work.some((w) => w.executions.some((e) => samePlatform(e.platform, p))));
  if (unused.length)
    notes.push(
      `${unused.map(formatPlatform).join(', ')}, asked for by ${by}, ${unused.length === 1 ? 'is' : 'are'} no platform of any target.`,
    );
  return notes;
}

/** Why a bake verified nothing (the run then fails: result/model.ts, conclude). */
function whyNothing(s: BakeScenario, work: readonly TargetWork[], narrowing: Platform[] | undefined, files: readonly string[]): string {
  if (narrowing?.length === 0) return 'no platform was asked for';
  if (narrowing)
    return `none of the platforms asked for (${narrowing.map(formatPlatform).join(', ')}) is a platform of a target of ${describeFiles(files)} (${work
      .map((w) => `${w.target.name}: ${w.target.platforms.join(', ') || 'the default platform'}`)
      .join('; ')})`;
  return `the bake scenario ${s.name} has no platform to check`;
}

/** One sentence (exit 2) when the run's own registry no longer answers: nothing it held can be judged. */
async function requireRegistry(registry: LocalRegistry, when: string): Promise<void> {
  if (await registry.answers()) return;
  throw new EnvironmentError(
    `The run's registry ${registry.address} stopped answering ${when}, so the images could not be verified (the registry's failure, not the images').`,
  );
}
