/**
 * Reads what a binary was built for, without running it: the ELF header (class, byte order,
 * machine, flags), the program headers the loader uses (interpreter; the dynamic section's needed
 * libraries, search paths and soname; the GNU property note's x86-64 ISA level), the ARM build
 * attributes (.ARM.attributes: Tag_CPU_arch), and Go's embedded build settings (GOARCH, GOARM,
 * GOAMD64, ...). Everything the loader uses is read from the program headers and segments, never
 * from section headers, which a stripped binary may lack.
 */

export interface ElfInfo {
  bits: 32 | 64;
  endian: 'little' | 'big';
  machine: number;
  machineName: string;
  flags: number;
  /** PT_INTERP: the dynamic loader a dynamically linked binary needs. */
  interpreter?: string;
  /** DT_NEEDED: the libraries the loader must find, in the order the object names them. */
  needed?: string[];
  /** DT_RUNPATH, split on ':': searched after LD_LIBRARY_PATH. */
  runpath?: string[];
  /** DT_RPATH, split on ':': searched before LD_LIBRARY_PATH, and ignored by glibc when DT_RUNPATH is there. */
  rpath?: string[];
  /** DT_SONAME: a shared library's own name. */
  soname?: string;
  /**
   * x86-64 only: the ISA level the GNU property note says the code needs (GNU_PROPERTY_X86_ISA_1_NEEDED):
   * 1 baseline, 2..4 x86-64-v2..v4. glibc (2.33+) refuses to load an object needing more than the CPU has.
   */
  x86IsaNeeded?: number;
  /** ARM only: the architecture version from Tag_CPU_arch (5, 6, 7, 8), when the attribute is there. */
  armArch?: number;
  armArchName?: string;
  /** ARM only: hard-float ABI (EF_ARM_ABI_FLOAT_HARD) or soft-float. */
  armFloat?: 'hard' | 'soft';
  go?: GoBuildInfo;
}

export interface GoBuildInfo {
  /** The toolchain: "go1.26.5" (with " X:..." when GOEXPERIMENT was set); "unknown" when only the settings were found. */
  version: string;
  /** build settings: GOOS, GOARCH, GOARM, GOAMD64, CGO_ENABLED, ... (none before Go 1.18) */
  settings: Record<string, string>;
  /**
   * Where they were read: the linker's build info blob (what `go version -m` reads), or, for a binary
   * linked without it (esbuild's releases since 0.27 comment the linker's buildinfo step out), the
   * runtime's own copies of the version and module info strings.
   */
  source?: 'buildinfo' | 'runtime';
}

export class NotElfError extends Error {
  override name = 'NotElfError';
}

/**
 * A part of the file the reader needs was not kept (elf-parts.ts keeps only the parts a reading
 * usually needs, as the file streams past): the caller reads the whole file and tries again.
 */
export class PartNotKeptError extends Error {
  override name = 'PartNotKeptError';
}

/**
 * An ELF file's bytes as the reader asks for them: the whole file in memory (a Buffer), or the
 * parts a layer's scan kept of it (elf-parts.ts), which throws PartNotKeptError for any other part.
 */
export interface ElfBytes {
  /** The file's length (or as much of it as is judged: LayerLimits.maxFileBytes). */
  readonly length: number;
  /** The bytes [start, end), end no further than length. */
  slice(start: number, end: number): Buffer;
  /** The bytes from start on, up to end or, in a part kept, to where the part ends: for text whose end is not known. */
  sliceUpTo(start: number, end: number): Buffer;
  /** Where `needle` occurs first at or after `from`, or -1. */
  indexOf(needle: Buffer | string, from?: number): number;
}

/** The whole file as ElfBytes. */
function wholeBytes(buf: Buffer): ElfBytes {
  return {
    length: buf.length,
    slice: (start, end) => buf.subarray(start, Math.min(end, buf.length)),
    sliceUpTo: (start, end) => buf.subarray(start, Math.min(end, buf.length)),
    indexOf: (needle, from = 0) => buf.indexOf(needle, from),
  };
}

