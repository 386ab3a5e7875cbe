/**
 * Other QEMU builds on this machine for the same architecture as a registered handler, for a second
 * opinion when a program crashes or hangs under the registered one: Debian's qemu-user-static
 * (/usr/bin/qemu-<arch>-static), a qemu-user install (/usr/bin/qemu-<arch>), and the versions
 * prepare-host keeps in the state folder (<state>/emulators/qemu-<version>/qemu-<arch>).
 *
 * Only static binaries qualify: the emulator is mounted into the container and started there, where
 * the host's shared libraries are not.
 */
import { open, readdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { execCommand, stateDir } from '../base/index.ts';
import { readElf } from '../image/index.ts';
import { versionOfFile } from './version-cache.ts';

export interface EmulatorAtHand {
  path: string;
  /** "10.0.13", "7.2.22". */
  qemuVersion: string;
}

/** True when the file is an ELF program with no PT_INTERP (static or static-pie). */
async function isStatic(path: string): Promise<boolean> {
  const f = await open(path, 'r').catch(() => undefined);
  if (!f) return false;
  try {
    const { size } = await f.stat();
    // Program headers sit near the start; 64 KiB covers them and the interpreter string.
    const buf = Buffer.alloc(Math.min(size, 65_536));
    await f.read(buf, 0, buf.length, 0);
    return readElf(buf).interpreter === undefined;
  } catch {
    return false;
  } finally {
    await f.close();
  }
}

/**
 * QEMU's version, asked of the binary ("10.0.13"); Debian's *-binfmt-P names refuse to run outside
 * binfmt_misc, so the file they link to is asked. Kept by the file's identity (version-cache.ts).
 */
export async function qemuVersionOf(path: string): Promise<string | undefined> {
  return versionOfFile(path, async (binary) => {
    const r = await execCommand(binary, ['--version'], { check: false, timeoutMs: 5000 });
    return r.exitCode === 0 ? /version ([^\s]+)/.exec(r.stdout)?.[1] : undefined;
  });
}

/** Static QEMU binaries for `handler` (qemu-i386, ...) other than the one the handler runs, newest first. */
export async function otherEmulators(handler: string, current: { interpreter: string; qemuVersion?: string }): Promise<EmulatorAtHand[]> {
  const kept = await readdir(join(stateDir(), 'emulators')).catch(() => [] as string[]);
  const candidates = [`/usr/bin/${handler}-static`, `/usr/bin/${handler}`, ...kept.map((d) => join(stateDir(), 'emulators', d, handler))];
  const currentReal = await realpath(current.interpreter).catch(() => current.interpreter);
  const seen = new Set<string>([currentReal]);
  const found: EmulatorAtHand[] = [];
  for (const c of candidates) {
    const real = await realpath(c).catch(() => undefined);
    if (!real || seen.has(real)) continue;
    seen.add(real);
    if (!(await isStatic(real))) continue;
    const qemuVersion = await qemuVersionOf(real);
    if (!qemuVersion || qemuVersion === current.qemuVersion) continue;
    found.push({ path: real, qemuVersion });
  }
  return found.sort((a, b) => b.qemuVersion.localeCompare(a.qemuVersion, undefined, { numeric: true }));
}
