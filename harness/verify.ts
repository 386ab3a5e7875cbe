/**
 * Verifies a multi-platform image in any registry, platform by platform, with four checks, each
 * reported on its own:
 *   index   the index has an entry for the platform (attestations are not platforms, but the
 *           manifests they point at must be in the index);
 *   config  the image config's os/architecture/variant equal the index entry's, after normalising;
 *   binary  the entry binary, read from the layers and never run, fits the platform (ELF header,
 *           ARM attributes, Go's GOARCH/GOARM/GOAMD64);
 *   run     running it as that platform, pinned by the digest of its manifest, prints what is
 *           expected (exit code 0 when nothing is expected).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { checkBinary } from './binary-check.ts';
import { isElf, readElf } from './elf.ts';
import { classify, type PlatformExecution } from './execution-mode.ts';
import { describeExpectation, judge, type Expectation } from './expectations.ts';
import type { HostProbe } from './host-probe.ts';
import { findEntryBinary, ImageFilesystem, type EntryBinary } from './image-fs.ts';
import { otherEmulators } from './host/emulators.ts';
import { pinned, type ImageRef } from './image-ref.ts';
import { formatPlatform, normalizePlatform, samePlatform, type Platform } from './platform.ts';
import { isAttestation, RegistryClient, type FetchedManifest, type ImageConfig, type IndexEntry } from './registry-client.ts';
import type { CheckName, CheckResult, PlatformResult } from './report/types.ts';
import type { RunContext } from './run-context.ts';
import { BASE_RUN_TIMEOUT_MS, runPinned, type PlatformRun } from './run-platform.ts';

export interface VerifyPlatformsOptions {
  ctx: RunContext;
  probe: HostProbe;
  ref: ImageRef;
  client: RegistryClient;
  /** Platforms to check; default every platform the index lists. */
  platforms?: Platform[];
  expect?: Expectation;
  command?: string[];
  allowSkip?: boolean;
  concurrency?: number;
  onProgress?: (message: string) => void;
}

/** Exit codes of a process killed by SIGILL, SIGABRT, SIGBUS, SIGSEGV: typical of emulator faults. */
const CRASH_CODES = new Set([132, 134, 135, 139]);

const pass = (message?: string): CheckResult => (message ? { status: 'pass', message } : { status: 'pass' });
const fail = (message: string): CheckResult => ({ status: 'fail', message });
const skip = (message: string): CheckResult => ({ status: 'skip', message });

interface IndexView {
  entries: IndexEntry[];
  /** Problems of the index as a whole (an attestation pointing at a manifest that is not there). */
  problems: string[];
  isIndex: boolean;
}

async function readIndex(client: RegistryClient, top: FetchedManifest): Promise<IndexView> {
  if (!top.body.manifests) {
    const config = await client.blobJson<ImageConfig>(top.body.config!.digest);
    return { entries: [{ platform: configPlatform(config), digest: top.digest, mediaType: top.mediaType }], problems: [], isIndex: false };
  }
  const digests = new Set(top.body.manifests.map((d) => d.digest));
  const problems: string[] = [];
  for (const d of top.body.manifests.filter(isAttestation)) {
    const target = d.annotations?.['vnd.docker.reference.digest'];
    if (target && !digests.has(target)) problems.push(`the attestation ${d.digest.slice(0, 19)} refers to ${target.slice(0, 19)}, which the index does not list`);
  }
  const entries = top.body.manifests
    .filter((d) => d.platform && !isAttestation(d))
    .map((d) => ({ platform: normalizePlatform(d.platform!), digest: d.digest, mediaType: d.mediaType }));
  return { entries, problems, isIndex: true };
}

