/**
 * Reads what a binary was built for, without running it: the ELF header (class, byte order,
 * machine, flags, interpreter), the ARM build attributes (.ARM.attributes: Tag_CPU_arch), and Go's
 * embedded build settings (GOARCH, GOARM, GOAMD64 from the .go.buildinfo blob).
 */

export interface ElfInfo {
  bits: 32 | 64;
  endian: 'little' | 'big';
  machine: number;
  machineName: string;
  flags: number;
  /** PT_INTERP: the dynamic loader a dynamically linked binary needs. */
  interpreter?: string;
  /** ARM only: the architecture version from Tag_CPU_arch (5, 6, 7, 8), when the attribute is there. */
  armArch?: number;
  armArchName?: string;
  /** ARM only: hard-float ABI (EF_ARM_ABI_FLOAT_HARD) or soft-float. */
  armFloat?: 'hard' | 'soft';
  go?: GoBuildInfo;
}

export interface GoBuildInfo {
  version: string;
  /** build settings: GOOS, GOARCH, GOARM, GOAMD64, CGO_ENABLED, ... */
  settings: Record<string, string>;
}

export class NotElfError extends Error {
  override name = 'NotElfError';
}

const MACHINE_NAMES: Record<number, string> = {
  3: 'Intel 80386', 8: 'MIPS', 20: 'PowerPC', 21: 'PowerPC64', 22: 'IBM S/390', 40: 'ARM', 62: 'x86-64',
  183: 'AArch64', 243: 'RISC-V', 258: 'LoongArch',
};

/** Tag_CPU_arch values (ARM IHI 0045) and the architecture version each means. */
const ARM_CPU_ARCH: Record<number, [string, number]> = {
  0: ['pre-v4', 3], 1: ['v4', 4], 2: ['v4T', 4], 3: ['v5T', 5], 4: ['v5TE', 5], 5: ['v5TEJ', 5], 6: ['v6', 6], 7: ['v6KZ', 6],
  8: ['v6T2', 6], 9: ['v6K', 6], 10: ['v7', 7], 11: ['v6-M', 6], 12: ['v6S-M', 6], 13: ['v7E-M', 7], 14: ['v8-A', 8],
};

const SHT_ARM_ATTRIBUTES = 0x70000003;
const PT_INTERP = 3;
const EM_ARM = 40;

export function isElf(buf: Uint8Array): boolean {
  return buf.length >= 4 && buf[0] === 0x7f && buf[1] === 0x45 && buf[2] === 0x4c && buf[3] === 0x46;
}

export function readElf(input: Uint8Array): ElfInfo {
  if (!isElf(input)) throw new NotElfError('not an ELF file');
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const bits = buf[4] === 2 ? 64 : buf[4] === 1 ? 32 : undefined;
  const endian = buf[5] === 1 ? 'little' : buf[5] === 2 ? 'big' : undefined;
  if (!bits || !endian) throw new NotElfError('ELF header with an unknown class or byte order');
  const le = endian === 'little';
  const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const addr = (o: number) => (bits === 64 ? Number(le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o)) : u32(o));
  const machine = u16(18);
  const [phoff, shoff, flags] = bits === 64 ? [addr(32), addr(40), u32(48)] : [addr(28), addr(32), u32(36)];
  const [phentsize, phnum, shentsize, shnum, shstrndx] =
    bits === 64 ? [u16(54), u16(56), u16(58), u16(60), u16(62)] : [u16(42), u16(44), u16(46), u16(48), u16(50)];
  const info: ElfInfo = { bits, endian, machine, machineName: MACHINE_NAMES[machine] ?? `machine ${machine}`, flags };

  for (let i = 0; i < phnum && phoff + (i + 1) * phentsize <= buf.length; i++) {
    const p = phoff + i * phentsize;
    if (u32(p) !== PT_INTERP) continue;
    const [off, size] = bits === 64 ? [addr(p + 8), addr(p + 32)] : [u32(p + 4), u32(p + 16)];
    if (off + size <= buf.length) info.interpreter = buf.subarray(off, off + size).toString('latin1').replace(/\0+$/, '');
  }

  if (machine === EM_ARM) {
    info.armFloat = flags & 0x400 ? 'hard' : 'soft';
    for (let i = 0; i < shnum && shoff + (i + 1) * shentsize <= buf.length; i++) {
      const s = shoff + i * shentsize;
      if (u32(s + 4) !== SHT_ARM_ATTRIBUTES) continue;
      const [off, size] = [u32(s + 16), u32(s + 20)];
      const arch = armCpuArch(buf.subarray(off, off + size), le);
      if (arch !== undefined && ARM_CPU_ARCH[arch]) [info.armArchName, info.armArch] = ARM_CPU_ARCH[arch];
    }
  }
  void shstrndx;
  const go = readGoBuildInfo(buf);
  if (go) info.go = go;
  return info;
}

