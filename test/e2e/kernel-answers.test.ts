// The set-up asks the kernel whether it runs a platform's programs itself before it registers QEMU
// for them (setup/register-emulators.ts). Each of the three answers is had here on any machine, for
// real: the host's own platform "runs", a foreign platform with its handler taken away "refuses"
// (the kernel's own ENOEXEC, never a shell's "not found"), and with no engine to ask, "cannot tell".
// A refusal then goes the whole way: QEMU is registered, the platform is proven to run by executing
// it, doctor shows it, and a verify expects what it prints. Expectations come from running the probe
// directly on this host (support/host-facts.ts), not from the code under test; binfmt_misc and the
// set-up's record of changes are put back entry by entry.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { parseHandler } from '../../harness/host/binfmt.ts';
import { stateDir } from '../../harness/base/state-dir.ts';
import { parsePlatform, qemuHandlerName } from '../../harness/platform/platform.ts';
import type { SessionReport } from '../../harness/result/model.ts';
import { execa } from 'execa';
import { cli, harnessLeftovers, ROOT } from './helpers.ts';
import {
  BINFMT,
  engineNative,
  foreignPlatform,
  probeDirectly,
  removeHandler,
  restoreBinfmt,
  snapshotBinfmt,
} from './support/host-facts.ts';

const ALPINE = '127.0.0.1:5001/library/alpine:latest';
const CHANGES = join(stateDir(), 'changes');

function registerEmulators(args: string[], env: Record<string, string> = {}) {
  return execa('node', [`${ROOT}bin/run-ts.mjs`, `${ROOT}setup/register-emulators.ts`, '--state-dir', stateDir(), ...args], {
    cwd: ROOT,
    reject: false,
    env,
    timeout: 15 * 60_000,
  });
}

interface DoctorRow {
  platform: { os: string; architecture: string; variant?: string };
  mode: string;
  expectedUname?: string;
  observed: boolean;
  emulator?: { handler: string; flags: string };
}
async function doctorRow(architecture: string): Promise<DoctorRow> {
  const r = await cli(['doctor', '--json', '-']);
  expect(r.exitCode, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { platforms: DoctorRow[] }).platforms.find((x) => x.platform.architecture === architecture)!;
}

let binfmt: Map<string, string>;
let changes: string | undefined;
beforeEach(async () => {
  binfmt = await snapshotBinfmt();
  changes = await readFile(CHANGES, 'utf8').catch(() => undefined);
});
afterEach(async () => {
  await restoreBinfmt(binfmt);
  expect(await snapshotBinfmt()).toEqual(binfmt);
  if (changes !== undefined) await writeFile(CHANGES, changes);
  expect(await harnessLeftovers()).toEqual([]);
});

