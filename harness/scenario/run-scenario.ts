/**
 * Runs a scenario end to end: sweeps what killed sessions left, probes the host, hands the scenario
 * to the runner of its kind (build, verify, steps or bake), and turns the runner's outcome into a report.
 * Whatever happens, the session's resources are cleaned up.
 */
import { Session, sweepStaleSessions } from '../session/index.ts';
import { assertNetworkExists } from '../run-check/index.ts';
import { UsageError, activeSessions } from '../base/index.ts';
import { timed, type Phases, conclude, type SessionReport, type Shard } from '../result/index.ts';
import { checkPlacement, parseNodeOption, type NodeSpec } from '../engine/index.ts';
import { placeNode } from './place-node.ts';
import { type PlacedNode, probeHost, type HostProbe } from '../host/index.ts';
import { formatPlatform } from '../platform/index.ts';
import { parseImageTarget } from '../image-source/index.ts';
import { bakeFilePaths, contextPath, privilegedRefusal, type Scenario } from './define.ts';
import type { SessionOptions, RunnerInput, ScenarioOutcome } from './outcome.ts';

export type { SessionOptions } from './outcome.ts';

/** Refuses, before anything is created, what cannot run: a missing Dockerfile or bake file, a bad image reference or local image name, an engine's image placed on other engines, a privileged scenario not allowed. */
async function assertRunnable(s: Scenario, options: SessionOptions): Promise<void> {
  // The build folder is loaded by build scenarios only (a verify never needs it).
  if (s.kind === 'build') await (await import('../build/index.ts')).assertBuildable(contextPath(s.build.context), s.build.dockerfile);
  if (s.kind === 'verify') parseImageTarget(s.image);
  if (s.kind === 'bake') await (await import('../bake/index.ts')).bakeFiles(bakeFilePaths(s), s.targets);
  if (s.kind === 'steps' && s.privileged && !options.allowPrivileged) throw new UsageError(privilegedRefusal(s));
  checkPlacement(nodeSpecs(s, options));
  if (s.kind === 'verify' && nodeSpecs(s, options).length && isEngineImage(s.image))
    throw new UsageError(
      `--node runs platforms on other engines, and ${s.image} is an image of this engine's store, which they do not hold: verify it without --node.`,
    );
  if (nodeSpecs(s, options).length && s.kind === 'steps')
    throw new UsageError(
      `--node places the platforms of a build or verify scenario; ${s.name} is a steps scenario, whose steps name their engines themselves.`,
    );
  if (options.keepGoing && s.kind === 'bake')
    throw new UsageError(
      `--keep-going builds a build scenario again without the platform that failed; ${s.name} is a bake scenario, whose targets are baked once.`,
    );
  if (options.shard && s.kind !== 'verify')
    throw new UsageError(
      `--shard shares the platforms of a verify among CI jobs; ${s.name} is a ${s.kind} scenario, whose image must be built whole.`,
    );
  await assertNetworkExists(options.network ?? (s.kind === 'steps' ? undefined : s.network));
}

/** Whether the image is one of the current engine's store (docker-daemon:). */
function isEngineImage(image: string): boolean {
  const target = parseImageTarget(image);
  return target.kind === 'local' && target.transport === 'docker-daemon';
}

/** The nodes of the command line, else the scenario's own. */
function nodeSpecs(s: Scenario, options: SessionOptions): NodeSpec[] {
  if (options.nodes?.length) return options.nodes;
  return s.kind === 'steps' ? [] : (s.nodes ?? []).map(parseNodeOption);
}

/** Each node's engine, recorded with the session before any work goes there, and probed there. */
async function probeNodes(session: Session, specs: readonly NodeSpec[], progress: (m: string) => void): Promise<PlacedNode[]> {
  const placed: PlacedNode[] = [];
  for (const spec of specs) placed.push(await placeNode(session, spec, progress));
  return placed;
}

/**
 * The scenario's runner, loaded for its kind (a verify never loads the build and steps machinery)
 * and started on what needs no engine while the engine is probed: a verify reads the image's index
 * from its registry meanwhile (a local image's, before), a bake has buildx resolve its file.
 */
