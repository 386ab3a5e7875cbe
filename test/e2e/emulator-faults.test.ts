// What the README promises for trouble under QEMU, for real: a program that ignores every signal it
// can and sleeps is stopped by the hang watchdog (the bound made short for the test), named as a
// hang under the registered QEMU, and given a second opinion from another QEMU at hand, where it
// hangs too; a program that crashes (SIGSEGV) crashes under both QEMUs, and the run says the image,
// not the emulator, is at fault. The second opinion runs the same command line as the first (the
// --command one, though its program is the image's own shell). A foreign platform of the mirror's alpine (a real image) is used,
// so both run under QEMU on any host that is not that platform.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import type { SessionReport } from '../../harness/result/model.ts';
import { stateDir } from '../../harness/base/state-dir.ts';
import { allContainers, cli, harnessLeftovers } from './helpers.ts';
import { engineNative } from './support/host-facts.ts';

const ALPINE = '127.0.0.1:5001/library/alpine:latest';

async function verifyWith(script: string, env: Record<string, string> = {}) {
  const native = await engineNative();
  const platform = native === 'linux/arm64' ? 'linux/s390x' : 'linux/arm64';
  const json = join(stateDir(), `emulator-faults-${process.pid}-${Math.random().toString(36).slice(2, 8)}.json`);
  try {
    const r = await cli(
      ['verify', ALPINE, '--platforms', platform, '--command', 'sh', '--command=-c', `--command=${script}`, '--json', json, '--quiet'],
      env,
    );
    const report = JSON.parse(await readFile(json, 'utf8')) as SessionReport;
    return { r, p: report.platforms[0]! };
  } finally {
    await rm(json, { force: true });
  }
}

let before: string[] = [];
afterEach(async () => {
  expect(await harnessLeftovers()).toEqual([]);
  expect(await allContainers()).toEqual(before);
});

describe('trouble under QEMU', () => {
  test('a program that ignores signals and sleeps is stopped by the watchdog, named as a hang, and hangs under the second QEMU too', async () => {
    before = await allContainers();
    const { r, p } = await verifyWith("trap '' HUP INT QUIT TERM USR1 USR2; sleep 3600", { MULTIARCH_HANG_SECONDS: '5' });
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    expect(p.mode).toBe('qemu');
    expect(p.checks!.run.status).toBe('fail');
    expect(p.checks!.run.message).toMatch(
      /^fails under QEMU [\d.]+ \(qemu-\w+\) \(it hung under QEMU: no CPU time and no output for \d+ s, so the harness stopped it\) and under QEMU [\d.]+ \(qemu-\w+\) \(it hung under QEMU: .*\): this points at the image$/,
    );
    expect(p.secondOpinion).toMatchObject({ status: 'fail' });
    expect(p.decidedBy).toMatch(/^QEMU [\d.]+ \(qemu-\w+\)$/);
  });

  test("a program that crashes under both QEMUs is the image's fault, not the emulator's", async () => {
    before = await allContainers();
    // Not as PID 1: a guest crash in a container's first process makes QEMU kill itself with the
    // signal, which the kernel does not deliver to a namespace's init, so QEMU waits forever (a hang).
    const { r, p } = await verifyWith("sh -c 'kill -SEGV $$'; exit $?");
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    expect(p.mode).toBe('qemu');
    expect(p.checks!.run.message).toMatch(
      /^fails under QEMU [\d.]+ \(qemu-\w+\) \(.*(SIGSEGV|139).*\) and under QEMU [\d.]+ \(qemu-\w+\) \(.*(SIGSEGV|139).*\): this points at the image$/,
    );
    expect(p).toMatchObject({ emulatorSuspect: false, secondOpinion: { status: 'fail' } });
    // The two opinions came from two different QEMU versions.
    const versions = [...p.checks!.run.message!.matchAll(/QEMU ([\d.]+) \(qemu-/g)].map((m) => m[1]);
    expect(new Set(versions).size).toBe(2);
  });
});
