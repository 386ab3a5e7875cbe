/**
 * The `run` check: `docker run --network none --platform P repo@sha256:<digest>` prints what is
 * expected (exit code 0 when nothing is expected). Pinned by digest (the index's on a containerd
 * store, the platform's manifest's on a classic one: run-reference.ts), so the local image cache
 * can never substitute another architecture. A local image's platform is loaded instead, alone,
 * under a name of the session (checks/context.ts), and run by that name; an image of the engine's
 * own store (docker-daemon:) runs from there, by its id. No network unless asked (run-network.ts). A
 * crash or hang under QEMU makes the result emulator-suspect and asks another emulator for a second
 * opinion (second-opinion.ts).
 */
import { BASE_CONTAINER_TIMEOUT_MS, runPinned, type ContainerResult } from '../session/index.ts';
import { EngineError, looksLikeCrash } from '../engine/index.ts';
import { formatPlatform, type PlatformExecution } from '../platform/index.ts';
import { fail, skip, type CheckResult, type PlatformResult } from '../result/index.ts';
import { askSecondOpinion } from './second-opinion.ts';
import { isProblem, notReached, type Check, type VerifyRequest } from '../checks/index.ts';
import { emulatorName, judgeRun, noneFilesOf, unameTwins, type RunCheckInput, type RunFindings } from './run-verdict.ts';

async function checkRun(o: RunCheckInput): Promise<{ result: CheckResult; findings: RunFindings }> {
  const { exec } = o;
  const name = formatPlatform(exec.platform);
  if (exec.mode === 'unavailable') {
    const message = `${name} cannot run here: ${exec.reason}`;
    return {
      result: o.allowSkip ? skip(message) : fail(message),
      findings: { output: '', durationMs: 0, ...(exec.fix ? { fix: exec.fix } : {}) },
    };
  }
  o.onProgress?.(`running ${name} (${exec.mode})`, { platform: name, state: `running (${exec.mode})` });
  const timeoutMs = BASE_CONTAINER_TIMEOUT_MS * exec.timeoutFactor;
  const watch =
    exec.mode === 'qemu' && exec.emulator && o.probe.engineIsLocal
      ? { handler: exec.emulator.handler, interpreter: exec.emulator.interpreter }
      : undefined;
  let run: ContainerResult;
  try {
    await o.load?.();
    run = await runPinned(o.ctx, o.image, exec.platform, {
      timeoutMs,
      ...(o.command ? { command: o.command } : {}),
      ...(watch ? { watch } : {}),
      ...(o.present !== undefined ? { present: o.present } : {}),
      ...(o.network ? { network: o.network } : {}),
      ...(o.load ? { prepared: true } : {}),
      noneFiles: noneFilesOf(o.probe),
    });
  } catch (err) {
    // The pull or the load failed (or the engine did not answer): this platform fails with the engine's words; the others go on.
    if (!(err instanceof EngineError)) throw err;
    return {
      result: fail(`the image of ${name} could not be ${o.load ? 'loaded' : 'pulled'} or started: ${err.message}`),
      findings: { output: '', durationMs: 0 },
    };
  }
  const findings: RunFindings = {
    output: run.stdout.trim(),
    durationMs: run.durationMs,
    ...(run.exitCode !== undefined ? { exitCode: run.exitCode } : {}),
  };
  const result = judgeRun(run, exec, o.expect, o.probe, timeoutMs);
  if (exec.mode === 'qemu' && exec.emulator && emulatorTrouble(run)) {
    findings.emulatorSuspect = true;
    return { result: await askSecondOpinion(o, findings, result, run), findings };
  }
  if (exec.emulator) findings.decidedBy = emulatorName(exec.emulator.qemuVersion, exec.emulator.handler);
  return { result, findings };
}

/** A crash (a fatal signal, or a runtime's crash report) or a hang: what a faulty emulator looks like. */
function emulatorTrouble(run: ContainerResult): boolean {
  if (run.hung || run.timedOut) return true;
  return looksLikeCrash(run.exitCode, run.stderr);
}

/** The image's own command runs unless a container-structure-test file's command tests run it instead. */
export function runsTheImage(request: VerifyRequest): boolean {
  return Boolean(request.expect) || !request.structureTests;
}

export const runCheck: Check = {
  name: 'run',
  async check(ctx) {
    if (!ctx.entry()) return notReached();
    const { request, exec } = ctx;
    // With a container-structure-test file and no expectation, its command tests run the image instead.
    // (On a platform that cannot run, the run check says so either way.)
    if (!runsTheImage(request) && exec.mode !== 'unavailable') {
      if (isProblem(await ctx.manifestAndConfig())) return notReached();
      const instead = request.structureTests!.commandTests.length
        ? "'s command tests ran the image instead"
        : ' has no command tests and no expectation was given';
      return {
        result: skip(
          `not run: the container-structure-test file${instead} (give --expect-output or --expect-uname to run the image's own command too)`,
        ),
      };
    }
    // The run starts at once, beside the config and binary checks: neither waits for the other; only a
    // second opinion after a crash needs the entry program the binary check resolves. A local image
    // is loaded from its manifest: without one there is nothing to run (the config check says why).
    const local = request.target.kind === 'local';
    if (local && isProblem(await ctx.manifestAndConfig())) return notReached();
    const present = ctx.imagePresent();
    const ran = await checkRun({
      ctx: ctx.session,
      probe: ctx.probe,
      exec,
      image: ctx.runImage(),
      ...(local ? { load: () => ctx.loadRunImage() } : {}),
      allowSkip: request.allowSkip,
      network: request.network,
      ...(request.expect ? { expect: request.expect } : {}),
      ...(request.command ? { command: request.command } : {}),
      binary: ctx.binaryVerdict().then(
        (v) => v?.binary,
        () => undefined,
      ),
      ...(present !== undefined ? { present } : {}),
      ...(ctx.onProgress ? { onProgress: ctx.onProgress } : {}),
    });
    return { result: ran.result, findings: ran.findings };
  },
  conclude(results, listed, request) {
    if (request.expect?.kind === 'uname') sayWhatUnameCannotTell(results, listed);
  },
};

/**
 * Where uname cannot tell a platform from another one the index lists (they report the same
 * machine here), its run check says so, and that the binary check is what tells them apart.
 */
function sayWhatUnameCannotTell(results: PlatformResult[], listed: readonly PlatformExecution[]): void {
  const twins = unameTwins(listed);
  for (const r of results) {
    const others = twins.get(r.platform);
    if (!others || r.checks.run.status === 'skip') continue;
    r.unameTwins = others;
    r.checks.run = {
      ...r.checks.run,
      message:
        `${r.checks.run.message ?? ''}; uname -m alone cannot tell ${r.platform} from ${others.join(', ')} on this host (the same machine name), so the binary check decided`.replace(
          /^; /,
          '',
        ),
    };
  }
}