const MACHINE_NAMES: Record<number, string> = {
  3: 'Intel 80386',
  8: 'MIPS',
  20: 'PowerPC',
  21: 'PowerPC64',
  22: 'IBM S/390',
  40: 'ARM',
  62: 'x86-64',
  183: 'AArch64',
  243: 'RISC-V',
  258: 'LoongArch',
};

/** Tag_CPU_arch values (ARM IHI 0045) and the architecture version each means. */
const ARM_CPU_ARCH: Record<number, [string, number]> = {
  0: ['pre-v4', 3],
  1: ['v4', 4],
  2: ['v4T', 4],
  3: ['v5T', 5],
  4: ['v5TE', 5],
  5: ['v5TEJ', 5],
  6: ['v6', 6],
  7: ['v6KZ', 6],
  8: ['v6T2', 6],
  9: ['v6K', 6],
  10: ['v7', 7],
  11: ['v6-M', 6],
  12: ['v6S-M', 6],
  13: ['v7E-M', 7],
  14: ['v8-A', 8],
};

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const PT_NOTE = 4;
const PT_GNU_PROPERTY = 0x6474e553;
const PF_X = 1;
const PF_W = 2;
const SHT_ARM_ATTRIBUTES = 0x70000003;
const EM_ARM = 40;
const EM_X86_64 = 62;

export function isElf(buf: Uint8Array): boolean {
  return buf.length >= 4 && buf[0] === 0x7f && buf[1] === 0x45 && buf[2] === 0x4c && buf[3] === 0x46;
}

interface Segment {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
  align: number;
}
interface Section {
  name: string;
  type: number;
  addr: number;
  offset: number;
  size: number;
}

/** The parsed headers the readers below share. */
interface Elf {
  bytes: ElfBytes;
  bits: 32 | 64;
  le: boolean;
  machine: number;
  flags: number;
  u32(o: number): number;
  /** A pointer-sized field (4 or 8 bytes). */
  word(o: number): number;
  segments: Segment[];
  /** Empty when the file has no section headers (stripped with sstrip, or never had them). */
  sections: Section[];
}

function parseElf(input: Uint8Array | ElfBytes): Elf {
  const bytes = input instanceof Uint8Array ? wholeBytes(Buffer.from(input.buffer, input.byteOffset, input.byteLength)) : input;
  const head = bytes.slice(0, 64);
  if (!isElf(head)) throw new NotElfError('not an ELF file');
  const bits = head[4] === 2 ? 64 : head[4] === 1 ? 32 : undefined;
  const le = head[5] === 1 ? true : head[5] === 2 ? false : undefined;
  if (!bits || le === undefined) throw new NotElfError('ELF header with an unknown class or byte order');
  if (bytes.length < (bits === 64 ? 64 : 52)) throw new NotElfError('ELF header cut short');
  const at = (o: number, n: number) => bytes.slice(o, o + n);
  const u16 = (o: number) => (le ? at(o, 2).readUInt16LE(0) : at(o, 2).readUInt16BE(0));
  const u32 = (o: number) => (le ? at(o, 4).readUInt32LE(0) : at(o, 4).readUInt32BE(0));
  const word = (o: number) => (bits === 64 ? Number(le ? at(o, 8).readBigUInt64LE(0) : at(o, 8).readBigUInt64BE(0)) : u32(o));
  const [phoff, shoff, flags] = bits === 64 ? [word(32), word(40), u32(48)] : [word(28), word(32), u32(36)];
  const [phentsize, phnum, shentsize, shnum, shstrndx] =
    bits === 64 ? [u16(54), u16(56), u16(58), u16(60), u16(62)] : [u16(42), u16(44), u16(46), u16(48), u16(50)];

  const segments: Segment[] = [];
  for (let i = 0; i < phnum && phentsize > 0 && phoff + (i + 1) * phentsize <= bytes.length; i++) {
    const p = phoff + i * phentsize;
    segments.push(
      bits === 64
        ? { type: u32(p), flags: u32(p + 4), offset: word(p + 8), vaddr: word(p + 16), filesz: word(p + 32), align: word(p + 48) }
        : { type: u32(p), offset: u32(p + 4), vaddr: u32(p + 8), filesz: u32(p + 16), flags: u32(p + 24), align: u32(p + 28) },
    );
  }

  const raw: Array<Section & { nameAt: number }> = [];
  for (let i = 0; i < shnum && shoff > 0 && shentsize > 0 && shoff + (i + 1) * shentsize <= bytes.length; i++) {
    const s = shoff + i * shentsize;
    raw.push(
      bits === 64
        ? { name: '', nameAt: u32(s), type: u32(s + 4), addr: word(s + 16), offset: word(s + 24), size: word(s + 32) }
        : { name: '', nameAt: u32(s), type: u32(s + 4), addr: u32(s + 12), offset: u32(s + 16), size: u32(s + 20) },
    );
  }
  const names = raw[shstrndx];
  const sections = raw.map(({ nameAt, ...s }) => ({
    ...s,
    name: names ? cString(bytes, names.offset + nameAt, names.offset + names.size) : '',
  }));
  return { bytes, bits, le, machine: u16(18), flags, u32, word, segments, sections };
}

