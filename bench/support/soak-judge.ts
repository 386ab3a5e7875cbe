/**
 * What the soak (bench/soak.ts) expects of one harness run, and whether it got it. Pure (no
 * process, no engine), so test/unit/soak-judge.test.ts holds it to the harness's exit codes
 * (README, "Exit codes"; harness/cli/main.ts):
 *
 *   0         every platform passed
 *   1         a check failed: the image's fault
 *   2         the harness could not run (usage or environment), said in one sentence
 *   130, 143  after SIGINT, SIGTERM, once the harness has its handlers: it cleaned up first
 *   killed by SIGKILL, which nothing can catch
 *
 * Every run gets exactly one expected ending, decided from what happened to it, never a set of
 * codes. A fault of the infrastructure (the run's own registry killed, the engine restarted, a
 * registry answering 500/429) is never expected to be 1: that would blame the image for it.
 *
 * The moment a fault or a signal came is read from the harness's progress lines on stderr
 * (harness/cli/progress.ts: "[<name> <seconds>s] <message>" when stderr is not a terminal), taken
 * while the harness is stopped (SIGSTOP) so that it cannot go on between the reading and the fault:
 *   "registry <address> (<image>) is up"  a build's own registry answers (session/local-registry.ts's registryUpLine)
 *   "running <platform> (<mode>)"        a platform's verification has reached its run (run-check/run-check.ts)
 *   "PASS|FAIL|SKIP <platform> (<mode>)" the verdicts, printed together once every platform is
 *                                        verified (build-runner.ts, verify-runner.ts)
 */

export type Kind = 'verify-ok' | 'verify-fail' | 'build';
export type Sig = 'SIGINT' | 'SIGTERM' | 'SIGKILL';

/** What each kind of run ends with when nothing is done to it. */
const NORMAL_CODE: Readonly<Record<Kind, number>> = { 'verify-ok': 0, 'verify-fail': 1, build: 0 };

/** One exit code, or death by one signal; and why, for the line that says it was not met. */
export type Expectation = { code: number; why: string } | { signal: Sig; why: string };

/** How a child ended: an exit code, or the signal that killed it. */
export interface Ending {
  code?: number;
  signal?: string;
}

export function normal(kind: Kind): Expectation {
  return { code: NORMAL_CODE[kind], why: `a ${kind} run with nothing done to it` };
}

export function describeExpectation(e: Expectation): string {
  return 'code' in e ? `exit ${e.code}` : `killed by ${e.signal}`;
}

export function describeEnding(x: Ending): string {
  if (x.signal) return `killed by ${x.signal}`;
  return `exit ${x.code ?? '?'}`;
}

/** Undefined when the ending is the one expected; else the problem, in one line. */
export function judgeEnding(expect: Expectation, ending: Ending): string | undefined {
  const met = 'code' in expect ? !ending.signal && ending.code === expect.code : ending.signal === expect.signal;
  return met ? undefined : `${describeEnding(ending)}, expected ${describeExpectation(expect)} (${expect.why})`;
}

// ---------------------------------------------------------------------------------------------
// Where a run is, from its stderr
// ---------------------------------------------------------------------------------------------

/** A progress line's message. */
const PROGRESS = /^\[[^\]\n]* \d+\.\ds\] (.*)$/gm;
const VERDICT = /^(?:PASS|FAIL|SKIP|XFAIL|XPASS) \S+ \(/;
const RUNNING = /^running \S+ \(/;
export const REGISTRY_UP = /^\[[^\]\n]* \d+\.\ds\] registry (\S+)(?: \([^)\n]*\))? is up$/m;

/**
 * before-verify: no platform has reached its run yet (a build: probing, building, pushing, or
 * reading the index it pushed); verifying: a platform has (pulls, runs and static checks in
 * flight); verdict: the verdicts are printed, nothing is verified any more, only cleanup is left.
 */
export type RunPhase = 'before-verify' | 'verifying' | 'verdict';

export function runPhase(stderr: string): RunPhase {
  let phase: RunPhase = 'before-verify';
  for (const m of stderr.matchAll(PROGRESS)) {
    const message = m[1] ?? '';
    if (VERDICT.test(message)) return 'verdict';
    if (RUNNING.test(message)) phase = 'verifying';
  }
  return phase;
}

