/**
 * The result model: what a run found, platform by platform and step by step. The JSON report
 * (schemaVersion 2) is this model written out; every reporter only reads it. A platform result
 * always has its four checks; a check that was not reached is a skip that says why.
 */
import { type Emulator, type ExecutionMode, type PlatformExecution, formatPlatform } from '../platform/index.ts';

export type CheckName = 'index' | 'config' | 'binary' | 'run';
export const CHECK_NAMES: readonly CheckName[] = ['index', 'config', 'binary', 'run'];

type Status = 'pass' | 'fail' | 'skip';
/**
 * A platform's verdict. Besides pass, fail and skip, as pytest has them: xfail, an expected failure
 * (it failed only by a known issue the scenario declares, with its reason), and xpass, a known issue
 * that does not fail any more (the scenario's declaration is out of date). Neither fails the run.
 */
type PlatformStatus = Status | 'xfail' | 'xpass';

export interface CheckResult {
  status: Status;
  /** What was found, or why it failed or was skipped. */
  message?: string;
}

export const pass = (message?: string): CheckResult => (message ? { status: 'pass', message } : { status: 'pass' });
export const fail = (message: string): CheckResult => ({ status: 'fail', message });
export const skip = (message: string): CheckResult => ({ status: 'skip', message });

export interface PlatformResult {
  platform: string;
  /** Bake scenarios: the bake target whose image this is (`SessionReport.targets`); reporters group rows by it. */
  target?: string;
  /** How this engine runs the platform, as observed. */
  mode: ExecutionMode;
  /**
   * The engine that ran it: "default" (or the DOCKER_HOST of the run), or the node it was placed on
   * with --node (a DOCKER_HOST URL or a docker context name).
   */
  node?: string;
  /** Build scenarios with nodes: the builder node that built this platform (its name in `docker buildx inspect`). */
  builtOn?: string;
  status: PlatformStatus;
  /** What the platform had to print. */
  expected: string;
  /** What it printed (stdout), trimmed. */
  output: string;
  /** Time the run of this platform took (docker run), in ms. */
  durationMs: number;
  /** Time BuildKit spent on this platform's steps, in ms (from the rawjson progress stream). */
  buildMs?: number;
  /** Digest of this platform's manifest: what the run was pinned to. */
  digest?: string;
  exitCode?: number;
  /** One sentence when the platform failed or was skipped. */
  message?: string;
  /** The fix for a platform that cannot run here. */
  fix?: string;
  emulator?: Emulator;
  /** A crash or hang under QEMU: more likely the emulator than the image. */
  emulatorSuspect?: boolean;
  /**
   * After a crash or hang under QEMU, the same program run once more under another emulator at hand
   * (invoked explicitly): what it did there. Its verdict and the first one together tell emulator
   * trouble ("crashes under QEMU 7.2, passes under QEMU 10.0") from a broken image ("fails under both").
   */
  secondOpinion?: { emulator: string; status: 'pass' | 'fail'; exitCode?: number; output: string; message: string };
  /** The emulator whose run decided the run check: "QEMU 10.0.13 (qemu-i386)". */
  decidedBy?: string;
  /** Platforms of the same index whose `uname -m` here is the same: uname cannot tell them apart, the binary check does. */
  unameTwins?: string[];
  /** The four checks: index entry, image config, entry binary (ELF), run output. */
  checks: Record<CheckName, CheckResult>;
  /** Known issues this platform showed (the scenario expected them): why each is accepted. */
  knownIssues?: string[];
  /** A container-structure-test file's tests on this platform (`verify --config`), in the file's order. */
  structureTests?: StructureTestResult[];
  /** The entry binary as read from the layers: "/app/hello: ELF 64-bit LSB AArch64, static, go1.24.4 linux/arm64". */
  binary?: string;
  /**
   * What refers to this platform's manifest or to the index (OCI 1.1 referrers: signatures, SBOMs,
   * attestations), as the index check found them (the registry's referrers API, else the tag
   * schema's `sha256-<hex>` tag); a finding, never a failure.
   */
  referrers?: PlatformReferrer[];
}