/** A NUL-terminated string at a file offset, read no further than `end`. */
function cString(bytes: ElfBytes, at: number, end = bytes.length): string {
  if (at < 0 || at >= bytes.length) return '';
  const stop = Math.min(end, bytes.length);
  if (stop <= at) return '';
  const b = bytes.sliceUpTo(at, stop);
  const nul = b.indexOf(0);
  if (nul >= 0) return b.toString('latin1', 0, nul);
  // A part kept ended before the string did: the string may go on.
  if (b.length < stop - at) throw new PartNotKeptError(`the text at ${at} goes past the part kept`);
  return b.toString('latin1');
}

/** The file offset of a virtual address, through the PT_LOAD segment that holds it in the file. */
function fileOffset(elf: Elf, vaddr: number): { at: number; rest: number } | undefined {
  for (const s of elf.segments) {
    if (s.type === PT_LOAD && vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz) {
      const at = s.offset + (vaddr - s.vaddr);
      return at < elf.bytes.length ? { at, rest: Math.min(s.offset + s.filesz, elf.bytes.length) - at } : undefined;
    }
  }
  return undefined;
}

/** Up to `size` bytes at a virtual address, as far as its segment has them in the file. */
function bytesAt(elf: Elf, vaddr: number, size: number): Buffer | undefined {
  const where = fileOffset(elf, vaddr);
  return where && elf.bytes.slice(where.at, where.at + Math.min(size, where.rest));
}

function segmentBytes(elf: Elf, s: { offset: number; filesz: number }): Buffer {
  return elf.bytes.slice(Math.min(s.offset, elf.bytes.length), Math.min(s.offset + s.filesz, elf.bytes.length));
}

/**
 * Reads an ELF file: its bytes whole, or the parts a layer's scan kept (elf-parts.ts), which throws
 * PartNotKeptError when the file needs a part that was not kept.
 */
export function readElf(input: Uint8Array | ElfBytes): ElfInfo {
  const elf = parseElf(input);
  const { bits, le, machine, flags } = elf;
  const info: ElfInfo = {
    bits,
    endian: le ? 'little' : 'big',
    machine,
    machineName: MACHINE_NAMES[machine] ?? `machine ${machine}`,
    flags,
  };
  const interp = elf.segments.find((s) => s.type === PT_INTERP);
  if (interp && interp.offset + interp.filesz <= elf.bytes.length)
    info.interpreter = cString(elf.bytes, interp.offset, interp.offset + interp.filesz);
  Object.assign(info, readDynamic(elf));
  if (machine === EM_X86_64) {
    const level = x86IsaLevel(elf);
    if (level) info.x86IsaNeeded = level;
  }
  if (machine === EM_ARM) Object.assign(info, armAttributes(elf));
  const go = goBuildInfo(elf);
  if (go) info.go = go;
  return info;
}