export async function verifyPlatforms(o: VerifyPlatformsOptions): Promise<PlatformResult[]> {
  const top = await o.client.manifest(o.ref.digest ?? o.ref.tag ?? 'latest');
  const index = await readIndex(o.client, top);
  const platforms = o.platforms ?? index.entries.map((e) => e.platform);
  const tmp = await mkdtemp(join(tmpdir(), 'mah-verify-'));
  try {
    const limit = pLimit(o.concurrency ?? 2);
    return await Promise.all(platforms.map((p) => limit(() => verifyOne(o, index, p, tmp))));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function verifyOne(o: VerifyPlatformsOptions, index: IndexView, platform: Platform, tmp: string): Promise<PlatformResult> {
  const name = formatPlatform(platform);
  const exec = classify(platform, o.probe);
  const checks: Record<CheckName, CheckResult> = { index: skip('not reached'), config: skip('not reached'), binary: skip('not reached'), run: skip('not reached') };
  const result: PlatformResult = {
    platform: name, mode: exec.mode, status: 'fail', expected: o.expect ? describeExpectation(o.expect, exec, o.probe.native) : 'exit code 0',
    output: '', durationMs: 0, checks, ...(exec.emulator ? { emulator: exec.emulator } : {}),
  };

  // (a) index
  const entry = index.entries.find((e) => samePlatform(e.platform, platform));
  if (!entry) {
    checks.index = fail(`the ${index.isIndex ? 'index' : 'single-platform manifest'} has no entry for ${name} (it lists ${index.entries.map((e) => formatPlatform(e.platform)).join(', ') || 'nothing'})`);
    return finish(result, exec);
  }
  result.digest = entry.digest;
  checks.index = index.problems.length ? fail(index.problems.join('; ')) : pass(index.isIndex ? `entry ${entry.digest.slice(0, 19)}` : 'a single-platform manifest');

  // (b) config
  let config: ImageConfig;
  let manifest: FetchedManifest;
  try {
    manifest = await o.client.manifest(entry.digest);
    if (!manifest.body.config) throw new Error(`${entry.digest} is not an image manifest`);
    config = await o.client.blobJson<ImageConfig>(manifest.body.config.digest);
  } catch (err) {
    checks.config = fail(`the manifest or config of ${name} cannot be read: ${(err as Error).message}`);
    return finish(result, exec);
  }
  const declared = configPlatform(config);
  checks.config = samePlatform(declared, platform)
    ? pass(formatPlatform(declared))
    : fail(`the image config says ${formatPlatform(declared)}, the index says ${name}`);

  // (c) binary, read from the layers
  let bin: EntryBinary | undefined;
  try {
    const layers: string[] = [];
    for (const [i, layer] of (manifest.body.layers ?? []).entries()) {
      const file = join(tmp, `${entry.digest.slice(7, 19)}-${i}`);
      await o.client.blobToFile(layer.digest, file);
      layers.push(file);
    }
    const fs = await ImageFilesystem.fromLayerFiles(layers);
    bin = await findEntryBinary(fs, config.config, o.command);
    const via = bin.chain.length > 1 ? ` (via ${bin.chain.join(' -> ')})` : '';
    if (!isElf(bin.content)) {
      checks.binary = fail(`the entry binary ${bin.chain.at(-1)}${via} is not an ELF file`);
    } else {
      const elf = readElf(bin.content);
      const verdict = checkBinary(elf, platform);
      const where = `${bin.chain.at(-1)}${via}`;
      result.binary = `${where}: ${verdict.summary}`;
      checks.binary = verdict.pass ? pass(result.binary) : fail(`${where}: ${verdict.problems.join('; ')} (${verdict.summary})`);
      // A binary of the host's own machine runs natively whatever the platform claims: the run
      // check cannot catch that, only this one can.
      if (!verdict.pass && exec.mode === 'qemu' && checkBinary(elf, o.probe.native).pass) {
        checks.binary.message += `; it runs natively on this ${formatPlatform(o.probe.native)} host, not under ${exec.emulator?.handler ?? 'QEMU'}, so running it proves nothing`;
      }
    }
  } catch (err) {
    checks.binary = fail(`the entry binary of ${name} cannot be read: ${(err as Error).message}`);
  }

  // (d) run, pinned by digest
  if (exec.mode === 'unavailable') {
    const message = `${name} cannot run here: ${exec.reason}`;
    checks.run = o.allowSkip ? skip(message) : fail(message);
    if (exec.fix) result.fix = exec.fix;
    return finish(result, exec);
  }
  o.onProgress?.(`running ${name} (${exec.mode})`);
  const timeoutMs = BASE_RUN_TIMEOUT_MS * exec.timeoutFactor;
  const image = pinned(o.ref, entry.digest);
  const watch = exec.mode === 'qemu' && exec.emulator && o.probe.engineIsLocal ? { handler: exec.emulator.handler, interpreter: exec.emulator.interpreter } : undefined;
  const run = await runPinned(o.ctx, image, platform, { timeoutMs, ...(o.command ? { command: o.command } : {}), ...(watch ? { watch } : {}) });
  result.output = run.stdout.trim();
  result.durationMs = run.durationMs;
  if (run.exitCode !== undefined) result.exitCode = run.exitCode;
  checks.run = judgeRun(run, exec, o, timeoutMs);
  if (exec.mode === 'qemu' && emulatorTrouble(run)) {
    result.emulatorSuspect = true;
    checks.run = await askSecondOpinion(o, result, exec, image, bin, run, checks.run);
  } else if (exec.emulator) {
    result.decidedBy = emulatorName(exec.emulator.qemuVersion, exec.emulator.handler);
  }
  return finish(result, exec);
}

/** The run check for one run: timed out, hung, failed, or printed what was expected. */
function judgeRun(run: PlatformRun, exec: PlatformExecution, o: VerifyPlatformsOptions, timeoutMs: number): CheckResult {
  const qemu = exec.mode === 'qemu';
  if (run.hung) return fail(`it hung under QEMU: no CPU time and no output for ${Math.round(run.hung.idleMs / 1000)} s, so the harness stopped it`);
  if (run.timedOut) return fail(`the run did not finish within ${timeoutMs / 1000} s${qemu ? ' (a hang under QEMU)' : ''}`);
  if (run.exitCode !== 0) {
    const crashed = run.exitCode !== undefined && CRASH_CODES.has(run.exitCode);
    return fail(`the container exited with ${run.exitCode}${crashed && qemu ? ' (a crash under QEMU)' : ''}: ${run.stderr.trim().split('\n').at(-1) ?? ''}`.trim());
  }
  if (!o.expect) return pass('exit code 0');
  const verdict = judge(o.expect, exec, run.stdout, o.probe.native);
  return verdict.pass ? pass(verdict.expected) : fail(verdict.message!);
}

/** A crash (a fatal signal, or a runtime's crash report) or a hang: what a faulty emulator looks like. */
function emulatorTrouble(run: PlatformRun): boolean {
  if (run.hung || run.timedOut) return true;
  if (run.exitCode !== undefined && CRASH_CODES.has(run.exitCode)) return true;
  return run.exitCode !== 0 && RUNTIME_CRASH.test(run.stderr);
}

/** Go's runtime crash reports and QEMU's own fatal-signal line. */
const RUNTIME_CRASH = /^(fatal error: |unexpected signal during runtime execution|SIG(SEGV|ILL|BUS|TRAP): |qemu: uncaught target signal)/m;

function emulatorName(version: string | undefined, handler: string): string {
  return `QEMU ${version ?? '(version unknown)'} (${handler})`;
}

/**
 * Runs the platform once more under another emulator at hand, invoked explicitly, and settles the
 * run check on both verdicts: passing there points at the first emulator, failing there too at the image.
 */
async function askSecondOpinion(
  o: VerifyPlatformsOptions, result: PlatformResult, exec: PlatformExecution, image: string, bin: EntryBinary | undefined, first: PlatformRun, firstCheck: CheckResult,
): Promise<CheckResult> {
  const em = exec.emulator!;
  const firstName = emulatorName(em.qemuVersion, em.handler);
  result.decidedBy = firstName;
  const trouble = first.hung || first.timedOut ? 'hangs' : 'crashes';
  if (!o.probe.engineIsLocal) return fail(`${firstCheck.message}; the engine is not on this machine, so no other emulator could give a second opinion`);
  const alt = (await otherEmulators(em.handler, em))[0];
  if (!alt) return fail(`${firstCheck.message}; no other QEMU for ${em.handler} is at hand for a second opinion (Debian: apt-get install qemu-user-static)`);
  const argv = bin ? commandLine(bin) : undefined;
  if (!argv) return fail(`${firstCheck.message}; the program's command line could not be resolved in the image, so it could not be run under another emulator`);
  const altName = emulatorName(alt.qemuVersion, em.handler);
  o.onProgress?.(`${formatPlatform(exec.platform)} ${trouble} under ${firstName}; a second opinion from ${altName}`);
  const timeoutMs = BASE_RUN_TIMEOUT_MS * exec.timeoutFactor;
  const second = await runPinned(o.ctx, image, exec.platform, { timeoutMs, emulator: { path: alt.path, argv } });
  const secondCheck = judgeRun(second, exec, o, timeoutMs);
  result.secondOpinion = {
    emulator: `${altName}: ${alt.path}`, status: secondCheck.status === 'pass' ? 'pass' : 'fail', output: second.stdout.trim(),
    message: secondCheck.message ?? '', ...(second.exitCode !== undefined ? { exitCode: second.exitCode } : {}),
  };
  if (secondCheck.status === 'pass') {
    result.decidedBy = altName;
    result.output = second.stdout.trim();
    if (second.exitCode !== undefined) result.exitCode = second.exitCode;
    return pass(`${trouble} under ${firstName} (${firstCheck.message}), passes under ${altName}: this points at the emulator, not the image; ${secondCheck.message ?? ''}`.replace(/; $/, ''));
  }
  result.emulatorSuspect = false;
  return fail(`fails under ${firstName} (${firstCheck.message}) and under ${altName} (${secondCheck.message}): this points at the image`);
}

/** The command line the kernel would run: the resolved program (or its #! interpreter) and its arguments. */
function commandLine(bin: EntryBinary): string[] {
  // A #! chain: the last interpreter found runs the scripts before it, in reverse order.
  return [bin.chain.at(-1)!, ...bin.chain.slice(0, -1).reverse(), ...bin.argv.slice(1)];
}

function finish(r: PlatformResult, exec: PlatformExecution): PlatformResult {
  const failed = Object.entries(r.checks!).filter(([, c]) => c.status === 'fail');
  if (failed.length) {
    r.status = 'fail';
    r.message = failed.map(([k, c]) => `${k}: ${c.message}`).join('; ');
  } else if (exec.mode === 'unavailable') {
    // Nothing failed although it cannot run here: its run was skipped (allowSkip).
    r.status = 'skip';
    r.message = r.checks!.run.message!;
  } else {
    r.status = 'pass';
  }
  return r;
}

/** The platform an image config declares, normalised. */
function configPlatform(config: ImageConfig): Platform {
  return normalizePlatform({ os: config.os ?? 'unknown', architecture: config.architecture ?? 'unknown', ...(config.variant ? { variant: config.variant } : {}) });
}
