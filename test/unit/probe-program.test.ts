import { describe, expect, test } from 'vitest';
import { readElf } from '../../harness/image/elf.ts';
import { elfHeaderOf, PROBE_PLATFORMS, probeProgram } from '../../harness/host/probe-program.ts';
import { elfFacts, isKnownArchitecture, parsePlatform } from '../../harness/platform/platform.ts';

/** e_flags as the platform's ordinary binaries carry them (readelf of Debian's libc6-*-cross, 2.36). */
const FLAGS: Record<string, number> = {
  'linux/amd64': 0,
  'linux/386': 0,
  'linux/arm64': 0,
  'linux/arm/v5': 0x05000200,
  'linux/arm/v6': 0x05000200,
  'linux/arm/v7': 0x05000400,
  'linux/ppc64le': 2,
  'linux/ppc64': 2,
  'linux/s390x': 0,
  'linux/riscv64': 0x5,
  'linux/mips64le': 0x80000007,
  'linux/mips64': 0x80000007,
  'linux/loong64': 0x43,
};

/** The fields of the ELF and program headers the kernel's loader uses, read independently of readElf. */
function layout(buf: Uint8Array) {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const is64 = buf[4] === 2;
  const le = buf[5] === 1;
  const u16 = (o: number) => v.getUint16(o, le);
  const u32 = (o: number) => v.getUint32(o, le);
  const word = (o: number) => (is64 ? Number(v.getBigUint64(o, le)) : u32(o));
  const [entry, phoff, shoff] = is64 ? [word(24), word(32), word(40)] : [word(24), word(28), word(32)];
  const [ehsize, phentsize, phnum, shnum] = is64 ? [u16(52), u16(54), u16(56), u16(60)] : [u16(40), u16(42), u16(44), u16(48)];
  const p = phoff;
  const segment = is64
    ? { type: u32(p), flags: u32(p + 4), offset: word(p + 8), vaddr: word(p + 16), filesz: word(p + 32), memsz: word(p + 40) }
    : { type: u32(p), offset: word(p + 4), vaddr: word(p + 8), filesz: word(p + 16), memsz: word(p + 20), flags: u32(p + 24) };
  return { type: u16(16), version: u32(20), entry, phoff, shoff, ehsize, phentsize, phnum, shnum, segment };
}

describe('probeProgram', () => {
  test('there is a probe for every platform the harness knows', () => {
    expect([...PROBE_PLATFORMS].sort()).toEqual(Object.keys(FLAGS).sort());
    for (const s of PROBE_PLATFORMS) expect(isKnownArchitecture(parsePlatform(s)), s).toBe(true);
  });

  test.each(PROBE_PLATFORMS)('%s: the ELF header says what the platform is', (s) => {
    const platform = parsePlatform(s);
    const file = probeProgram(platform);
    const info = readElf(file);
    expect({ bits: info.bits, endian: info.endian, machine: info.machine }).toEqual(elfFacts(platform));
    expect(info.flags >>> 0).toBe(FLAGS[s]);
    expect(info.interpreter).toBeUndefined();
    if (platform.architecture === 'arm') expect(info.armFloat).toBe(platform.variant === 'v7' ? 'hard' : 'soft');
    if (platform.architecture.startsWith('ppc64')) expect(info.flags & 3, 'ELFv2: e_entry is code, not a function descriptor').toBe(2);
  });

  test.each(PROBE_PLATFORMS)('%s: one R+X PT_LOAD holds the whole file and the entry point', (s) => {
    const file = probeProgram(parsePlatform(s));
    const elf = layout(file);
    const is64 = file[4] === 2;
    expect(elf.type).toBe(2); // ET_EXEC
    expect(elf.version).toBe(1);
    expect([elf.ehsize, elf.phentsize, elf.phoff]).toEqual(is64 ? [64, 56, 64] : [52, 32, 52]);
    expect([elf.phnum, elf.shnum, elf.shoff]).toEqual([1, 0, 0]);
    expect(elf.segment).toMatchObject({ type: 1, flags: 0x5, offset: 0, filesz: file.length, memsz: file.length });
    expect(elf.segment.vaddr % 0x10000).toBe(0);
    const codeStart = elf.segment.vaddr + elf.ehsize + elf.phentsize;
    expect(elf.entry).toBe(codeStart);
    expect(elf.entry % 4).toBe(0);
    expect(elf.entry).toBeLessThan(elf.segment.vaddr + elf.segment.filesz);
    // The code is small: three system calls.
    expect(file.length - elf.ehsize - elf.phentsize).toBeGreaterThanOrEqual(30);
    expect(file.length - elf.ehsize - elf.phentsize).toBeLessThanOrEqual(64);
  });

  test('elfHeaderOf is the first 64 bytes of the program', () => {
    for (const s of PROBE_PLATFORMS) {
      const p = parsePlatform(s);
      const header = elfHeaderOf(p);
      expect(header.length, s).toBe(64);
      expect(header, s).toEqual(probeProgram(p).subarray(0, 64));
    }
  });

  test('arm variants share their code and differ in the float ABI flag only', () => {
    const [v5, v6, v7] = ['v5', 'v6', 'v7'].map((v) => probeProgram(parsePlatform(`linux/arm/${v}`)));
    expect(v5).toEqual(v6);
    expect(v7!.subarray(40)).toEqual(v5!.subarray(40)); // all but e_flags (offset 36)
    expect(v7!.subarray(0, 36)).toEqual(v5!.subarray(0, 36));
  });

  test('variants that need no other code use the base probe; unknown platforms throw', () => {
    expect(probeProgram(parsePlatform('linux/amd64/v3'))).toEqual(probeProgram(parsePlatform('linux/amd64')));
    expect(probeProgram(parsePlatform('linux/arm64/v8'))).toEqual(probeProgram(parsePlatform('linux/arm64')));
    expect(probeProgram(parsePlatform('linux/arm'))).toEqual(probeProgram(parsePlatform('linux/arm/v7')));
    expect(() => probeProgram(parsePlatform('linux/sparc64'))).toThrow(/no uname probe program for linux\/sparc64/);
    expect(() => probeProgram(parsePlatform('windows/amd64'))).toThrow(/no uname probe program for windows\/amd64/);
    expect(() => probeProgram(parsePlatform('linux/arm/v8'))).toThrow(/no uname probe program for linux\/arm\/v8/);
  });
});