// ---- The dynamic section ----

const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_STRSZ = 10;
const DT_SONAME = 14;
const DT_RPATH = 15;
const DT_RUNPATH = 29;

/**
 * PT_DYNAMIC's entries, as the loader reads them: DT_STRTAB is an address, translated to a file
 * offset through the PT_LOAD segments (the section headers that name .dynstr may be gone).
 */
function readDynamic(elf: Elf): Pick<ElfInfo, 'needed' | 'runpath' | 'rpath' | 'soname'> {
  const dyn = elf.segments.find((s) => s.type === PT_DYNAMIC);
  if (!dyn) return {};
  const entry = elf.bits === 64 ? 16 : 8;
  const half = entry / 2;
  const bytes = segmentBytes(elf, dyn);
  const entries: Array<[number, number]> = [];
  let strtab: number | undefined;
  let strsz = Infinity;
  for (let i = dyn.offset; i + entry <= dyn.offset + bytes.length; i += entry) {
    const tag = elf.word(i);
    const value = elf.word(i + half);
    if (tag === DT_NULL) break;
    if (tag === DT_STRTAB) strtab = value;
    else if (tag === DT_STRSZ) strsz = value;
    else entries.push([tag, value]);
  }
  const table = strtab === undefined ? undefined : fileOffset(elf, strtab);
  if (!table) return {};
  const end = table.at + Math.min(strsz, table.rest);
  const str = (offset: number) => (offset < end - table.at ? cString(elf.bytes, table.at + offset, end) : '');
  const out: Pick<ElfInfo, 'needed' | 'runpath' | 'rpath' | 'soname'> = {};
  for (const [tag, value] of entries) {
    if (tag === DT_NEEDED) (out.needed ??= []).push(str(value));
    else if (tag === DT_SONAME) out.soname = str(value);
    else if (tag === DT_RUNPATH) out.runpath = str(value).split(':');
    else if (tag === DT_RPATH) out.rpath = str(value).split(':');
  }
  return out;
}

// ---- The GNU property note ----

const NT_GNU_PROPERTY_TYPE_0 = 5;
/** binutils include/elf/common.h: GNU_PROPERTY_X86_UINT32_OR_LO + 2; its bits: 1 baseline, 2 v2, 4 v3, 8 v4. */
const GNU_PROPERTY_X86_ISA_1_NEEDED = 0xc0008002;

/**
 * The highest x86-64 level set in GNU_PROPERTY_X86_ISA_1_NEEDED. Only NEEDED counts: ISA_1_USED
 * (0xc0010002) lists what the code may use when the CPU has it (chosen at run time), and glibc's
 * loader checks NEEDED alone.
 */
function x86IsaLevel(elf: Elf): number | undefined {
  for (const desc of gnuPropertyNotes(elf)) {
    const align = elf.bits === 64 ? 8 : 4;
    for (let p = 0; p + 8 <= desc.length;) {
      const type = elf.le ? desc.readUInt32LE(p) : desc.readUInt32BE(p);
      const size = elf.le ? desc.readUInt32LE(p + 4) : desc.readUInt32BE(p + 4);
      if (type === GNU_PROPERTY_X86_ISA_1_NEEDED && size >= 4 && p + 12 <= desc.length) {
        const bitsSet = elf.le ? desc.readUInt32LE(p + 8) : desc.readUInt32BE(p + 8);
        const level = 32 - Math.clz32(bitsSet & 0xf);
        return level || undefined;
      }
      p += 8 + Math.ceil(size / align) * align;
    }
  }
  return undefined;
}