/** One artifact that refers to a platform's manifest or to its index. */
export interface PlatformReferrer {
  /** What it refers to: the index, or this platform's manifest. */
  subject: 'index' | 'manifest';
  artifactType: string;
  digest: string;
  /** Where it was read: the referrers API, or the referrers tag schema's tag. */
  from: 'api' | 'tag';
}

/** The kinds of test a container-structure-test file holds. */
export type StructureTestKind = 'command' | 'file-existence' | 'file-content' | 'metadata' | 'license';

/** One test of a container-structure-test file (`verify --config`) on one platform. */
export interface StructureTestResult {
  name: string;
  kind: StructureTestKind;
  status: Status;
  /** Why it failed, or was skipped; what it found when it passed. */
  message?: string;
  /** Command tests: the time their containers took, in ms. */
  durationMs?: number;
}

/**
 * What a scenario reproduces, when it reproduces something: a document, a guide, another tool's
 * output. Reporters say a difference is one "from" its name ("differs from the guide: ...").
 */
export interface Reference {
  /** How a sentence names it: "the guide", "the vendor's README". */
  name: string;
  /** Which part of it the scenario covers: a section ("1.7"), a list ("1.2, 1.11"), a range ("2.4-2.7"). */
  part?: string;
}

/** One step of a steps scenario, tied to a section (of the scenario's reference, when it has one). */
export interface StepResult {
  /** The section, e.g. "2.7". */
  section: string;
  title: string;
  /** Command lines as run here (registry address and all). */
  commands: string[];
  /** What the reference showed, in a few words. */
  reference?: string;
  /** What happened here, in a few lines. */
  observed: string[];
  /** Where this engine differs from the reference, and why. */
  differences: string[];
  status: 'pass' | 'fail';
  failures: string[];
  durationMs: number;
}

type ScenarioKind = 'build' | 'verify' | 'steps' | 'bake';

/** One target of a bake scenario: the image it pushed to the session's registry, and how long it took. */
export interface TargetResult {
  /** The target's name in the bake file (a matrix target's expanded name). */
  name: string;
  /** Where the session pushed it: the session registry's `<session>/<target>:latest`. */
  ref: string;
  /** The pushed index's (or manifest's) digest; absent when the target was not built. */
  digest?: string;
  /** The longest of its platforms' build times, in ms; absent when the target was not built. */
  buildMs?: number;
}

/** One session's report: what the JSON report holds and every reporter reads. */
export interface SessionReport {
  schemaVersion: 2;
  /**
   * "build": a scenario built and pushed the image; "verify": an existing image was checked; "steps": a scenario's own
   * steps; "bake": a bake file's targets were built and pushed, each image checked (`targets`).
   */
  kind: ScenarioKind;
  scenario: string;
  title: string;
  /** What the scenario reproduces (its `reference`), when it says. */
  reference?: Reference;
  startedAt: string;
  durationMs: number;
  host: { engine: string; native: string; imageStore: string; buildx?: string; kernel: string };
  image?: { ref: string; digest: string; mediaType: string; buildMs: number };
  /** The image the run's own registry was (`--registry-image`; registry:2 unless told), when the run started one. */
  registryImage?: string;
  /** Bake scenarios: each target, in the bake file's order; every platform result names its target. */
  targets?: TargetResult[];
  platforms: PlatformResult[];
  /** Step scenarios: each step, its commands, what the reference showed and what happened here. */
  steps?: StepResult[];
  /**
   * Platforms and steps together, and the run's own failures (`failures`) in `failed`; expected
   * failures (xfail) and unexpected passes (xpass) when there are any.
   */
  summary: { passed: number; failed: number; skipped: number; xfailed?: number; xpassed?: number };
  /**
   * What failed the run as a whole rather than a platform or a step, one sentence each: a run that
   * verified nothing (no platform result and no step) says why. Each counts in summary.failed.
   */
  failures?: string[];
  /** Where the engine differs from the reference, and other things a reader should know. */
  notes: string[];
  /** A sharded run (`--shard i/n`): which share of the platforms this report holds; `report merge` joins the shards. */
  shard?: { index: number; total: number };
  /**
   * Where the time went: busy milliseconds per phase (sweep, probe, registry, build, static checks,
   * structure tests, pull, run, cleanup), summed over platforms that run at the same time. The
   * clock is the run's own (its session's, result/phases.ts): runs that go on at once in one
   * process (concurrent suites in one vitest file) do not count each other's phases.
   */
  phasesMs?: Record<string, number>;
}