function uleb(buf: Buffer, at: number): [number, number] {
  let result = 0;
  let shift = 0;
  let i = at;
  for (; i < buf.length; i++) {
    const b = buf[i]!;
    result += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) return [result, i + 1];
  }
  return [result, i];
}

/** Tag_CPU_arch (tag 6) from the "aeabi" subsection of .ARM.attributes. */
export function armCpuArch(sec: Buffer, le: boolean): number | undefined {
  if (sec[0] !== 0x41 /* 'A' */) return undefined;
  let p = 1;
  while (p + 4 < sec.length) {
    const len = le ? sec.readUInt32LE(p) : sec.readUInt32BE(p);
    const end = Math.min(p + len, sec.length);
    const nul = sec.indexOf(0, p + 4);
    const vendor = sec.subarray(p + 4, nul).toString('latin1');
    let q = nul + 1;
    while (vendor === 'aeabi' && q < end) {
      const [tag, afterTag] = uleb(sec, q);
      const size = le ? sec.readUInt32LE(afterTag) : sec.readUInt32BE(afterTag);
      const subEnd = Math.min(q + size, end);
      let r = afterTag + 4;
      if (tag === 1 /* Tag_File */) {
        while (r < subEnd) {
          const [attr, next] = uleb(sec, r);
          r = next;
          if (attr === 4 || attr === 5 || attr === 67 || (attr > 32 && attr % 2 === 1)) {
            r = sec.indexOf(0, r) + 1; // NUL-terminated string value
          } else if (attr === 32) {
            r = sec.indexOf(0, uleb(sec, r)[1]) + 1;
          } else {
            const [value, after] = uleb(sec, r);
            if (attr === 6) return value;
            r = after;
          }
        }
      }
      q = subEnd;
    }
    if (len === 0) break;
    p = end;
  }
  return undefined;
}

const GO_MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');

/**
 * Go (1.18+) writes a 32-byte header "\xff Go buildinf:" + pointer size + flags, then (flag 2,
 * "inline strings") two varint-prefixed strings: the Go version and the module info, whose lines
 * "build\tKEY=VALUE" record the build settings. The blob is 16-byte aligned in the data segment.
 */
export function readGoBuildInfo(buf: Buffer): GoBuildInfo | undefined {
  for (let at = buf.indexOf(GO_MAGIC); at >= 0; at = buf.indexOf(GO_MAGIC, at + 1)) {
    if (at % 16 !== 0) continue;
    const flags = buf[at + 15]!;
    if ((flags & 0x2) === 0) return { version: 'unknown (pre-1.18 format)', settings: {} };
    let p = at + 32;
    const [vlen, afterV] = uvarint(buf, p);
    const version = buf.subarray(afterV, afterV + vlen).toString('utf8');
    p = afterV + vlen;
    const [mlen, afterM] = uvarint(buf, p);
    // The module info is framed by two 16-byte binary sentinels (as debug/buildinfo strips them).
    let modBytes = buf.subarray(afterM, afterM + mlen);
    if (modBytes.length >= 33 && modBytes[modBytes.length - 17] === 0x0a) modBytes = modBytes.subarray(16, modBytes.length - 16);
    const mod = modBytes.toString('utf8');
    const settings: Record<string, string> = {};
    for (const line of mod.split('\n')) {
      const m = /^build\t([^=]+)=(.*)$/.exec(line);
      if (m) settings[m[1]!] = m[2]!;
    }
    return { version, settings };
  }
  return undefined;
}

function uvarint(buf: Buffer, at: number): [number, number] {
  return uleb(buf, at);
}
