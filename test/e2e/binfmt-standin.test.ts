// The tonistiigi/binfmt stand-in against the real kernel. With the host's qemu-mips64el handler (if
// it has one) taken away for the test, `--install mips64le` registers the image's own emulator, a mips64le
// program runs through it from another container (flag F: the kernel holds the emulator open),
// `--uninstall` removes it again, and binfmt_misc is put back exactly as it was, entry by entry.
import { readFile, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { parseHandler } from '../../harness/host/binfmt.ts';
import { restoreBinfmt, snapshotBinfmt } from './support/host-facts.ts';

const HANDLER = '/proc/sys/fs/binfmt_misc/qemu-mips64el';
const binfmt = (...args: string[]) => execa('docker', ['run', '--privileged', '--rm', 'tonistiigi/binfmt', ...args]);
const supported = async () => (JSON.parse((await binfmt()).stdout) as { supported: string[] }).supported;

describe('tonistiigi/binfmt stand-in', () => {
  test("installs a working handler where none is, and uninstalls it; the host's is restored", async () => {
    const original = await snapshotBinfmt();
    try {
      await writeFile(HANDLER, '-1').catch(() => undefined);
      expect(await supported()).not.toContain('linux/mips64le');

      const install = await binfmt('--install', 'mips64le');
      expect(install.stderr).toMatch(/^installing: mips64le OK$/m);
      expect(parseHandler('qemu-mips64el', await readFile(HANDLER, 'utf8'))).toMatchObject({
        enabled: true,
        interpreter: '/usr/bin/qemu-mips64el',
        flags: 'POCF',
      });
      // A later container, with the registering one gone, runs mips64le code through it.
      expect(await supported()).toContain('linux/mips64le');

      const uninstall = await binfmt('--uninstall', 'mips64le');
      expect(uninstall.stderr).toMatch(/^uninstalling: mips64el OK$/m);
      expect(await readFile(HANDLER, 'utf8').catch(() => 'gone')).toBe('gone');
      expect(await supported()).not.toContain('linux/mips64le');
    } finally {
      await restoreBinfmt(original);
    }
    expect(await snapshotBinfmt()).toEqual(original);
  });

  test('without --privileged it cannot mount binfmt_misc, says so, and, like upstream, exits 0', async () => {
    const r = await execa('docker', ['run', '--rm', 'tonistiigi/binfmt'], { reject: false });
    expect(r.stderr).toMatch(/^error: cannot mount binfmt_misc filesystem at \/proc\/sys\/fs\/binfmt_misc: operation not permitted$/m);
    expect(r.exitCode).toBe(0);
  });
});
