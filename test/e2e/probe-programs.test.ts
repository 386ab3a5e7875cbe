// The hand-assembled uname probes (harness/host/probe-program.ts) run for real: each under the QEMU
// user-mode emulator the set-up installs for its architecture (Debian's qemu-user-static), started
// directly with the program as its argument, and the host's own platform natively. Nothing is
// skipped: a missing emulator is a set-up that did not run, and fails.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { machine, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { PROBE_PLATFORMS, probeProgram } from '../../harness/host/probe-program.ts';
import { parsePlatform, platformSlug, qemuHandlerName, unameNative } from '../../harness/platform/platform.ts';
import { engineNative } from './support/host-facts.ts';

describe('probe programs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mah-probe-program-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs a program and returns the machine field it wrote (up to the first NUL); throws on a non-zero exit. */
  function machineOf(command: string, args: string[]): string {
    const out = execFileSync(command, args, { timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out.length, 'the whole 65-byte machine field').toBe(65);
    const nul = out.indexOf(0);
    return out.subarray(0, nul < 0 ? out.length : nul).toString('latin1');
  }

  function write(s: string): string {
    const file = join(dir, platformSlug(parsePlatform(s)));
    writeFileSync(file, probeProgram(parsePlatform(s)), { mode: 0o755 });
    return file;
  }

  function qemuFor(s: string): string {
    const qemu = `/usr/bin/${qemuHandlerName(parsePlatform(s))}-static`;
    if (!existsSync(qemu)) throw new Error(`${qemu} is missing: bash setup/prepare-host.sh installs Debian's qemu-user-static`);
    return qemu;
  }

  /** QEMU's default arm CPU is ARMv7; pick a v5 and a v6 core so their probes report what real ones do. */
  const QEMU_CPU: Record<string, string[]> = { 'linux/arm/v5': ['-cpu', 'arm926'], 'linux/arm/v6': ['-cpu', 'arm1176'] };

  for (const s of PROBE_PLATFORMS) {
    const platform = parsePlatform(s);
    test(`${s} under ${qemuHandlerName(platform)}-static prints ${unameNative(platform)}`, () => {
      expect(machineOf(qemuFor(s), [...(QEMU_CPU[s] ?? []), write(s)])).toBe(unameNative(platform));
    });
  }

  test("on QEMU's default (ARMv7) CPU the arm/v5 and v6 probes report armv7l: the CPU answers, not the code", () => {
    const qemu = qemuFor('linux/arm/v7');
    expect(machineOf(qemu, [write('linux/arm/v5')])).toBe('armv7l');
    expect(machineOf(qemu, [write('linux/arm/v6')])).toBe('armv7l');
  });

  test("the host's own platform runs natively and prints what the kernel tells Node", async () => {
    expect(machineOf(write(await engineNative()), [])).toBe(machine());
  });
});
