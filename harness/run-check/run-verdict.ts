/**
 * What the run check and its second opinion share: their input, what a run found, and the verdict
 * on one run (hung, timed out, failed, or printed what was expected).
 */
import { CRASH_CODES, noneNetworkStyle, type HostsStyle } from '../engine/index.ts';
import type { Session, ContainerResult } from '../session/index.ts';
import type { HostProbe } from '../host/index.ts';
import type { EntryBinary } from '../image/index.ts';
import { type PlatformExecution, judge, type Expectation, formatPlatform } from '../platform/index.ts';
import { fail, pass, type CheckResult, type PlatformResult, type Progress } from '../result/index.ts';

/** What a second opinion needs of the entry program: its command line (not its bytes). */
export type CommandLineOf = Pick<EntryBinary, 'argv' | 'chain'>;

export interface RunCheckInput {
  ctx: Session;
  probe: HostProbe;
  exec: PlatformExecution;
  /** The platform's manifest, pinned (repo@sha256:...), or the name its local image is loaded under. */
  image: string;
  /** A local image: its platform loaded into the engine (once, shared with the structure tests) instead of pulled. */
  load?: () => Promise<void>;
  expect?: Expectation;
  command?: string[];
  /**
   * The entry binary the binary check resolved: a second opinion runs its command line. A promise
   * when the run starts before the binary check ends (they overlap; only a second opinion waits).
   */
  binary?: CommandLineOf | Promise<CommandLineOf | undefined>;
  allowSkip?: boolean;
  onProgress?: Progress;
  /** Whether the engine had the pinned image before this run, when the caller asked already (one call for all platforms). */
  present?: boolean;
  /** The network its container joins (docker run --network). */
  network?: string;
}

/** What the run found, besides its check: the fields of the platform result it fills. */
export type RunFindings = Pick<
  PlatformResult,
  'output' | 'durationMs' | 'exitCode' | 'emulatorSuspect' | 'secondOpinion' | 'decidedBy' | 'fix'
>;

/** The run check for one run: hung, timed out, failed, or printed what was expected. */
/** How this host's engine takes a run on no network (engine/none-network.ts): the one place the run check and its second opinion ask. */
export function noneFilesOf(probe: HostProbe): HostsStyle | undefined {
  return noneNetworkStyle({ local: probe.engineIsLocal, dockerEngine: probe.dockerEngine === true, version: probe.engineVersion });
}

export function judgeRun(
  run: ContainerResult,
  exec: PlatformExecution,
  expect: Expectation | undefined,
  probe: HostProbe,
  timeoutMs: number,
): CheckResult {
  const qemu = exec.mode === 'qemu';
  if (run.hung)
    return fail(`it hung under QEMU: no CPU time and no output for ${Math.round(run.hung.idleMs / 1000)} s, so the harness stopped it`);
  if (run.timedOut) return fail(`the run did not finish within ${timeoutMs / 1000} s${qemu ? ' (a hang under QEMU)' : ''}`);
  if (run.exitCode !== 0) {
    const crashed = run.exitCode !== undefined && CRASH_CODES.has(run.exitCode);
    return fail(
      `the container exited with ${run.exitCode}${crashed && qemu ? ' (a crash under QEMU)' : ''}: ${run.stderr.trim().split('\n').at(-1) ?? ''}`.trim(),
    );
  }
  if (!expect) return pass('exit code 0');
  const verdict = judge(expect, exec, run.stdout, probe.native);
  return verdict.pass ? pass(verdict.expected) : fail(verdict.message!);
}

export function emulatorName(version: string | undefined, handler: string): string {
  return `QEMU ${version ?? '(version unknown)'} (${handler})`;
}

/**
 * Platforms whose expected `uname -m` on this host is the same as another listed platform's (386
 * and amd64 in compat mode both say x86_64; arm/v5, v6 and v7 under QEMU all say armv7l; mips64
 * and mips64le both say mips64): for each, the others it cannot be told apart from by uname alone.
 */
export function unameTwins(executions: readonly PlatformExecution[]): Map<string, string[]> {
  const byUname = new Map<string, string[]>();
  for (const e of executions) {
    if (e.mode === 'unavailable' || !e.expectedUname) continue;
    byUname.set(e.expectedUname, [...(byUname.get(e.expectedUname) ?? []), formatPlatform(e.platform)]);
  }
  const twins = new Map<string, string[]>();
  for (const names of byUname.values())
    for (const n of names)
      if (names.length > 1)
        twins.set(
          n,
          names.filter((x) => x !== n),
        );
  return twins;
}
