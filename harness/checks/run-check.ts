/**
 * The `run` check: `docker run --platform P repo@sha256:<that platform's manifest>` prints what is
 * expected (exit code 0 when nothing is expected). Pinned by digest, so the local image cache can
 * never substitute another architecture. A crash or hang under QEMU makes the result
 * emulator-suspect and asks another emulator for a second opinion (second-opinion.ts).
 */
import { BASE_RUN_TIMEOUT_MS, runPinned, type PlatformRun } from '../engine/container.ts';
import { DockerError } from '../engine/docker.ts';
import type { PlatformExecution } from '../platform/execution-mode.ts';
import { judge, type Expectation } from '../platform/expectations.ts';
import type { HostProbe } from '../host/probe.ts';
import type { EntryBinary } from '../image/filesystem.ts';
import { formatPlatform } from '../platform/platform.ts';
import { fail, pass, skip, type CheckResult, type PlatformResult } from '../result/model.ts';
import type { Session } from '../engine/session.ts';
import { askSecondOpinion, emulatorName } from './second-opinion.ts';

/** Exit codes of a process killed by SIGILL, SIGABRT, SIGBUS, SIGSEGV: typical of emulator faults. */
const CRASH_CODES = new Set([132, 134, 135, 139]);

/** Go's runtime crash reports and QEMU's own fatal-signal line. */
const RUNTIME_CRASH = /^(fatal error: |unexpected signal during runtime execution|SIG(SEGV|ILL|BUS|TRAP): |qemu: uncaught target signal)/m;

export interface RunCheckInput {
  ctx: Session;
  probe: HostProbe;
  exec: PlatformExecution;
  /** The platform's manifest, pinned: repo@sha256:... */
  image: string;
  expect?: Expectation;
  command?: string[];
  /** The entry binary the binary check resolved: a second opinion runs its command line. */
  binary?: EntryBinary;
  allowSkip?: boolean;
  onProgress?: (message: string) => void;
}

/** What the run found, besides its check: the fields of the platform result it fills. */
export type RunFindings = Pick<PlatformResult, 'output' | 'durationMs' | 'exitCode' | 'emulatorSuspect' | 'secondOpinion' | 'decidedBy' | 'fix'>;

export async function checkRun(o: RunCheckInput): Promise<{ result: CheckResult; findings: RunFindings }> {
  const { exec } = o;
  const name = formatPlatform(exec.platform);
  if (exec.mode === 'unavailable') {
    const message = `${name} cannot run here: ${exec.reason}`;
    return { result: o.allowSkip ? skip(message) : fail(message), findings: { output: '', durationMs: 0, ...(exec.fix ? { fix: exec.fix } : {}) } };
  }
  o.onProgress?.(`running ${name} (${exec.mode})`);
  const timeoutMs = BASE_RUN_TIMEOUT_MS * exec.timeoutFactor;
  const watch = exec.mode === 'qemu' && exec.emulator && o.probe.engineIsLocal ? { handler: exec.emulator.handler, interpreter: exec.emulator.interpreter } : undefined;
  let run: PlatformRun;
  try {
    run = await runPinned(o.ctx, o.image, exec.platform, { timeoutMs, ...(o.command ? { command: o.command } : {}), ...(watch ? { watch } : {}) });
  } catch (err) {
    // The pull failed (or the engine did not answer): this platform fails with the engine's words; the others go on.
    if (!(err instanceof DockerError)) throw err;
    return { result: fail(`the image of ${name} could not be pulled or started: ${err.message}`), findings: { output: '', durationMs: 0 } };
  }
  const findings: RunFindings = { output: run.stdout.trim(), durationMs: run.durationMs, ...(run.exitCode !== undefined ? { exitCode: run.exitCode } : {}) };
  const result = judgeRun(run, exec, o.expect, o.probe, timeoutMs);
  if (exec.mode === 'qemu' && emulatorTrouble(run)) {
    findings.emulatorSuspect = true;
    return { result: await askSecondOpinion(o, findings, result, run), findings };
  }
  if (exec.emulator) findings.decidedBy = emulatorName(exec.emulator.qemuVersion, exec.emulator.handler);
  return { result, findings };
}

/** The run check for one run: hung, timed out, failed, or printed what was expected. */
export function judgeRun(run: PlatformRun, exec: PlatformExecution, expect: Expectation | undefined, probe: HostProbe, timeoutMs: number): CheckResult {
  const qemu = exec.mode === 'qemu';
  if (run.hung) return fail(`it hung under QEMU: no CPU time and no output for ${Math.round(run.hung.idleMs / 1000)} s, so the harness stopped it`);
  if (run.timedOut) return fail(`the run did not finish within ${timeoutMs / 1000} s${qemu ? ' (a hang under QEMU)' : ''}`);
  if (run.exitCode !== 0) {
    const crashed = run.exitCode !== undefined && CRASH_CODES.has(run.exitCode);
    return fail(`the container exited with ${run.exitCode}${crashed && qemu ? ' (a crash under QEMU)' : ''}: ${run.stderr.trim().split('\n').at(-1) ?? ''}`.trim());
  }
  if (!expect) return pass('exit code 0');
  const verdict = judge(expect, exec, run.stdout, probe.native);
  return verdict.pass ? pass(verdict.expected) : fail(verdict.message!);
}

/** A crash (a fatal signal, or a runtime's crash report) or a hang: what a faulty emulator looks like. */
function emulatorTrouble(run: PlatformRun): boolean {
  if (run.hung || run.timedOut) return true;
  if (run.exitCode !== undefined && CRASH_CODES.has(run.exitCode)) return true;
  return run.exitCode !== 0 && RUNTIME_CRASH.test(run.stderr);
}
