/**
 * A second opinion on a crash or hang under QEMU: the same program, pinned by digest, run once more
 * under another QEMU at hand (host/emulators.ts), invoked explicitly: mounted into the container
 * and started as its entrypoint with the program's command line. Passing there points at the first
 * emulator; failing there too points at the image. The emulator whose run decided is recorded.
 */
import { otherEmulators } from '../host/index.ts';
import { formatPlatform } from '../platform/index.ts';
import { fail, pass, type CheckResult } from '../result/index.ts';
import { BASE_CONTAINER_TIMEOUT_MS, runPinned, type ContainerResult } from '../session/index.ts';
import { emulatorName, judgeRun, noneFilesOf, type CommandLineOf, type RunCheckInput, type RunFindings } from './run-verdict.ts';

export async function askSecondOpinion(
  o: RunCheckInput,
  findings: RunFindings,
  firstCheck: CheckResult,
  first: ContainerResult,
): Promise<CheckResult> {
  const em = o.exec.emulator!;
  const firstName = emulatorName(em.qemuVersion, em.handler);
  findings.decidedBy = firstName;
  const trouble = first.hung || first.timedOut ? 'hangs' : 'crashes';
  if (!o.probe.engineIsLocal)
    return fail(`${firstCheck.message}; the engine is not on this machine, so no other emulator could give a second opinion`);
  const alt = (await otherEmulators(em.handler, em))[0];
  if (!alt)
    return fail(
      `${firstCheck.message}; no other QEMU for ${em.handler} is at hand for a second opinion (Debian: apt-get install qemu-user-static)`,
    );
  const binary = await o.binary;
  if (!binary)
    return fail(
      `${firstCheck.message}; the program's command line could not be resolved in the image, so it could not be run under another emulator`,
    );
  const altName = emulatorName(alt.qemuVersion, em.handler);
  o.onProgress?.(`${formatPlatform(o.exec.platform)} ${trouble} under ${firstName}; a second opinion from ${altName}`, {
    platform: formatPlatform(o.exec.platform),
    state: `second opinion (${altName})`,
  });
  const timeoutMs = BASE_CONTAINER_TIMEOUT_MS * o.exec.timeoutFactor;
  const second = await runPinned(o.ctx, o.image, o.exec.platform, {
    timeoutMs,
    emulator: { path: alt.path, argv: commandLine(binary) },
    watch: { handler: em.handler, interpreter: em.interpreter },
    ...(o.network ? { network: o.network } : {}),
    ...(o.load ? { prepared: true } : {}),
    noneFiles: noneFilesOf(o.probe),
  });
  const secondCheck = judgeRun(second, o.exec, o.expect, o.probe, timeoutMs);
  findings.secondOpinion = {
    emulator: `${altName}: ${alt.path}`,
    status: secondCheck.status === 'pass' ? 'pass' : 'fail',
    output: second.stdout.trim(),
    message: secondCheck.message ?? '',
    ...(second.exitCode !== undefined ? { exitCode: second.exitCode } : {}),
  };
  if (secondCheck.status === 'pass') {
    findings.decidedBy = altName;
    findings.output = second.stdout.trim();
    if (second.exitCode !== undefined) findings.exitCode = second.exitCode;
    return pass(
      `${trouble} under ${firstName} (${firstCheck.message}), passes under ${altName}: this points at the emulator, not the image; ${secondCheck.message ?? ''}`.replace(
        /; $/,
        '',
      ),
    );
  }
  findings.emulatorSuspect = false;
  return fail(`fails under ${firstName} (${firstCheck.message}) and under ${altName} (${secondCheck.message}): this points at the image`);
}

/** The command line the kernel would run: the resolved program (or its #! interpreter) and its arguments. */
function commandLine(bin: CommandLineOf): string[] {
  // A #! chain: the last interpreter found runs the scripts before it, in reverse order.
  return [bin.chain.at(-1)!, ...bin.chain.slice(0, -1).reverse(), ...bin.argv.slice(1)];
}
