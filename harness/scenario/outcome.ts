/**
 * What every scenario runner takes and returns: the options of a session, what the runner is given
 * (session, host, progress), and its outcome, which run-scenario.ts turns into a report.
 */
import type { Session } from '../session/index.ts';
import type { HostProbe, PlacedNode } from '../host/index.ts';
import type { Platform } from '../platform/index.ts';
import type { Shard, PlatformResult, SessionReport, StepResult, Progress } from '../result/index.ts';
import type { NodeSpec } from '../engine/index.ts';

/** What one session (one scenario verified, built or stepped through, from start to cleanup) is asked to do. */
export interface SessionOptions {
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
  onProgress?: Progress;
  probe?: HostProbe;
  /**
   * Platforms placed on other engines (--node PLATFORMS=ENDPOINT): their probe, runs and cleanup go
   * there, and build scenarios build them on a builder node on that engine.
   */
  nodes?: NodeSpec[];
  /** Globs of paths whose ELF files are foreign on purpose (--allow-foreign), besides the scenario's own. */
  allowForeign?: string[];
  /** The network the run check's containers join (--network); the scenario's, else none. */
  network?: string;
  /** Verify: only this stable share of the platforms (shard.ts), so a CI matrix of n jobs covers each once. */
  shard?: Shard;
  /** The image the run's own registry is (--registry-image), when it starts one: registry:2 unless told (local-registry.ts). */
  registryImage?: string;
}

/** The run-check options a scenario and the command line both give: the command line's add to (or replace) the scenario's. */
export function checkOptions(
  s: { allowForeign?: string[]; network?: string },
  options: SessionOptions,
): {
  allowForeign: string[];
  allowSkip: boolean;
  network?: string;
  concurrency?: number;
} {
  const network = options.network ?? s.network;
  return {
    allowForeign: [...(s.allowForeign ?? []), ...(options.allowForeign ?? [])],
    allowSkip: Boolean(options.allowSkip),
    ...(network ? { network } : {}),
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
  };
}

/** What a runner is given besides its scenario. */
export interface RunnerInput {
  session: Session;
  probe: HostProbe;
  /** The nodes platforms are placed on, each probed on its own engine. */
  nodes: PlacedNode[];
  options: SessionOptions;
  progress: Progress;
}

/** What a runner found: the platform results (in the order asked for), steps, the image, notes for the reader. */
export interface ScenarioOutcome {
  platforms: PlatformResult[];
  steps?: StepResult[];
  image?: SessionReport['image'];
  /** Bake scenarios: each target and the image it pushed. */
  targets?: SessionReport['targets'];
  /** The image the run's own registry was, when the runner started one. */
  registryImage?: string;
  notes: string[];
  /**
   * Why there was nothing to verify, when the runner had no platform and no step ("the index of X
   * lists no platform"): the report's failure says so (result/model.ts, conclude).
   */
  nothingBecause?: string;
}
