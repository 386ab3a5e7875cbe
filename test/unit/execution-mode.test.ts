import { describe, expect, test } from 'vitest';
import { parseHandler, type BinfmtHandler } from '../../harness/host/binfmt.ts';
import { classify } from '../../harness/platform/execution-mode.ts';
import type { PlatformObservation } from '../../harness/platform/observation.ts';
import { elfHeaderOf } from '../../harness/host/probe-program.ts';
import { matchingHandler } from '../../harness/host/binfmt.ts';
import { parsePlatform } from '../../harness/platform/platform.ts';

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
    expect(s390x.fix).toMatch(/prepare-host\.sh.*qemu-s390x/);
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
      offset: 0, magic: '7f454c460201010000000000000000000200b700', mask: 'ffffffffffffff00fffffffffffffffffeffffff',
    });
    expect(parseHandler('x', 'disabled\ninterpreter /q\nflags: OCF\n')).toMatchObject({ enabled: false, flags: 'OCF' });
  });

  test('a registration without flags has none (the next line is not read as its flags)', () => {
    const text = 'enabled\ninterpreter /usr/bin/jexec\nflags: \noffset 0\nmagic 504b0304\n';
    expect(parseHandler('jar', text)).toMatchObject({ flags: '', offset: 0, magic: '504b0304' });
  });
});

const ran = (platform: string, machine: string, handler?: string): PlatformObservation => ({ platform, ran: true, machine, ...(handler ? { handler } : {}), durationMs: 1 });
const failed = (platform: string, error: string, handler?: string): PlatformObservation => ({ platform, ran: false, error, ...(handler ? { handler } : {}), durationMs: 1 });

describe('classify from what was observed', () => {
  test('386 does not run natively here: unavailable, and the tables\' compat guess is named', () => {
    const host = { ...amd64Host([handler('qemu-aarch64')]), observations: { 'linux/386': failed('linux/386', 'exec format error') } };
    const r = classify(parsePlatform('linux/386'), host);
    expect(r).toMatchObject({ mode: 'unavailable', observed: true, tableExpected: { mode: 'compat', uname: 'x86_64' } });
    expect(r.reason).toMatch(/does not run linux\/386 programs itself \(exec format error\)/);
    expect(r.fix).toMatch(/qemu-i386/);
  });

  test('386 through a qemu-i386 handler expects i686, as observed', () => {
    const host = { ...amd64Host([handler('qemu-i386')]), observations: { 'linux/386': ran('linux/386', 'i686', 'qemu-i386') } };
    expect(classify(parsePlatform('linux/386'), host)).toMatchObject({ mode: 'qemu', expectedUname: 'i686', observed: true, emulator: { handler: 'qemu-i386' } });
  });

  test('386 in compat mode reports the 64-bit kernel', () => {
    const host = { ...amd64Host([]), observations: { 'linux/386': ran('linux/386', 'x86_64') } };
    const r = classify(parsePlatform('linux/386'), host);
    expect(r).toMatchObject({ mode: 'compat', expectedUname: 'x86_64', observed: true });
    expect(r.tableExpected).toBeUndefined();
  });

  test('arm does not run in compat on this arm64 host: with qemu-arm it is qemu, armv7l', () => {
    const arm64 = { native: parsePlatform('linux/arm64'), qemuVersions: {}, handlers: [handler('qemu-arm')] };
    const r = classify(parsePlatform('linux/arm/v7'), { ...arm64, observations: { 'linux/arm/v7': ran('linux/arm/v7', 'armv7l', 'qemu-arm') } });
    expect(r).toMatchObject({ mode: 'qemu', expectedUname: 'armv7l', observed: true });
    const none = classify(parsePlatform('linux/arm/v6'), { ...arm64, handlers: [], observations: { 'linux/arm/v6': failed('linux/arm/v6', 'exec format error') } });
    expect(none).toMatchObject({ mode: 'unavailable', tableExpected: { mode: 'compat', uname: 'armv8l' } });
  });

  test('the observed uname wins over the table: QEMU reporting another machine', () => {
    const host = { ...amd64Host([handler('qemu-arm')]), observations: { 'linux/arm/v6': ran('linux/arm/v6', 'armv6l', 'qemu-arm') } };
    const r = classify(parsePlatform('linux/arm/v6'), host);
    expect(r).toMatchObject({ mode: 'qemu', expectedUname: 'armv6l', tableExpected: { mode: 'qemu', uname: 'armv7l' } });
  });

  test('a program that crashed under its handler is unavailable, naming the handler', () => {
    const host = { ...amd64Host([handler('qemu-s390x')]), observations: { 'linux/s390x': failed('linux/s390x', 'killed by SIGSEGV', 'qemu-s390x') } };
    expect(classify(parsePlatform('linux/s390x'), host).reason).toMatch(/failed under its handler qemu-s390x .*SIGSEGV/);
  });

  test('amd64 levels share the amd64 observation; arm variants have their own', () => {
    const host = { ...amd64Host([]), observations: { 'linux/amd64': ran('linux/amd64', 'x86_64') } };
    expect(classify(parsePlatform('linux/amd64/v3'), host)).toMatchObject({ mode: 'native', observed: true });
    expect(classify(parsePlatform('linux/arm/v6'), host).observed).toBe(false);
  });
});

describe('matchingHandler', () => {
  const aarch64 = parseHandler('qemu-aarch64', 'enabled\ninterpreter /q\nflags: PF\noffset 0\nmagic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n');
  test('the kernel hands an arm64 program to qemu-aarch64, and nothing else to it', () => {
    expect(matchingHandler([aarch64], elfHeaderOf(parsePlatform('linux/arm64')))?.name).toBe('qemu-aarch64');
    expect(matchingHandler([aarch64], elfHeaderOf(parsePlatform('linux/riscv64')))).toBeUndefined();
    expect(matchingHandler([{ ...aarch64, enabled: false }], elfHeaderOf(parsePlatform('linux/arm64')))).toBeUndefined();
  });
});

describe('what uname cannot tell apart', () => {
  test('arm/v5, v6 and v7 under QEMU, mips64 and mips64le, 386 and amd64 in compat mode', async () => {
    const { unameTwins } = await import('../../harness/checks/run-verdict.ts');
    const host = { ...amd64Host([handler('qemu-arm'), handler('qemu-mips64el'), handler('qemu-mips64'), handler('qemu-aarch64')]),
      observations: { 'linux/386': ran('linux/386', 'x86_64'), 'linux/amd64': ran('linux/amd64', 'x86_64') } };
    const list = ['linux/amd64', 'linux/386', 'linux/arm/v6', 'linux/arm/v7', 'linux/arm64', 'linux/mips64le', 'linux/mips64'].map((p) => classify(parsePlatform(p), host));
    const twins = unameTwins(list);
    expect(twins.get('linux/386')).toEqual(['linux/amd64']);
    expect(twins.get('linux/arm/v6')).toEqual(['linux/arm/v7']);
    expect(twins.get('linux/mips64')).toEqual(['linux/mips64le']);
    expect(twins.has('linux/arm64')).toBe(false);
  });
});
