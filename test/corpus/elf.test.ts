/**
 * The ELF reader on real binaries of every platform: the article's hello.go built here by Go for
 * each (test/support/real-binaries.ts), Debian's programs and libraries (debian-programs.ts) and
 * npm's release binaries (npm-binaries.ts), fetched or built once into the state folder's
 * <state>/corpus/ (by the set-up, setup/fetch-corpus.ts, or here when missing). The reader's tests
 * on constructed files are in test/unit/elf.test.ts.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { checkBinary, describeElf } from '../../harness/image/binary-rules.ts';
import { readElf } from '../../harness/image/elf.ts';
import { elfFacts, formatPlatform, goTarget, parsePlatform, type Platform } from '../../harness/platform/platform.ts';
import { debianHellos, debianLibcs, type DebianProgram } from '../support/debian-programs.ts';
import { npmFile } from '../support/npm-binaries.ts';
import { debianBusybox, helloAmd64V3, helloForEveryPlatform, type GoBinary } from '../support/real-binaries.ts';
import { withoutSectionHeaders } from '../support/elf-edits.ts';

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
    const v3 = readElf(await readFile((await helloAmd64V3()).path));
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

describe('dynamic linking of Debian C programs (PT_INTERP, PT_DYNAMIC)', () => {
  // Observed with readelf -l / -d. Where glibc's loader is in DT_NEEDED too, the toolchain put it there.
  const WANT: Record<string, { platform: string; interpreter: string; needed: string[] }> = {
    amd64: { platform: 'linux/amd64', interpreter: '/lib64/ld-linux-x86-64.so.2', needed: ['libc.so.6'] },
    i386: { platform: 'linux/386', interpreter: '/lib/ld-linux.so.2', needed: ['libc.so.6'] },
    arm64: { platform: 'linux/arm64', interpreter: '/lib/ld-linux-aarch64.so.1', needed: ['libc.so.6', 'ld-linux-aarch64.so.1'] },
    armhf: { platform: 'linux/arm/v7', interpreter: '/lib/ld-linux-armhf.so.3', needed: ['libc.so.6', 'ld-linux-armhf.so.3'] },
    armel: { platform: 'linux/arm/v6', interpreter: '/lib/ld-linux.so.3', needed: ['libc.so.6', 'ld-linux.so.3'] },
    ppc64el: { platform: 'linux/ppc64le', interpreter: '/lib64/ld64.so.2', needed: ['libc.so.6'] },
    s390x: { platform: 'linux/s390x', interpreter: '/lib/ld64.so.1', needed: ['libc.so.6'] },
    riscv64: {
      platform: 'linux/riscv64',
      interpreter: '/lib/ld-linux-riscv64-lp64d.so.1',
      needed: ['libc.so.6', 'ld-linux-riscv64-lp64d.so.1'],
    },
    mips64el: { platform: 'linux/mips64le', interpreter: '/lib64/ld.so.1', needed: ['libc.so.6', 'ld.so.1'] },
  };
  let hellos: DebianProgram[] = [];
  beforeAll(async () => {
    hellos = await debianHellos();
  }, 600_000);

  test('hello of nine architectures: its loader and the libraries it needs, with or without section headers', async () => {
    expect(hellos.map((h) => h.arch).sort()).toEqual(Object.keys(WANT).sort());
    for (const hello of hellos) {
      const want = WANT[hello.arch]!;
      const file = await readFile(hello.path);
      const info = readElf(file);
      expect(info, `${hello.suite} ${hello.arch}`).toMatchObject({ interpreter: want.interpreter, needed: want.needed });
      expect(info.runpath ?? info.rpath ?? info.soname).toBeUndefined();
      const bare = readElf(withoutSectionHeaders(file));
      expect([bare.interpreter, bare.needed], `${hello.arch} without section headers`).toEqual([want.interpreter, want.needed]);
      expect(checkBinary(info, parsePlatform(want.platform)), hello.arch).toMatchObject({ pass: true, problems: [] });
    }
  });

  test("glibc: libc.so.6's soname and needed loader; a gconv module's DT_RUNPATH $ORIGIN", async () => {
    const triplets = {
      amd64: ['x86_64-linux-gnu', 'ld-linux-x86-64.so.2'],
      arm64: ['aarch64-linux-gnu', 'ld-linux-aarch64.so.1'],
      armhf: ['arm-linux-gnueabihf', 'ld-linux-armhf.so.3'],
    } as const;
    const libcs = await debianLibcs(['amd64', 'arm64', 'armhf']);
    for (const [arch, [triplet, loader]] of Object.entries(triplets)) {
      const root = join(libcs.get(arch)!, 'usr/lib', triplet);
      const libc = readElf(withoutSectionHeaders(await readFile(join(root, 'libc.so.6'))));
      expect(libc, arch).toMatchObject({ soname: 'libc.so.6', needed: [loader] });
      const gconv = readElf(await readFile(join(root, 'gconv/EUC-KR.so')));
      expect(gconv.runpath, arch).toEqual(['$ORIGIN']);
      expect(gconv.needed?.slice(0, 2), arch).toEqual(['libKSC.so', 'libc.so.6']);
      expect(gconv.rpath).toBeUndefined();
    }
  }, 600_000);

  test("sharp's Node addon (npm): DT_RPATH, split on ':', and DT_SONAME", async () => {
    const addon = readElf(await readFile(await npmFile('@img/sharp-linux-x64', '0.35.5', 'lib/sharp-linux-x64-0.35.5.node')));
    expect(addon.soname).toBe('sharp-linux-x64-0.35.5.node');
    expect(addon.needed).toEqual([
      'libvips-cpp.so.8.18.7',
      'libstdc++.so.6',
      'libm.so.6',
      'libgcc_s.so.1',
      'libpthread.so.0',
      'libc.so.6',
      'ld-linux-x86-64.so.2',
    ]);
    expect(addon.rpath).toHaveLength(5);
    expect(addon.rpath?.[0]).toBe('$ORIGIN/../../sharp-libvips-linux-x64/lib');
    expect(addon.runpath).toBeUndefined();
  }, 300_000);
});

describe('x86-64 ISA level from the GNU property note, on real binaries', () => {
  test("Debian's amd64 programs are marked x86-64 baseline; other machines carry no level", async () => {
    const hellos = await debianHellos();
    const amd64 = readElf(await readFile(hellos.find((h) => h.arch === 'amd64')!.path));
    expect(amd64.x86IsaNeeded).toBe(1);
    expect(describeElf(amd64)).toBe('ELF 64-bit LSB x86-64, needs x86-64 baseline, dynamic (/lib64/ld-linux-x86-64.so.2)');
    expect(checkBinary(amd64, parsePlatform('linux/amd64')).pass).toBe(true);
    const libc = readElf(
      withoutSectionHeaders(await readFile(join((await debianLibcs(['amd64'])).get('amd64')!, 'usr/lib/x86_64-linux-gnu/libc.so.6'))),
    );
    expect(libc.x86IsaNeeded).toBe(1);
    expect(readElf(await readFile(hellos.find((h) => h.arch === 'arm64')!.path)).x86IsaNeeded).toBeUndefined();
  }, 600_000);
});