/**
 * Whether the harness's main() has printed anything: a progress line, a GitHub group, one of its
 * own sentences. Its SIGINT and SIGTERM handlers are installed as main() starts, before any of
 * these; before them Node's own handler kills the process with the signal.
 */
export function hasSpoken(stderr: string): boolean {
  return /^(?:\[[^\]\n]* \d+\.\ds\] |multiarch-harness: |::group::)/m.test(stderr);
}

/**
 * Whether the harness is finishing: its matrix is on stdout, or it said its one sentence. A signal
 * then may come after its event loop is done (the run's own code stands) or before (130/143): which
 * one cannot be known from outside, so the soak sends none then.
 */
export function isEnding(stdout: string, stderr: string): boolean {
  return stdout.length > 0 || /^multiarch-harness: (?!SIG(?:INT|TERM): |cleanup)/m.test(stderr);
}

// ---------------------------------------------------------------------------------------------
// Expectations: signals and faults
// ---------------------------------------------------------------------------------------------

/** A signal sent once the harness had spoken (its handlers in place) and before it was finishing. */
export function signalExpectation(signal: Sig): Expectation {
  if (signal === 'SIGKILL') return { signal, why: 'SIGKILL cannot be caught' };
  const code = signal === 'SIGINT' ? 130 : 143;
  return { code, why: `${signal} came after the harness's first line, so its handler cleans up and exits ${code}` };
}

/**
 * The run's own registry killed (a build's, started by the harness) at a phase of the run. Undefined
 * while it verifies: whether its pulls and reads were over cannot be seen from outside, so the soak
 * kills then only once the verdicts are printed.
 */
export function registryKillExpectation(kind: Kind, phase: RunPhase): Expectation | undefined {
  if (phase === 'verifying') return undefined;
  if (phase === 'verdict') {
    return { code: NORMAL_CODE[kind], why: 'its registry was killed after the verdicts, when the run no longer needed it' };
  }
  return {
    code: 2,
    why: 'its registry was killed before any platform was verified, when the run still had to push to it or read the image from it: the harness could not run (one sentence); 1 would blame the image for the registry',
  };
}

/** The engine restarted (dockerd sent SIGTERM) at a phase of the run. */
export function engineRestartExpectation(kind: Kind, phase: RunPhase): Expectation {
  if (phase === 'verdict') {
    return {
      code: NORMAL_CODE[kind],
      why: 'the engine restarted after the verdicts: only cleanup was left, whose trouble is a note, not a verdict',
    };
  }
  return {
    code: 2,
    why: 'the engine (and the registries on it) went away before the verdicts: the harness could not run (one sentence); 1 would blame the image for the engine',
  };
}

/**
 * A verify against a registry that answers 500 and 429 for its first requests and then passes the
 * rest on to the mirror: decided by what it answered this run. Nothing passed on: every request the
 * run made failed (the harness gave up before the registry recovered): 2. Something passed on: the
 * registry recovered within the harness's retries, and the run is a plain passing verify: 0.
 */
export function fakeRegistryExpectation(failedAnswers: number, passedOn: number): Expectation {
  if (passedOn === 0) {
    return {
      code: 2,
      why: `the registry answered ${failedAnswers} request(s) with 500 or 429 and passed none on: the harness could not read the image (one sentence); 1 would blame the image for the registry`,
    };
  }
  return {
    code: 0,
    why: `the registry passed ${passedOn} request(s) on to the mirror after ${failedAnswers} failed answer(s): it recovered within the harness's retries`,
  };
}

// ---------------------------------------------------------------------------------------------
// What the output must say
// ---------------------------------------------------------------------------------------------

const CLEANING = /^multiarch-harness: SIG(?:INT|TERM): cleaning up/;
const CLEANUP_LINE = /^multiarch-harness: (?:SIG(?:INT|TERM): (?:cleaning up|cleaned up)|cleanup[: ])/;

