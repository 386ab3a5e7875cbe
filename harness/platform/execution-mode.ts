/**
 * How a platform runs on this host: natively, in the kernel's 32-bit compat mode, under QEMU
 * through a binfmt_misc handler, or not at all. The mode decides what `uname -m` reports and how
 * long a run may take.
 *
 * The answer is what was observed on this engine (host/observe.ts: a probe program per platform,
 * run through the engine). The tables below are only the expectation: where the observation
 * disagrees, the observation wins and the result says what the table expected. Without an
 * observation the table's guess is returned, marked `observed: false`.
 */
import { observationKey, type BinfmtHandler, type PlatformObservation } from './observation.ts';
import { formatPlatform, isKnownArchitecture, qemuHandlerName, unameNative, type Platform } from './platform.ts';

export type ExecutionMode = 'native' | 'compat' | 'qemu' | 'unavailable';

export interface Emulator {
  handler: string;
  interpreter: string;
  flags: string;
  qemuVersion?: string;
}

export interface PlatformExecution {
  platform: Platform;
  mode: ExecutionMode;
  /** `uname -m` inside a container of this platform on this host. */
  expectedUname?: string;
  emulator?: Emulator;
  /** Multiplier for timeouts: CPU work under QEMU 7.2 measured 3-10x slower here (npm run bench). */
  timeoutFactor: number;
  /** Why the platform cannot run, and the fix. */
  reason?: string;
  fix?: string;
  /** True when the mode comes from running a program of this platform on this engine. */
  observed: boolean;
  /** Where the observation disagrees with the tables: what they expected. */
  tableExpected?: { mode: ExecutionMode; uname?: string };
}

/** Architectures a 64-bit kernel runs without emulation in 32-bit compat mode. */
const COMPAT: Record<string, string[]> = { amd64: ['386'], arm64: ['arm'] };

/** What `uname -m` says for a compat process: the 64-bit kernel's machine (no linux32 personality). */
const COMPAT_UNAME: Record<string, string> = { amd64: 'x86_64', arm64: 'aarch64' };

/**
 * What QEMU's user-mode emulation reports where it differs from real hardware: its default ARM CPU
 * is an ARMv7 ("any"), so arm/v6 says armv7l; for MIPS64 little-endian it reports mips64.
 */
const QEMU_UNAME: Record<string, string> = { 'arm/v6': 'armv7l', 'arm/v5': 'armv7l', mips64le: 'mips64' };

export const QEMU_TIMEOUT_FACTOR = 20;

/** What classify needs to know of a host (host/probe.ts's HostProbe has it all). */
export interface HostFacts {
  native: Platform;
  handlers: readonly BinfmtHandler[];
  /** QEMU version by interpreter path. */
  qemuVersions: Record<string, string>;
  observations?: Record<string, PlatformObservation>;
}

/** How the platform runs here: as observed, or (no observation) as the tables expect. */
export function classify(platform: Platform, host: HostFacts): PlatformExecution {
  const expected = expectedExecution(platform, host);
  const seen = host.observations?.[observationKey(platform)];
  // An engine failure (no probe image, no answer in time) says nothing about the platform.
  if (!seen || seen.engineFailure || platform.os !== host.native.os || !isKnownArchitecture(platform)) return expected;
  const observed = fromObservation(platform, seen, host, expected);
  if (observed.mode !== expected.mode || (observed.mode !== 'unavailable' && observed.expectedUname !== expected.expectedUname)) {
    observed.tableExpected = { mode: expected.mode, ...(expected.expectedUname ? { uname: expected.expectedUname } : {}) };
  }
  return observed;
}

