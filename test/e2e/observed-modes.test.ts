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
import { afterEach, describe, expect, test } from 'vitest';
import { parseHandler } from '../../harness/host/binfmt.ts';
import type { RunReport } from '../../harness/result/model.ts';
import { cli, harnessLeftovers, ROOT } from './helpers.ts';

const run = promisify(execFile);
const BINFMT = '/proc/sys/fs/binfmt_misc';
const I386 = `${BINFMT}/qemu-i386`;
const MAGIC = '\\x7f\\x45\\x4c\\x46\\x01\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\x03\\x00';
const MASK = '\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff';
const ALPINE = '127.0.0.1:5001/library/alpine:latest';

interface DoctorRow { platform: { os: string; architecture: string; variant?: string }; mode: string; expectedUname?: string; observed: boolean; emulator?: { handler: string } }

async function observed386(): Promise<DoctorRow> {
  const r = await cli(['doctor', '--json']);
  expect(r.exitCode, r.stderr).toBe(0);
  const rows = (JSON.parse(r.stdout) as { platforms: DoctorRow[] }).platforms;
  return rows.find((x) => x.platform.architecture === '386')!;
}

/** A QEMU for i386 on this machine: the current one prepare-host keeps, else Debian's 7.2. */
async function someQemuI386(): Promise<string> {
  const kept = await readdir('/var/lib/multiarch-harness/emulators').catch(() => [] as string[]);
  const current = kept.map((d) => `/var/lib/multiarch-harness/emulators/${d}/qemu-i386`);
  for (const c of [...current, '/usr/bin/qemu-i386-static']) if (await readFile(c).then(() => true, () => false)) return c;
  throw new Error('no QEMU for i386 on this machine (bash setup/prepare-host.sh installs one)');
}

/** The registration line that recreates a handler from its /proc text. */
function registrationOf(text: string): string {
  const h = parseHandler('qemu-i386', text);
  const escaped = (hex: string) => hex.replace(/../g, (b) => `\\x${b}`);
  return `:qemu-i386:M:${h.offset ?? 0}:${escaped(h.magic!)}:${escaped(h.mask!)}:${h.interpreter}:${h.flags}`;
}

let original: string | undefined;
async function saveHandler(): Promise<void> {
  original = await readFile(I386, 'utf8').catch(() => undefined);
}
afterEach(async () => {
  // Put back exactly what was there.
  await writeFile(I386, '-1').catch(() => undefined);
  if (original !== undefined) {
    await writeFile(`${BINFMT}/register`, registrationOf(original));
    if (!/^enabled$/m.test(original)) await writeFile(I386, '0');
    expect(parseHandler('qemu-i386', await readFile(I386, 'utf8'))).toEqual(parseHandler('qemu-i386', original));
  }
  expect(await harnessLeftovers()).toEqual([]);
});

describe('observed execution modes', () => {
  test('386 follows the qemu-i386 handler: qemu with i686 while one is there, what the kernel does without it', async () => {
    await saveHandler();
    const before = await observed386();
    expect(before.observed).toBe(true);
    if (original !== undefined) {
      // This host runs 386 through a handler (its kernel cannot, or it was asked to emulate it).
      expect(before).toMatchObject({ mode: 'qemu', expectedUname: 'i686' });
      await writeFile(I386, '0');
      const without = await observed386();
      expect(without.observed).toBe(true);
      expect(['compat', 'unavailable']).toContain(without.mode);
      if (without.mode === 'compat') expect(without.expectedUname).toBe('x86_64');
    } else {
      expect(['compat', 'unavailable']).toContain(before.mode);
      await writeFile(`${BINFMT}/register`, `:qemu-i386:M:0:${MAGIC}:${MASK}:${await someQemuI386()}:F`);
      expect(await observed386()).toMatchObject({ mode: 'qemu', expectedUname: 'i686', observed: true, emulator: { handler: 'qemu-i386' } });
      await writeFile(I386, '-1');
      expect(await observed386()).toMatchObject({ mode: before.mode, observed: true });
    }
  });

  test('an emulator that crashes real programs gets a second opinion from another QEMU, which decides', async () => {
    await saveHandler();
    const tmp = await mkdtemp(join(tmpdir(), 'mah-lying-'));
    try {
      const liar = join(tmp, 'lying-emulator');
      await run('cc', ['-static', '-O2', '-o', liar, join(ROOT, 'test/fixtures/lying-emulator.c')]);
      await writeFile(I386, '-1').catch(() => undefined);
      await writeFile(`${BINFMT}/register`, `:qemu-i386:M:0:${MAGIC}:${MASK}:${liar}:F`);
      // The probe runs (the liar answers it), so 386 is observed as qemu.
      expect(await observed386()).toMatchObject({ mode: 'qemu', expectedUname: 'i686' });

      const json = join(tmp, 'report.json');
      const r = await cli(['verify', ALPINE, '--platforms', 'linux/386', '--expect-uname', '--command', 'uname', '--command=-m', '--json', json, '--quiet']);
      const report = JSON.parse(await readFile(json, 'utf8')) as RunReport;
      const p = report.platforms[0]!;
      expect(p.checks!.run.status, p.checks!.run.message).toBe('pass');
      expect(p.checks!.run.message).toMatch(/^crashes under QEMU \(version unknown\) \(qemu-i386\) .*exited with 139.*, passes under QEMU [\d.]+ \(qemu-i386\): this points at the emulator/);
      expect(p).toMatchObject({ mode: 'qemu', emulatorSuspect: true, output: 'i686', secondOpinion: { status: 'pass', output: 'i686' } });
      expect(p.decidedBy).toMatch(/^QEMU [\d.]+ \(qemu-i386\)$/);
      expect(r.exitCode, r.stderr).toBe(0);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