/** After SIGINT or SIGTERM (stderr from the signal on): one "cleaning up" line, and the last line a cleanup line. */
export function signalOutputProblems(signal: 'SIGINT' | 'SIGTERM', stderrAfter: string): string[] {
  const after = stderrAfter
    .split('\n')
    .map((l) => l.trimEnd())
    .filter(Boolean);
  const problems: string[] = [];
  const cleaning = after.filter((l) => CLEANING.test(l)).length;
  if (cleaning !== 1) problems.push(`${cleaning} "cleaning up" lines on stderr after ${signal}, not one`);
  const last = after.at(-1);
  if (last !== undefined && !CLEANUP_LINE.test(last))
    problems.push(`its stderr after ${signal} ends with "${clip(last)}", not a cleanup line`);
  return problems;
}

/** Exit 2 is one sentence: one line starting "multiarch-harness:". */
export function oneSentenceProblem(stderr: string): string | undefined {
  const lines = stderr.split('\n').filter((l) => l.startsWith('multiarch-harness:')).length;
  return lines === 1 ? undefined : `exit 2 with ${lines} lines starting "multiarch-harness:" on stderr, not one sentence`;
}

const STACK = /^\s+at /m;

/** A stack trace in a child's output, with a little around it; undefined when there is none. */
export function stackTraceIn(output: string): string | undefined {
  const i = output.search(STACK);
  if (i < 0) return undefined;
  return clip(output.slice(Math.max(0, i - 120), i + 120).replace(/\n/g, ' | '));
}

export function clip(s: string, n = 160): string {
  return s.length > n ? `${s.slice(0, n - 3)}...` : s;
}

// ---------------------------------------------------------------------------------------------
// Breaking it on purpose, and the suite's own verdict
// ---------------------------------------------------------------------------------------------

/** MULTIARCH_SOAK_BREAK's values: exit-codes expects a wrong code of one run (the final sweep). */
const BREAKS = ['exit-codes'] as const;
export type Break = (typeof BREAKS)[number];

/** The break asked for, undefined for none; an unknown value throws (a typo must not pass unnoticed). */
export function parseBreak(value: string | undefined): Break | undefined {
  if (value === undefined || value === '') return undefined;
  if ((BREAKS as readonly string[]).includes(value)) return value as Break;
  throw new Error(`MULTIARCH_SOAK_BREAK takes ${BREAKS.join(', ')}, not "${value}".`);
}

/** An expectation made wrong on purpose: another exit code than the right one. */
export function brokenOnPurpose(right: Expectation): Expectation {
  const wrong = 'code' in right && right.code === 0 ? 1 : 0;
  return {
    code: wrong,
    why: `wrong on purpose (MULTIARCH_SOAK_BREAK=exit-codes; the right one is ${describeExpectation(right)}): this soak must fail`,
  };
}

export interface SuiteCounts {
  runs: number;
  signals: Record<Sig, number>;
  failing: number;
  faults: number;
  hangs: number;
  leaks: number;
  stackTraces: number;
  /** Everything printed as a problem: the children's, things not swept, the plan not reached, leaks, the engine lost. */
  problems: number;
  /** The end state could not be read: leaks there are unknown. */
  unknown: boolean;
  engineLost: boolean;
}

/**
 * 1 on any problem; with lenient (for exploring), only on a leak, a hang, a stack trace, an end
 * state not read or the engine lost.
 */
export function suiteExitCode(c: SuiteCounts, lenient: boolean): 0 | 1 {
  if (c.leaks > 0 || c.hangs > 0 || c.stackTraces > 0 || c.unknown || c.engineLost) return 1;
  return !lenient && c.problems > 0 ? 1 : 0;
}

/** The one line at the end. */
export function summaryLine(c: SuiteCounts, lenient: boolean): string {
  const interrupted = c.signals.SIGINT + c.signals.SIGTERM + c.signals.SIGKILL;
  return `soak: ${c.runs} runs, ${interrupted} interrupted (${c.signals.SIGINT} SIGINT, ${c.signals.SIGTERM} SIGTERM, ${c.signals.SIGKILL} SIGKILL), ${c.failing} failing, ${c.faults} faults, ${c.hangs} hangs, ${c.leaks} leaks, ${c.problems} problems${lenient ? ' (lenient: only leaks, hangs and stack traces fail it)' : ''}`;
}
