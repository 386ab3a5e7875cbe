import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, test } from 'vitest';
import { checkBinary } from '../../harness/image/binary-rules.ts';
import { isElf, NotElfError, readElf } from '../../harness/image/elf.ts';
import { elfFacts, formatPlatform, goTarget, parsePlatform, type Platform } from '../../harness/platform/platform.ts';
import { debianBusybox, helloForEveryPlatform, helloWith, type GoBinary } from '../support/real-binaries.ts';

let hellos: Array<{ platform: Platform; binary: GoBinary }> = [];

beforeAll(async () => {
  hellos = await helloForEveryPlatform();
}, 600_000);

describe('readElf on real Go binaries of every platform', () => {
  test('header and Go build settings match the platform each was built for', async () => {
    expect(hellos.length).toBe(13);
    for (const { platform, binary } of hellos) {
      const info = readElf(await readFile(binary.path));
      const want = elfFacts(platform);
      expect({ bits: info.bits, endian: info.endian, machine: info.machine }, formatPlatform(platform)).toEqual(want);
      const { goos, goarch, goarm } = goTarget(platform);
      expect(info.go?.version).toMatch(/^go1\.\d+/);
      expect(info.go?.settings.GOOS).toBe(goos);
      expect(info.go?.settings.GOARCH).toBe(goarch);
      if (goarm) expect(info.go?.settings.GOARM).toMatch(new RegExp(`^${goarm}`));
      expect(info.interpreter).toBeUndefined();
      expect(checkBinary(info, platform), formatPlatform(platform)).toMatchObject({ pass: true, problems: [] });
    }
  });

  test('each binary fails every platform of another machine, byte order or class', async () => {
    const byName = new Map(hellos.map((h) => [formatPlatform(h.platform), h]));
    const arm64 = readElf(await readFile(byName.get('linux/arm64')!.binary.path));
    const amd64 = readElf(await readFile(byName.get('linux/amd64')!.binary.path));
    const mips64le = readElf(await readFile(byName.get('linux/mips64le')!.binary.path));
    const arm7 = readElf(await readFile(byName.get('linux/arm/v7')!.binary.path));

    const amdAsArm = checkBinary(amd64, parsePlatform('linux/arm64'));
    expect(amdAsArm.pass).toBe(false);
    expect(amdAsArm.problems.join('; ')).toMatch(/built for x86-64 \(e_machine 62\), not linux\/arm64/);
    expect(amdAsArm.problems.join('; ')).toMatch(/GOARCH=amd64, not arm64/);
    expect(checkBinary(arm64, parsePlatform('linux/amd64')).pass).toBe(false);
    expect(checkBinary(mips64le, parsePlatform('linux/mips64')).problems.join(';')).toMatch(/little-endian, linux\/mips64 is big-endian/);
    expect(checkBinary(arm7, parsePlatform('linux/arm64')).problems.join(';')).toMatch(/32-bit, linux\/arm64 is 64-bit/);
  });

  test('an arm/v6 image holding GOARM=7 code fails; GOARM=6 and 5 pass', async () => {
    const byName = new Map(hellos.map((h) => [formatPlatform(h.platform), h]));
    const v7code = readElf(await readFile(byName.get('linux/arm/v7')!.binary.path));
    const verdict = checkBinary(v7code, parsePlatform('linux/arm/v6'));
    expect(verdict.pass).toBe(false);
    expect(verdict.problems).toContain('it is Go code built with GOARM=7, more than linux/arm/v6 (GOARM=6)');
    expect(checkBinary(readElf(await readFile(byName.get('linux/arm/v6')!.binary.path)), parsePlatform('linux/arm/v6')).pass).toBe(true);
    expect(checkBinary(readElf(await readFile(byName.get('linux/arm/v5')!.binary.path)), parsePlatform('linux/arm/v6')).pass).toBe(true);
  });

  test('GOAMD64=v3 code fails linux/amd64 but passes linux/amd64/v3', async () => {
    const v3 = readElf(await readFile((await helloWith('hello-amd64-v3', { GOOS: 'linux', GOARCH: 'amd64', GOAMD64: 'v3' })).path));
    expect(v3.go?.settings.GOAMD64).toBe('v3');
    expect(checkBinary(v3, parsePlatform('linux/amd64')).problems).toContain('it is Go code built with GOAMD64=v3, more than linux/amd64');
    expect(checkBinary(v3, parsePlatform('linux/amd64/v3')).pass).toBe(true);
  }, 120_000);
});

describe('ARM build attributes of non-Go binaries (Debian busybox-static)', () => {
  test('armel is ARMv5TE soft-float and fits arm/v6; armhf is ARMv7 hard-float and does not', async () => {
    const armel = readElf(await readFile(await debianBusybox('armel')));
    expect(armel).toMatchObject({ machine: 40, armArchName: 'v5TE', armArch: 5, armFloat: 'soft' });
    expect(armel.go).toBeUndefined();
    expect(checkBinary(armel, parsePlatform('linux/arm/v6')).pass).toBe(true);

    const armhf = readElf(await readFile(await debianBusybox('armhf')));
    expect(armhf).toMatchObject({ machine: 40, armArch: 7, armFloat: 'hard' });
    const v6 = checkBinary(armhf, parsePlatform('linux/arm/v6'));
    expect(v6.pass).toBe(false);
    expect(v6.problems[0]).toMatch(/ARM attributes require ARM v7/);
    expect(checkBinary(armhf, parsePlatform('linux/arm/v7')).pass).toBe(true);
  }, 300_000);
});

describe('not ELF', () => {
  test('a script or garbage is refused with NotElfError', () => {
    expect(isElf(Buffer.from('#!/bin/sh\n'))).toBe(false);
    expect(() => readElf(Buffer.from('#!/bin/sh\necho hi\n'))).toThrow(NotElfError);
    expect(() => readElf(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 9, 9]))).toThrow(/unknown class/);
  });
});