/**
 * The descriptors of NT_GNU_PROPERTY_TYPE_0 notes, from PT_GNU_PROPERTY, or from the PT_NOTE
 * segments for binaries from linkers older than PT_GNU_PROPERTY, which left the note there alone.
 */
function gnuPropertyNotes(elf: Elf): Buffer[] {
  const prop = elf.segments.filter((s) => s.type === PT_GNU_PROPERTY);
  const areas = (prop.length ? prop : elf.segments.filter((s) => s.type === PT_NOTE)).map((s) => ({
    bytes: segmentBytes(elf, s),
    align: s.align === 8 ? 8 : 4,
  }));
  const out: Buffer[] = [];
  for (const { bytes, align } of areas) {
    const u32 = (o: number) => (elf.le ? bytes.readUInt32LE(o) : bytes.readUInt32BE(o));
    for (let p = 0; p + 12 <= bytes.length;) {
      const [namesz, descsz, type] = [u32(p), u32(p + 4), u32(p + 8)];
      // The descriptor starts at the next `align` boundary after the name (gABI; Linux's parse_elf_property).
      const desc = Math.ceil((p + 12 + namesz) / align) * align;
      if (desc + descsz > bytes.length) break;
      if (type === NT_GNU_PROPERTY_TYPE_0 && bytes.toString('latin1', p + 12, p + 12 + namesz) === 'GNU\0')
        out.push(bytes.subarray(desc, desc + descsz));
      p = Math.ceil((desc + descsz) / align) * align;
    }
  }
  return out;
}

// ---- ARM build attributes ----

