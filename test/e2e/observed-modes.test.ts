// How a platform runs is observed on the real kernel and engine, never taken from a table. These
// tests change the host's qemu-i386 handler (registering, disabling or replacing it) and always put
// back exactly what was there: on a machine whose kernel runs 386 natively and on one where it
// cannot, 386 is seen to follow the handler; and an emulator that crashes real programs (while it
// answers the probe) gets a second opinion from another QEMU at hand.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { stateDir } from '../../harness/base/state-dir.ts';
import type { SessionReport } from '../../harness/result/model.ts';
import { cli, harnessLeftovers, ROOT } from './helpers.ts';
import { probeDirectly, restoreBinfmt, snapshotBinfmt } from './support/host-facts.ts';

const run = promisify(execFile);
const BINFMT = '/proc/sys/fs/binfmt_misc';
const I386 = `${BINFMT}/qemu-i386`;
const MAGIC = '\\x7f\\x45\\x4c\\x46\\x01\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\x03\\x00';
const MASK = '\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff';
const ALPINE = '127.0.0.1:5001/library/alpine:latest';

interface DoctorRow {
  platform: { os: string; architecture: string; variant?: string };
  mode: string;
  expectedUname?: string;
  observed: boolean;
  emulator?: { handler: string };
}

async function observed386(): Promise<DoctorRow> {
  const r = await cli(['doctor', '--json', '-']);
  expect(r.exitCode, r.stderr).toBe(0);
  const rows = (JSON.parse(r.stdout) as { platforms: DoctorRow[] }).platforms;
  return rows.find((x) => x.platform.architecture === '386')!;
}

/** A QEMU for i386 on this machine: the ones prepare-host keeps in the state folder, else Debian's 7.2. */
async function someQemuI386(): Promise<string> {
  const kept = await readdir(join(stateDir(), 'emulators')).catch(() => [] as string[]);
  const current = kept.map((d) => join(stateDir(), 'emulators', d, 'qemu-i386'));
  for (const c of [...current, '/usr/bin/qemu-i386-static'])
    if (
      await readFile(c).then(
        () => true,
        () => false,
      )
    )
      return c;
  throw new Error('no QEMU for i386 on this machine (bash setup/prepare-host.sh installs one)');
}

let binfmt: Map<string, string>;
beforeEach(async () => {
  binfmt = await snapshotBinfmt();
});
afterEach(async () => {
  // Put back exactly what was there, entry by entry.
  await restoreBinfmt(binfmt);
  expect(await snapshotBinfmt()).toEqual(binfmt);
  expect(await harnessLeftovers()).toEqual([]);
});

describe('observed execution modes', () => {
  test('386 follows the qemu-i386 handler: what the kernel does without one, qemu with i686 while one is there', async () => {
    // Both halves on every machine, each held against the 386 probe run directly on this host.
    await writeFile(I386, '-1').catch(() => undefined);
    const bare = await probeDirectly('linux/386');
    const without = await observed386();
    expect(without.observed).toBe(true);
    if (bare.ran) expect(without).toMatchObject({ mode: 'compat', expectedUname: bare.machine });
    else expect(without.mode).toBe('unavailable');

    await writeFile(`${BINFMT}/register`, `:qemu-i386:M:0:${MAGIC}:${MASK}:${await someQemuI386()}:F`);
    const emulated = await probeDirectly('linux/386');
    expect(emulated).toMatchObject({ ran: true, handler: 'qemu-i386' });
    expect(await observed386()).toMatchObject({
      mode: 'qemu',
      expectedUname: emulated.machine,
      observed: true,
      emulator: { handler: 'qemu-i386' },
    });
  });

  test('an emulator that crashes real programs gets a second opinion from another QEMU, which decides', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'mah-lying-'));
    try {
      const liar = join(tmp, 'lying-emulator');
      await run('cc', ['-static', '-O2', '-o', liar, join(ROOT, 'test/fixtures/lying-emulator.c')]);
      await writeFile(I386, '-1').catch(() => undefined);
      await writeFile(`${BINFMT}/register`, `:qemu-i386:M:0:${MAGIC}:${MASK}:${liar}:F`);
      // The probe runs (the liar answers it), so 386 is observed as qemu.
      expect(await observed386()).toMatchObject({ mode: 'qemu', expectedUname: 'i686' });

      const json = join(tmp, 'report.json');
      const r = await cli([
        'verify',
        ALPINE,
        '--platforms',
        'linux/386',
        '--expect-uname',
        '--command',
        'uname',
        '--command=-m',
        '--json',
        json,
        '--quiet',
      ]);
      const report = JSON.parse(await readFile(json, 'utf8')) as SessionReport;
      const p = report.platforms[0]!;
      expect(p.checks!.run.status, p.checks!.run.message).toBe('pass');
      expect(p.checks!.run.message).toMatch(
        /^crashes under QEMU \(version unknown\) \(qemu-i386\) .*exited with 139.*, passes under QEMU [\d.]+ \(qemu-i386\): this points at the emulator/,
      );
      expect(p).toMatchObject({ mode: 'qemu', emulatorSuspect: true, output: 'i686', secondOpinion: { status: 'pass', output: 'i686' } });
      expect(p.decidedBy).toMatch(/^QEMU [\d.]+ \(qemu-i386\)$/);
      expect(r.exitCode, r.stderr).toBe(0);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