function fromObservation(platform: Platform, seen: PlatformObservation, host: HostFacts, expected: PlatformExecution): PlatformExecution {
  const handler = seen.handler ? host.handlers.find((h) => h.name === seen.handler) : undefined;
  if (seen.ran) {
    if (handler) {
      return {
        platform,
        mode: 'qemu',
        expectedUname: seen.machine!,
        emulator: emulatorOf(handler, host.qemuVersions),
        timeoutFactor: QEMU_TIMEOUT_FACTOR,
        observed: true,
      };
    }
    if (platform.architecture === host.native.architecture)
      return { platform, mode: 'native', expectedUname: seen.machine!, timeoutFactor: 1, observed: true };
    if (COMPAT[host.native.architecture]?.includes(platform.architecture))
      return { platform, mode: 'compat', expectedUname: seen.machine!, timeoutFactor: 1, observed: true };
    // A foreign program ran and no handler the harness can read took it (a handler of another kind,
    // one in another user namespace): it is emulated by something unseen, so timed as emulation.
    return { platform, mode: 'qemu', expectedUname: seen.machine!, timeoutFactor: QEMU_TIMEOUT_FACTOR, observed: true };
  }
  const name = formatPlatform(platform);
  const reason =
    expected.mode === 'unavailable'
      ? `${expected.reason!.replace(/\.$/, '')} (a ${name} program failed here: ${seen.error})`
      : handler
        ? `a ${name} program failed under its handler ${handler.name} (${handler.interpreter}): ${seen.error}.`
        : `this kernel does not run ${name} programs itself (${seen.error}) and no binfmt_misc handler takes them.`;
  return { platform, mode: 'unavailable', timeoutFactor: 1, reason, fix: fixFor(platform, qemuHandlerName(platform)), observed: true };
}

/** What the tables expect for the platform on this host, from its native platform and handlers alone. */
function expectedExecution(platform: Platform, host: HostFacts): PlatformExecution {
  const key = formatPlatform(platform).replace(/^[^/]+\//, '');
  if (platform.os !== host.native.os) {
    return unavailable(
      platform,
      `${host.native.os} engines do not run ${platform.os} containers.`,
      'run this platform on an engine of its own OS.',
    );
  }
  if (!isKnownArchitecture(platform)) {
    return unavailable(
      platform,
      `the harness does not know the architecture ${platform.architecture}.`,
      'check the spelling of the platform.',
    );
  }
  if (platform.architecture === host.native.architecture) {
    return { platform, mode: 'native', expectedUname: unameNative(platform), timeoutFactor: 1, observed: false };
  }
  const handlerName = qemuHandlerName(platform);
  const handler = host.handlers.find((h) => h.name === handlerName);
  // binfmt_misc is consulted before the kernel's own ELF loaders, so a registered handler wins
  // even for an architecture the kernel could run in compat mode.
  if (handler?.enabled) {
    if (!handler.flags.includes('F')) {
      return unavailable(
        platform,
        `the ${handlerName} handler is registered without the F flag, so containers cannot find its interpreter ${handler.interpreter}.`,
        fixFor(platform, handlerName),
      );
    }
    return {
      platform,
      mode: 'qemu',
      expectedUname: QEMU_UNAME[key] ?? unameNative(platform),
      emulator: emulatorOf(handler, host.qemuVersions),
      timeoutFactor: QEMU_TIMEOUT_FACTOR,
      observed: false,
    };
  }
  if (COMPAT[host.native.architecture]?.includes(platform.architecture)) {
    return { platform, mode: 'compat', expectedUname: COMPAT_UNAME[host.native.architecture]!, timeoutFactor: 1, observed: false };
  }
  const why = handler ? `the ${handlerName} handler is registered but disabled` : `no binfmt_misc handler ${handlerName} is registered`;
  return unavailable(
    platform,
    `${why}, so ${formatPlatform(host.native)} cannot run ${formatPlatform(platform)} binaries.`,
    fixFor(platform, handlerName),
  );
}

function emulatorOf(h: BinfmtHandler, versions: Record<string, string>): Emulator {
  const v = versions[h.interpreter];
  return { handler: h.name, interpreter: h.interpreter, flags: h.flags, ...(v ? { qemuVersion: v } : {}) };
}

function unavailable(platform: Platform, reason: string, fix: string): PlatformExecution {
  return { platform, mode: 'unavailable', timeoutFactor: 1, reason, fix, observed: false };
}

function fixFor(p: Platform, handler: string): string {
  return (
    `register a QEMU for it: \`sudo npx multiarch-harness setup\` on this host (it registers ${handler} with flag F; \`--undo\` removes it), ` +
    `or \`docker run --privileged --rm tonistiigi/binfmt --install ${p.architecture}\``
  );
}