describe('the kernel asked before QEMU is registered', () => {
  test("the host's own platform runs, a foreign one is refused and then runs under the QEMU registered for it", async () => {
    const native = await engineNative();
    const foreign = foreignPlatform(native);
    const handler = qemuHandlerName(parsePlatform(foreign));
    const own = await probeDirectly(native);
    expect(own.ran).toBe(true);

    await removeHandler(foreign);
    expect((await probeDirectly(foreign)).ran).toBe(false);
    const r = await registerEmulators(['--ask-kernel', `${native},${foreign}`]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`[emulators] ${native}: this kernel runs its programs by itself (uname -m ${own.machine})`);
    expect(r.stdout).toContain(`[emulators] ${foreign}: this kernel does not run its programs by itself (exec format error)`);
    expect(r.stdout).toMatch(new RegExp(`registered QEMU [\\d.]+ \\(.*\\) as .*\\b${handler}\\b`));
    expect(r.stdout).not.toMatch(/not found|could not tell/);

    // Registered with flag F from the set-up's emulators, and the platform now runs: proven by executing it.
    const registered = parseHandler(handler, await readFile(join(BINFMT, handler), 'utf8'));
    expect(registered).toMatchObject({ enabled: true, interpreter: expect.stringContaining(join(stateDir(), 'emulators')) });
    expect(registered.flags).toContain('F');
    const direct = await probeDirectly(foreign);
    expect(direct).toMatchObject({ ran: true, handler });

    // doctor observes it under that handler, with the uname the program printed here.
    const row = await doctorRow(parsePlatform(foreign).architecture);
    expect(row).toMatchObject({ mode: 'qemu', observed: true, expectedUname: direct.machine, emulator: { handler } });

    // A verify of a real image expects and gets that uname.
    const json = join(stateDir(), `kernel-answers-${process.pid}.json`);
    const v = await cli([
      'verify',
      ALPINE,
      '--platforms',
      foreign,
      '--expect-uname',
      '--command',
      'uname',
      '--command=-m',
      '--json',
      json,
      '--quiet',
    ]);
    const report = JSON.parse(await readFile(json, 'utf8')) as SessionReport;
    await rm(json, { force: true });
    expect(v.exitCode, v.stdout + v.stderr).toBe(0);
    expect(report.platforms[0]).toMatchObject({ platform: foreign, mode: 'qemu', status: 'pass', output: direct.machine });
  });

  test("the 32-bit mode of the host's architecture: the answer agrees with what doctor then observes", async ({ skip }) => {
    const native = await engineNative();
    const compat = ({ 'linux/amd64': 'linux/386', 'linux/arm64': 'linux/arm/v7' } as Record<string, string>)[native];
    if (!compat) return skip(`host without a 32-bit mode: ${native}`);
    const r = await registerEmulators([]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const line = r.stdout.split('\n').find((l) => l.startsWith(`[emulators] ${compat}: `));
    expect(line).toMatch(/this kernel (runs|does not run) its programs by itself/);
    const row = await doctorRow(parsePlatform(compat).architecture);
    if (/ runs /.test(line!)) {
      // Unless a handler was asked for (prepare-host --emulate), the kernel runs it: compat.
      if (row.mode !== 'qemu') expect(row).toMatchObject({ mode: 'compat', observed: true });
    } else {
      expect(row).toMatchObject({ mode: 'qemu', observed: true, emulator: { handler: qemuHandlerName(parsePlatform(compat)) } });
    }
  });

  test('with no engine to ask, it says so in one sentence, registers QEMU anyway and goes on', async () => {
    const native = await engineNative();
    const foreign = foreignPlatform(native);
    await removeHandler(foreign);
    const r = await registerEmulators(['--ask-kernel', foreign], { DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `\\[emulators\\] ${foreign.replace(/\//g, '\\/')}: could not tell whether this kernel runs its programs by itself \\(the probe image could not be made: [^\\n]+\\); QEMU is registered for it, so it runs either way`,
      ),
    );
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect((await probeDirectly(foreign)).ran).toBe(true);
  });

  test('--emulate asks for QEMU where the kernel would run the platform itself, and --emulate none puts binfmt_misc back entry by entry', async ({
    skip,
  }) => {
    const native = await engineNative();
    const compat = ({ 'linux/amd64': 'linux/386', 'linux/arm64': 'linux/arm/v7' } as Record<string, string>)[native];
    if (!compat) return skip(`host without a 32-bit mode: ${native}`);
    const handler = qemuHandlerName(parsePlatform(compat));
    const asked = await registerEmulators(['--emulate', compat]);
    expect(asked.exitCode, asked.stdout + asked.stderr).toBe(0);
    expect(parseHandler(handler, await readFile(join(BINFMT, handler), 'utf8'))).toMatchObject({
      enabled: true,
      interpreter: expect.stringContaining(join(stateDir(), 'emulators')),
    });
    expect(await probeDirectly(compat)).toMatchObject({ ran: true, handler });
    expect(await doctorRow(parsePlatform(compat).architecture)).toMatchObject({ mode: 'qemu', observed: true, emulator: { handler } });

    const none = await registerEmulators(['--emulate', 'none']);
    expect(none.exitCode, none.stdout + none.stderr).toBe(0);
    // Where the kernel runs it itself the handler goes again; where it refuses, the set-up's own was
    // there before and stays: either way binfmt_misc is as it was, entry by entry.
    expect(await snapshotBinfmt()).toEqual(binfmt);
  });
});