function armAttributes(elf: Elf): Pick<ElfInfo, 'armArch' | 'armArchName' | 'armFloat'> {
  const out: Pick<ElfInfo, 'armArch' | 'armArchName' | 'armFloat'> = { armFloat: elf.flags & 0x400 ? 'hard' : 'soft' };
  for (const s of elf.sections) {
    if (s.type !== SHT_ARM_ATTRIBUTES) continue;
    const arch = armCpuArch(segmentBytes(elf, { offset: s.offset, filesz: s.size }), elf.le);
    if (arch !== undefined && ARM_CPU_ARCH[arch]) [out.armArchName, out.armArch] = ARM_CPU_ARCH[arch];
  }
  return out;
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
function armCpuArch(sec: Buffer, le: boolean): number | undefined {
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

// ---- Go build info ----

const GO_MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
/** cmd/go/internal/modload's infoStart and infoEnd: the 16-byte sentinels framing the module info string. */
const GO_INFO_START = Buffer.from('3077af0c9274080241e1c107e6d618e6', 'hex');
const GO_INFO_END = Buffer.from('f932433186182072008242104116d8f2', 'hex');

/**
 * Go's build info, read as debug/buildinfo reads it (Go 1.18 to 1.27 write the same blob), or
 * from the runtime's strings when the linker wrote none. `buf` is normally an ELF file; anything
 * else is scanned for an inline-format blob at 16-byte aligned offsets.
 */
export function readGoBuildInfo(buf: Buffer): GoBuildInfo | undefined {
  if (isElf(buf)) {
    try {
      return goBuildInfo(parseElf(buf));
    } catch (err) {
      if (!(err instanceof NotElfError)) throw err;
    }
  }
  for (let at = buf.indexOf(GO_MAGIC); at >= 0; at = buf.indexOf(GO_MAGIC, at + 1)) {
    if (at % 16 === 0 && buf[at + 15]! & 0x2) return inlineBlob(buf.subarray(at));
  }
  return undefined;
}

function goBuildInfo(elf: Elf): GoBuildInfo | undefined {
  return goBlob(elf) ?? goRuntimeStrings(elf);
}

/**
 * The linker's blob (cmd/link's Link.buildinfo): 32-byte header "\xff Go buildinf:", pointer size,
 * flags (bit 0 big-endian, bit 1 inline strings), then, since Go 1.18, the version and the module
 * info as varint-prefixed strings; before, two pointers to those Go strings. It is 16-byte aligned
 * (by address) in the .go.buildinfo section, at the start of the first writable data segment:
 * that segment is where to look when the section headers are gone, as debug/buildinfo does.
 */
function goBlob(elf: Elf): GoBuildInfo | undefined {
  const section = elf.sections.find((s) => s.name === '.go.buildinfo');
  const areas = section
    ? [{ vaddr: section.addr, offset: section.offset, filesz: section.size }]
    : elf.segments.filter((s) => s.type === PT_LOAD && (s.flags & (PF_W | PF_X)) === PF_W);
  for (const { vaddr, offset, filesz } of areas) {
    const start = Math.min(offset, elf.bytes.length);
    const end = Math.min(offset + filesz, elf.bytes.length);
    for (let at = elf.bytes.indexOf(GO_MAGIC, start); at >= 0 && at + 32 <= end; at = elf.bytes.indexOf(GO_MAGIC, at + 1)) {
      if ((vaddr + at - offset) % 16 !== 0) continue;
      const blob = elf.bytes.sliceUpTo(at, end);
      // What a part kept holds of the rest of the area: a string past it is a part not kept, not a blob cut short.
      const whole = blob.length === end - at;
      const info = blob[15]! & 0x2 ? inlineBlob(blob, whole) : pointerBlob(elf, blob);
      if (info) return info;
    }
  }
  return undefined;
}

function inlineBlob(blob: Buffer, whole = true): GoBuildInfo | undefined {
  const version = varintString(blob, 32, whole);
  const mod = version && varintString(blob, version.end, whole);
  if (!version || !mod || version.bytes.length === 0) return undefined;
  return buildInfo(version.bytes.toString('utf8'), mod.bytes, 'buildinfo');
}

function varintString(buf: Buffer, at: number, whole = true): { bytes: Buffer; end: number } | undefined {
  const [length, start] = uleb(buf, at);
  if (start + length <= buf.length) return { bytes: buf.subarray(start, start + length), end: start + length };
  if (!whole) throw new PartNotKeptError('the build info goes past the part kept');
  return undefined;
}

/** Before Go 1.18: pointers to runtime.buildVersion and runtime.modinfo, Go strings (data pointer, length). */
function pointerBlob(elf: Elf, blob: Buffer): GoBuildInfo | undefined {
  const ptrSize = blob[14]!;
  if (ptrSize !== 4 && ptrSize !== 8) return undefined;
  const le = (blob[15]! & 0x1) === 0;
  const ptr = (b: Buffer, o: number) => pointer(b, o, ptrSize, le);
  const goString = (addr: number): Buffer | undefined => {
    const header = bytesAt(elf, addr, 2 * ptrSize);
    if (!header || header.length < 2 * ptrSize) return undefined;
    const length = ptr(header, ptrSize);
    const data = bytesAt(elf, ptr(header, 0), length);
    return data && data.length === length ? data : undefined;
  };
  const version = goString(ptr(blob, 16));
  if (!version?.length) return undefined;
  return buildInfo(version.toString('utf8'), goString(ptr(blob, 16 + ptrSize)) ?? Buffer.alloc(0), 'buildinfo');
}

/** The module info, framed by the sentinels (stripped as debug/buildinfo does), parsed into its build settings. */
function buildInfo(version: string, framedMod: Buffer, source: GoBuildInfo['source']): GoBuildInfo {
  const framed = framedMod.length >= 33 && framedMod[framedMod.length - 17] === 0x0a;
  const mod = framed ? framedMod.subarray(16, framedMod.length - 16).toString('utf8') : '';
  const settings: Record<string, string> = {};
  for (const line of mod.split('\n')) {
    const m = /^build\t([^=]+)=(.*)$/.exec(line);
    if (m) settings[m[1]!] = m[2]!;
  }
  return { version, settings, source };
}

/**
 * A Go binary linked without the blob still holds what it was made from: the runtime's modinfo
 * string (between its sentinels) and runtime.buildVersion, a Go string whose header (address,
 * length) sits in the writable data. A "go1.N..." text counts as the version only when such a
 * header points at it, which the same text inside a file name or a message never has.
 */
function goRuntimeStrings(elf: Elf): GoBuildInfo | undefined {
  const start = elf.bytes.indexOf(GO_INFO_START);
  const end = start < 0 ? -1 : elf.bytes.indexOf(GO_INFO_END, start + 16);
  if (end < 0 || elf.bytes.slice(end - 1, end)[0] !== 0x0a) return undefined;
  const modinfo = elf.bytes.slice(start, end + 16);
  return buildInfo(runtimeBuildVersion(elf, vaddrOf(elf, start), modinfo.length) ?? 'unknown', modinfo, 'runtime');
}

const GO_VERSION_TEXT = /^go1\.\d+(?:\.\d+)?(?:(?:rc|beta)\d+)?(?: X:[\w,-]+)?/;

/**
 * The "go1..." text a Go string header in the writable data points at. Should several be pointed
 * at (a program may keep a version string of its own), the one whose header lies nearest
 * runtime.modinfo's wins: both are variables of package runtime.
 */
function runtimeBuildVersion(elf: Elf, modinfoAddr: number | undefined, modinfoLength: number): string | undefined {
  const wanted = new Map<string, string>();
  for (let at = elf.bytes.indexOf('go1.'), n = 0; at >= 0 && n < 1000; at = elf.bytes.indexOf('go1.', at + 4), n++) {
    const text = GO_VERSION_TEXT.exec(elf.bytes.slice(at, at + 80).toString('latin1'))?.[0];
    const addr = text ? vaddrOf(elf, at) : undefined;
    // The longest reading ("go1.21.0 X:loopvar", as GOEXPERIMENT builds say) and the bare version.
    if (text && addr !== undefined) for (const t of [text, text.replace(/ X:.*/, '')]) wanted.set(`${addr}+${t.length}`, t);
  }
  if (wanted.size === 0) return undefined;
  const ptrSize = elf.bits / 8;
  const found: Array<{ text: string; at: number }> = [];
  let modinfoAt: number | undefined;
  for (const s of elf.segments.filter((s) => s.type === PT_LOAD && s.flags & PF_W)) {
    const bytes = segmentBytes(elf, s);
    for (let i = (ptrSize - (s.vaddr % ptrSize)) % ptrSize; i + 2 * ptrSize <= bytes.length; i += ptrSize) {
      const key = `${pointer(bytes, i, ptrSize, elf.le)}+${pointer(bytes, i + ptrSize, ptrSize, elf.le)}`;
      const text = wanted.get(key);
      if (text) found.push({ text, at: s.vaddr + i });
      else if (key === `${modinfoAddr}+${modinfoLength}`) modinfoAt = s.vaddr + i;
    }
  }
  const near = (f: { at: number }) => (modinfoAt === undefined ? 0 : Math.abs(f.at - modinfoAt));
  return found.sort((a, b) => near(a) - near(b) || b.text.length - a.text.length)[0]?.text;
}

/** A target pointer (4 or 8 bytes) at a buffer offset. */
function pointer(b: Buffer, at: number, size: number, le: boolean): number {
  if (size === 4) return le ? b.readUInt32LE(at) : b.readUInt32BE(at);
  return Number(le ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at));
}

function vaddrOf(elf: Elf, offset: number): number | undefined {
  const s = elf.segments.find((s) => s.type === PT_LOAD && offset >= s.offset && offset < s.offset + s.filesz);
  return s && s.vaddr + (offset - s.offset);
}
