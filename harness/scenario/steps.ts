/**
 * Step scenarios: a sequence of commands, each step tied to a section of what the scenario
 * reproduces (its reference), recording the command lines as run here, what the reference showed,
 * what happened here, where and why the engine differs, and the assertions that held or failed.
 * Everything a step creates is registered with the run so cleanup removes it.
 */
import { rm } from 'node:fs/promises';
import { docker, type CommandResult, type DockerOptions, parseNodeOption } from '../engine/index.ts';
import { describeFailure, scratchFolder } from '../base/index.ts';
import { type HostProbe, readHandlers, type BinfmtHandler, awaitPreparedImage, type PlacedNode } from '../host/index.ts';
import { startRegistry, type LocalRegistry, type Session } from '../session/index.ts';
import type { PlatformResult, StepResult } from '../result/index.ts';
import { verifyPlatforms } from '../verify/index.ts';
import { type Expectation, parsePlatform, type Platform } from '../platform/index.ts';
import { openImageSource, parseImageTarget } from '../image-source/index.ts';
import { placeNode } from './place-node.ts';
import { BUILDKIT_IMAGE, createsContainerBuilder } from '../build/index.ts';

class StepFailure extends Error {
  override name = 'StepFailure';
}

/** Quotes an argument for display only (commands are never run through a shell). */
function shown(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * `docker ...args` for a scenario's own commands: a docker-container builder first waits for BuildKit's
 * image where another process still prepares it; bounded as every docker command that states no
 * bound (15 min, MULTIARCH_HARNESS_DOCKER_TIMEOUT_MS) unless the options say otherwise; on the engine
 * the work is placed on unless `env` names one; a non-zero exit is returned, not thrown.
 */
async function scenarioDocker(
  args: readonly string[],
  options: DockerOptions,
  onProgress: (message: string) => void,
): Promise<CommandResult> {
  if (createsContainerBuilder(args)) await awaitPreparedImage(BUILDKIT_IMAGE, { onWait: (line) => onProgress(`  ${line}`) });
  return docker(args, { ...options, check: false });
}

export class Step {
  readonly result: StepResult;

  constructor(
    section: string,
    title: string,
    private readonly onProgress: (message: string) => void = () => undefined,
  ) {
    this.result = { section, title, commands: [], observed: [], differences: [], status: 'pass', failures: [], durationMs: 0 };
  }

  /** Runs `docker ...args`, recording the command; a non-zero exit is returned, not thrown. */
  async docker(args: readonly string[], options: DockerOptions = {}): Promise<CommandResult> {
    const host = options.env?.DOCKER_HOST;
    this.result.commands.push([...(host ? [`DOCKER_HOST=${host}`] : []), 'docker', ...args].map(shown).join(' '));
    return scenarioDocker(args, options, this.onProgress);
  }

  /** Like docker(), but the command must succeed (exit 0), or the step fails here. */
  async must(args: readonly string[], options: DockerOptions = {}): Promise<CommandResult> {
    const r = await this.docker(args, options);
    // A command that did not end in time: how long it had, and what sets that.
    if (r.timedOut) throw new StepFailure(describeFailure(r));
    if (r.exitCode !== 0) {
      const last = r.stderr.trim().split('\n').at(-1) ?? '';
      throw new StepFailure(`\`docker ${args.slice(0, 3).join(' ')} ...\` exited ${r.exitCode ?? 'by timeout'}: ${last}`);
    }
    return r;
  }

  /** What the reference showed for this step, in a few words. */
  reference(text: string): void {
    this.result.reference = text;
  }

  saw(text: string): void {
    this.result.observed.push(text);
  }

  differs(why: string): void {
    this.result.differences.push(why);
  }

  /** An assertion: records a failure (the step goes on, so the report shows every problem). */
  check(ok: boolean, message: string): boolean {
    if (!ok) {
      this.result.status = 'fail';
      this.result.failures.push(message);
    }
    return ok;
  }

  checkMatch(text: string, pattern: RegExp, what: string): RegExpExecArray | null {
    const m = pattern.exec(text);
    this.check(m !== null, `${what}: expected ${pattern}, got "${text.trim().replace(/\s+/g, ' ').slice(0, 200)}"`);
    return m;
  }
}

export interface StepsContext {
  ctx: Session;
  probe: HostProbe;
  /** A scratch folder, removed at the end. */
  tmp: string;
  /** The run's registry (started on first use). */
  registry(): Promise<LocalRegistry>;
  /**
   * Runs `docker ...args` as a step's docker() does (bounded, placed, waiting for BuildKit's image
   * where it is still being prepared; a non-zero exit returned, not thrown), but outside any step:
   * not recorded in the report. For the scenario's own housekeeping (what to restore at the end).
   */
  docker(args: readonly string[], options?: DockerOptions): Promise<CommandResult>;
  /** Runs one step; a thrown error fails the step with its message and the scenario goes on. */
  step(section: string, title: string, fn: (s: Step) => Promise<void>): Promise<StepResult>;
  /** Per-platform results the steps produced (shown in the platform matrix). */
  platforms: PlatformResult[];
  /** A local manifest list (docker manifest create) to remove at the end. */
  trackManifestList(ref: string): void;
  /**
   * Verifies an image as `multiarch-harness verify` does (index, config, binary, run per platform),
   * in a registry or local (oci:, oci-archive:, docker-archive:); the results join the scenario's
   * platform matrix and are returned.
   */
  verify(image: string, options?: StepVerifyOptions): Promise<PlatformResult[]>;
  /**
   * Another engine as a node, "linux/arm64,linux/arm/v7=ENDPOINT" as --node takes it: recorded for
   * cleanup, probed there (what it runs, and how); give it to verify() to run those platforms there.
   */
  node(spec: string): Promise<PlacedNode>;
  /** The binfmt_misc handlers of the engine's kernel, read now. */
  handlers(): Promise<BinfmtHandler[]>;
  onProgress: (message: string) => void;
}

export interface StepVerifyOptions {
  /** Default: every platform the index lists. */
  platforms?: ReadonlyArray<string | Platform>;
  expect?: Expectation;
  command?: string[];
  caFile?: string;
  /** Platforms run on other engines (from node()). */
  nodes?: PlacedNode[];
}

export async function createStepsContext(
  ctx: Session,
  probe: HostProbe,
  onProgress: (m: string) => void,
  registryImage?: string,
): Promise<{ t: StepsContext; steps: StepResult[]; registryImage: () => string | undefined }> {
  const steps: StepResult[] = [];
  const tmp = await scratchFolder('steps');
  ctx.defer('removing the scratch folder', () => rm(tmp, { recursive: true, force: true }));
  let registry: Promise<LocalRegistry> | undefined;
  // The image of the registry a step started, for the report (none started: none named).
  let started: string | undefined;
  const t: StepsContext = {
    ctx,
    probe,
    tmp,
    platforms: [],
    onProgress,
    registry: () =>
      (registry ??= startRegistry(ctx, registryImage).then((r) => {
        started = r.image;
        return r;
      })),
    trackManifestList: (ref) => ctx.track({ kind: 'manifest-list', ref }),
    docker: (args, options = {}) => scenarioDocker(args, options, onProgress),
    async verify(image, options = {}) {
      const target = parseImageTarget(image);
      const platforms = options.platforms?.map((p) => (typeof p === 'string' ? parsePlatform(p) : p));
      const source = await openImageSource(target, options.caFile ? { caFile: options.caFile } : {});
      // An image the engine exported (docker-daemon:) is a scratch file: it goes with the session.
      if (source.close) ctx.defer('removing the image the engine exported', () => source.close!());
      const results = await verifyPlatforms({
        ctx,
        probe,
        target,
        source,
        onProgress,
        ...(platforms ? { platforms } : {}),
        ...(options.expect ? { expect: options.expect } : {}),
        ...(options.command ? { command: options.command } : {}),
        ...(options.nodes ? { nodes: options.nodes } : {}),
      });
      t.platforms.push(...results);
      return results;
    },
    handlers: () => readHandlers({ engineIsLocal: probe.engineIsLocal, session: ctx }),
    node: (spec) => placeNode(ctx, parseNodeOption(spec)),
    async step(section, title, fn) {
      const s = new Step(section, title, onProgress);
      const started = performance.now();
      onProgress(`${section} ${title}`);
      try {
        await fn(s);
      } catch (err) {
        s.check(false, err instanceof Error ? err.message : String(err));
      }
      s.result.durationMs = Math.round(performance.now() - started);
      onProgress(`  ${s.result.status.toUpperCase()}${s.result.failures.length ? `: ${s.result.failures.join('; ')}` : ''}`);
      steps.push(s.result);
      return s.result;
    },
  };
  return { t, steps, registryImage: () => started };
}