/** A platform's result before any check ran: every check not reached yet. */
export function newPlatformResult(exec: PlatformExecution, expected: string): PlatformResult {
  const checks = Object.fromEntries(CHECK_NAMES.map((c) => [c, skip('not reached')])) as Record<CheckName, CheckResult>;
  return {
    platform: formatPlatform(exec.platform),
    mode: exec.mode,
    status: 'fail',
    expected,
    output: '',
    durationMs: 0,
    checks,
    ...(exec.emulator ? { emulator: exec.emulator } : {}),
    ...(exec.fix ? { fix: exec.fix } : {}),
  };
}

/**
 * A platform that never reached the checks (it cannot run here, or its build failed): the first
 * three checks are skipped with the reason, and `run` carries the verdict.
 */
export function unverifiedResult(exec: PlatformExecution, expected: string, status: 'fail' | 'skip', message: string): PlatformResult {
  const r = newPlatformResult(exec, expected);
  for (const c of CHECK_NAMES) r.checks[c] = skip(`not reached: ${message}`);
  r.checks.run = status === 'fail' ? fail(message) : skip(message);
  return settle(r);
}

/** Status and message from the checks: any failure fails; a skipped run with nothing failed skips. */
export function settle(r: PlatformResult): PlatformResult {
  const failed = CHECK_NAMES.filter((c) => r.checks[c].status === 'fail');
  const failedTests = (r.structureTests ?? []).filter((t) => t.status === 'fail');
  // With a container-structure-test file and no expectation, the run check is skipped on purpose on a
  // platform that can run (its command tests run the image): the tests give the verdict. On one that
  // cannot run, the skip is the verdict, as without a file.
  const testsDecide = (r.structureTests ?? []).some((t) => t.status === 'pass') && r.mode !== 'unavailable';
  if (failed.length || failedTests.length) {
    r.status = 'fail';
    r.message =
      failed.length === 1 && !failedTests.length && r.checks.index.status === 'skip'
        ? r.checks[failed[0]!].message!
        : [...failed.map((c) => `${c}: ${r.checks[c].message}`), ...failedTests.map((t) => `test "${t.name}": ${t.message}`)].join('; ');
  } else if (r.checks.run.status === 'skip' && !testsDecide) {
    r.status = 'skip';
    r.message = r.checks.run.message!;
  } else {
    r.status = 'pass';
    delete r.message;
  }
  return r;
}

export function summarize(
  platforms: readonly PlatformResult[],
  steps: readonly StepResult[] = [],
  failures: readonly string[] = [],
): SessionReport['summary'] {
  const xfailed = platforms.filter((r) => r.status === 'xfail').length;
  const xpassed = platforms.filter((r) => r.status === 'xpass').length;
  return {
    passed: platforms.filter((r) => r.status === 'pass').length + steps.filter((x) => x.status === 'pass').length,
    failed: platforms.filter((r) => r.status === 'fail').length + steps.filter((x) => x.status === 'fail').length + failures.length,
    skipped: platforms.filter((r) => r.status === 'skip').length,
    ...(xfailed ? { xfailed } : {}),
    ...(xpassed ? { xpassed } : {}),
  };
}

/**
 * A run's verdict as a whole: its summary, and its own failures. The one place that says a run
 * that verified nothing failed: no platform result and no step is never a pass, whatever made the
 * list empty. `nothingBecause` says why there was nothing (the runner knows: "the index X lists
 * no platform"); without it the sentence says only that.
 */
export function conclude(
  platforms: readonly PlatformResult[],
  steps: readonly StepResult[] = [],
  nothingBecause?: string,
): Pick<SessionReport, 'summary' | 'failures'> {
  const failures =
    platforms.length || steps.length
      ? []
      : [`Nothing was verified: ${nothingBecause ?? 'the run had no platform to check and no step to run'}.`];
  return { summary: summarize(platforms, steps, failures), ...(failures.length ? { failures } : {}) };
}
