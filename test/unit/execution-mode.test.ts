import { describe, expect, test } from 'vitest';
import { parseHandler, type BinfmtHandler } from '../../harness/binfmt.ts';
import { classify } from '../../harness/execution-mode.ts';
import { parsePlatform } from '../../harness/platform.ts';

const handler = (name: string, flags = 'PF', enabled = true): BinfmtHandler => ({
  name, enabled, flags, interpreter: `/usr/libexec/qemu-binfmt/${name.replace('qemu-', '')}-binfmt-P`,
});

const amd64Host = (handlers: BinfmtHandler[]) => ({
  native: parsePlatform('linux/amd64'), handlers, qemuVersions: { '/usr/libexec/qemu-binfmt/arm-binfmt-P': '7.2.22' },
});

describe('classify on an amd64 host', () => {
  const host = amd64Host([handler('qemu-aarch64'), handler('qemu-arm'), handler('qemu-mips64el'), handler('qemu-riscv64', 'P')]);

  test('amd64 is native, any microarchitecture level', () => {
    expect(classify(parsePlatform('linux/amd64'), host)).toMatchObject({ mode: 'native', expectedUname: 'x86_64', timeoutFactor: 1 });
    expect(classify(parsePlatform('linux/amd64/v3'), host).mode).toBe('native');
  });

  test('386 runs in compat mode and reports the 64-bit kernel', () => {
    expect(classify(parsePlatform('linux/386'), host)).toMatchObject({ mode: 'compat', expectedUname: 'x86_64' });
  });

  test('a registered qemu-i386 handler wins over compat mode', () => {
    expect(classify(parsePlatform('linux/386'), amd64Host([handler('qemu-i386')])).mode).toBe('qemu');
  });

  test('arm/v6 under QEMU reports armv7l, mips64le reports mips64', () => {
    const v6 = classify(parsePlatform('linux/arm/v6'), host);
    expect(v6).toMatchObject({ mode: 'qemu', expectedUname: 'armv7l' });
    expect(v6.emulator).toEqual({ handler: 'qemu-arm', interpreter: '/usr/libexec/qemu-binfmt/arm-binfmt-P', flags: 'PF', qemuVersion: '7.2.22' });
    expect(classify(parsePlatform('linux/mips64le'), host).expectedUname).toBe('mips64');
    expect(classify(parsePlatform('linux/arm64'), host).timeoutFactor).toBeGreaterThan(1);
  });

  test('a missing handler makes the platform unavailable, with the fix', () => {
    const s390x = classify(parsePlatform('linux/s390x'), host);
    expect(s390x.mode).toBe('unavailable');
    expect(s390x.reason).toMatch(/no binfmt_misc handler qemu-s390x/);
    expect(s390x.fix).toMatch(/update-binfmts --enable qemu-s390x/);
    expect(s390x.fix).toMatch(/tonistiigi\/binfmt --install s390x/);
  });

  test('a handler without the F flag cannot serve containers', () => {
    expect(classify(parsePlatform('linux/riscv64'), host)).toMatchObject({ mode: 'unavailable', reason: expect.stringMatching(/without the F flag/) });
  });

  test('a disabled handler is unavailable', () => {
    expect(classify(parsePlatform('linux/arm64'), amd64Host([handler('qemu-aarch64', 'PF', false)])).reason).toMatch(/disabled/);
  });

  test('another OS is unavailable', () => {
    expect(classify(parsePlatform('windows/amd64'), host).mode).toBe('unavailable');
  });
});

describe('classify on an arm64 host', () => {
  test('arm/v7 is compat without a qemu-arm handler, qemu with one', () => {
    const arm64 = { native: parsePlatform('linux/arm64'), qemuVersions: {} };
    expect(classify(parsePlatform('linux/arm/v7'), { ...arm64, handlers: [] })).toMatchObject({ mode: 'compat', expectedUname: 'armv8l' });
    expect(classify(parsePlatform('linux/arm/v7'), { ...arm64, handlers: [handler('qemu-arm')] }).mode).toBe('qemu');
    expect(classify(parsePlatform('linux/amd64'), { ...arm64, handlers: [] }).mode).toBe('unavailable');
  });
});

describe('parseHandler', () => {
  test('reads the kernel text of a registration', () => {
    const text = 'enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\noffset 0\nmagic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n';
    expect(parseHandler('qemu-aarch64', text)).toEqual({
      name: 'qemu-aarch64', enabled: true, interpreter: '/usr/libexec/qemu-binfmt/aarch64-binfmt-P', flags: 'PF',
      magic: '7f454c460201010000000000000000000200b700',
    });
    expect(parseHandler('x', 'disabled\ninterpreter /q\nflags: OCF\n')).toMatchObject({ enabled: false, flags: 'OCF' });
  });
});