async function startRunner(s: Scenario, options: SessionOptions): Promise<(env: RunnerInput) => Promise<ScenarioOutcome>> {
  switch (s.kind) {
    case 'build': {
      const { runBuildScenario } = await import('./build-runner.ts');
      return (env) => runBuildScenario(s, env);
    }
    case 'verify': {
      const { readVerifyIndex, runVerifyScenario } = await import('./verify-runner.ts');
      const early = await readVerifyIndex(s, options);
      return (env) => runVerifyScenario(s, env, early);
    }
    case 'steps': {
      const { runStepsScenario } = await import('./steps-runner.ts');
      return (env) => runStepsScenario(s, env);
    }
    case 'bake': {
      const { resolveBakeScenario, runBakeScenario } = await import('./bake-runner.ts');
      const early = resolveBakeScenario(s);
      return (env) => runBakeScenario(s, env, early);
    }
  }
}

export async function runScenario(s: Scenario, options: SessionOptions = {}): Promise<SessionReport> {
  await assertRunnable(s, options);
  const started = Date.now();
  const progress = options.onProgress ?? (() => undefined);
  const runner = startRunner(s, options);
  runner.catch(() => undefined);
  // A local image is read as far as its index before the session starts: one that is no image is one
  // sentence, before any engine work (a registry's index is read while the engine is probed).
  if (s.kind === 'verify' && parseImageTarget(s.image).kind === 'local') await runner;
  const session = new Session();
  activeSessions.add(session);
  try {
    // The session's clock: this session's phases, whatever else runs in this process (result/phases.ts).
    const clock = session.phases;
    // At once: the sweep removes only what sessions with no live process left, never this one's probe.
    const [swept, probe] = await Promise.all([
      timed(clock, 'sweep', () => sweepStaleSessions()),
      options.probe ?? timed(clock, 'probe', () => probeHost({ session })),
    ]);
    if (swept) progress(`removed what ${swept} earlier killed session(s) left behind`);
    const nodes = await timed(clock, 'probe', () => probeNodes(session, nodeSpecs(s, options), progress));
    const outcome = await (await runner)({ session, probe, nodes, options, progress });
    const problems = await timed(clock, 'cleanup', () => session.cleanup());
    return reportOf(s, outcome, { started, probe, problems, phasesMs: clock.totals(), ...(options.shard ? { shard: options.shard } : {}) });
  } finally {
    await session.cleanup();
    activeSessions.delete(session);
  }
}

/** What a session adds to its runner's outcome to make a report. */
export interface SessionFacts {
  /** When it started (Date.now()). */
  started: number;
  probe: HostProbe;
  /** What the session's cleanup could not remove. */
  problems: string[];
  phasesMs: Phases;
  shard?: Shard;
}

/**
 * A session's report from its runner's outcome. Every caller's session (verify, run, describeImage, the
 * API) is made here, so here a session that verified nothing fails (result/model.ts, conclude), with
 * the runner's reason, or the scenario's.
 */
export function reportOf(s: Scenario, outcome: ScenarioOutcome, session: SessionFacts): SessionReport {
  const { probe } = session;
  const nothingBecause =
    outcome.nothingBecause ?? `the ${s.kind} scenario ${s.name} has no platform to check${s.kind === 'steps' ? ' and no step to run' : ''}`;
  return {
    schemaVersion: 2,
    kind: s.kind,
    scenario: s.name,
    title: s.title,
    ...(s.reference ? { reference: s.reference } : {}),
    startedAt: new Date(session.started).toISOString(),
    durationMs: Date.now() - session.started,
    host: {
      engine: probe.engineVersion,
      native: formatPlatform(probe.native),
      imageStore: probe.imageStore,
      ...(probe.buildxVersion ? { buildx: probe.buildxVersion } : {}),
      kernel: probe.kernel,
    },
    ...(outcome.image ? { image: outcome.image } : {}),
    ...(outcome.registryImage ? { registryImage: outcome.registryImage } : {}),
    ...(outcome.targets ? { targets: outcome.targets } : {}),
    platforms: outcome.platforms,
    ...(outcome.steps ? { steps: outcome.steps } : {}),
    ...conclude(outcome.platforms, outcome.steps, nothingBecause),
    notes: [...outcome.notes, ...session.problems.map((p) => `cleanup: ${p}`)],
    ...(session.shard && s.kind === 'verify' ? { shard: session.shard } : {}),
    phasesMs: session.phasesMs,
  };
}
