/**
 * The parts of an ELF file the reader (elf.ts) needs, kept as the file streams past, so that
 * memory holds a few hundred KiB of a file whatever its size:
 * - its first 64 KiB: the ELF header and, where every linker puts them, the program headers;
 * - the segments the loader reads (PT_INTERP, PT_DYNAMIC, PT_NOTE, PT_GNU_PROPERTY), each up to
 *   1 MiB, and, for a file with PT_DYNAMIC, its first 2 MiB, where its string table (.dynstr) lies;
 * - the section headers and the 64 KiB before them (.shstrtab, .ARM.attributes sit there where
 *   GNU's linkers put the headers, at the end); where Go's own linker puts them, in the first 64
 *   KiB, the sections they name are known in time, and .shstrtab and .ARM.attributes are kept;
 * - 256 KiB from each place Go's build info magic occurs (at most 8), and whether the module info's
 *   opening sentinel occurs at all: both searched for in every byte as it passes.
 * A file whose needs go past these (program headers beyond the first 64 KiB, a Go binary without
 * the linker's build info, a string table past 2 MiB) makes elf.ts throw PartNotKeptError, and the
 * caller reads that file whole. The view answers exactly what the whole file would, or throws.
 */
import { PartNotKeptError, type ElfBytes } from './elf.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const HEAD = 64 * KiB;
const SEGMENT_MAX = 1 * MiB;
const DYNAMIC_HEAD = 2 * MiB;
const BEFORE_SECTION_HEADERS = 64 * KiB;
const AFTER_GO_MAGIC = 256 * KiB;
const GO_MAGICS = 8;

const GO_MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const GO_INFO_START = Buffer.from('3077af0c9274080241e1c107e6d618e6', 'hex');
/** The longest needle searched for as the bytes pass, less one: what of a chunk is kept to find a needle across two chunks. */
const OVERLAP = Math.max(GO_MAGIC.length, GO_INFO_START.length) - 1;

const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const PT_NOTE = 4;
const PT_GNU_PROPERTY = 0x6474e553;
const SHT_ARM_ATTRIBUTES = 0x70000003;
const LOADER_SEGMENTS = new Set([PT_DYNAMIC, PT_INTERP, PT_NOTE, PT_GNU_PROPERTY]);

interface Part {
  start: number;
  end: number;
  bytes?: Buffer;
}

/** Collects the parts of one ELF file as its bytes come, in order; `view()` once they have all come. */
export class ElfPartsCollector {
  private readonly parts: Part[] = [];
  private head: Buffer | undefined = Buffer.allocUnsafe(0);
  private planned = false;
  private received = 0;
  private tail = Buffer.alloc(0);
  private readonly goMagics: number[] = [];
  private goInfoStart = -1;

  /** `length`: the file's size, or as much of it as is judged (LayerLimits.maxFileBytes). */
  constructor(readonly length: number) {}

  push(chunk: Buffer): void {
    if (this.received >= this.length) return;
    if (this.received + chunk.length > this.length) chunk = chunk.subarray(0, this.length - this.received);
    const at = this.received;
    this.received += chunk.length;
    this.search(chunk, at);
    if (!this.planned) {
      this.head = Buffer.concat([this.head!, chunk]);
      if (this.head.length < Math.min(HEAD, this.length)) return;
      this.plan();
      const head = this.head;
      this.head = undefined;
      // What came past the first 64 KiB in this chunk goes to the parts like any later byte.
      this.copy(head, 0);
      return;
    }
    this.copy(chunk, at);
  }

  /** The parts, as elf.ts reads them. */
  view(): ElfBytes {
    if (!this.planned) {
      // A file shorter than 64 KiB: it is all head.
      this.plan();
      this.copy(this.head!, 0);
      this.head = undefined;
    }
    return new ElfParts(this.length, this.parts, this.goMagics, this.goInfoStart);
  }

  /** From the ELF header and the program headers in the first 64 KiB: which parts to keep. */
  private plan(): void {
    this.planned = true;
    const h = this.head!;
    const want = (start: number, end: number) => {
      start = Math.max(0, start);
      end = Math.min(end, this.length);
      if (end > start) this.parts.push({ start, end });
    };
    want(0, HEAD);
    const bits = h[4] === 2 ? 64 : h[4] === 1 ? 32 : undefined;
    const le = h[5] === 1 ? true : h[5] === 2 ? false : undefined;
    if (!bits || le === undefined || h.length < (bits === 64 ? 64 : 52)) return;
    const u16 = (o: number) => (le ? h.readUInt16LE(o) : h.readUInt16BE(o));
    const u32 = (o: number) => (le ? h.readUInt32LE(o) : h.readUInt32BE(o));
    const word = (o: number) => (bits === 64 ? Number(le ? h.readBigUInt64LE(o) : h.readBigUInt64BE(o)) : u32(o));
    const [phoff, shoff] = bits === 64 ? [word(32), word(40)] : [word(28), word(32)];
    const [phentsize, phnum, shentsize, shnum] = bits === 64 ? [u16(54), u16(56), u16(58), u16(60)] : [u16(42), u16(44), u16(46), u16(48)];
    if (phnum > 0 && phentsize > 0 && phoff + phnum * phentsize > h.length && phoff + phnum * phentsize <= this.length) {
      // Program headers past the first 64 KiB (no linker puts them there): the parts cannot be known in time,
      // and reading them throws PartNotKeptError.
      return;
    }
    let dynamic = false;
    for (let i = 0; i < phnum && phentsize > 0 && phoff + (i + 1) * phentsize <= h.length; i++) {
      const p = phoff + i * phentsize;
      const type = u32(p);
      if (!LOADER_SEGMENTS.has(type)) continue;
      const [offset, filesz] = bits === 64 ? [word(p + 8), word(p + 32)] : [u32(p + 4), u32(p + 16)];
      want(offset, offset + Math.min(filesz, SEGMENT_MAX));
      if (type === PT_DYNAMIC) dynamic = true;
    }
    if (dynamic) want(0, DYNAMIC_HEAD);
    if (shoff > 0 && shnum > 0 && shentsize > 0) want(shoff - BEFORE_SECTION_HEADERS, shoff + shnum * shentsize);
    // Section headers in the first 64 KiB (Go's own linker puts them right after the program headers):
    // the sections read by name or type are known now, wherever they lie (.shstrtab, .ARM.attributes).
    const shstrndx = u16(bits === 64 ? 62 : 50);
    for (let i = 0; i < shnum && shoff > 0 && shentsize > 0 && shoff + (i + 1) * shentsize <= h.length; i++) {
      const sh = shoff + i * shentsize;
      const [offset, size] = bits === 64 ? [word(sh + 24), word(sh + 32)] : [u32(sh + 16), u32(sh + 20)];
      if (i === shstrndx || u32(sh + 4) === SHT_ARM_ATTRIBUTES) want(offset, offset + Math.min(size, SEGMENT_MAX));
    }
    this.merge();
  }

  /** Overlapping parts made one, in order. */
  private merge(): void {
    this.parts.sort((a, b) => a.start - b.start);
    const merged: Part[] = [];
    for (const p of this.parts) {
      const last = merged.at(-1);
      if (last && p.start <= last.end) last.end = Math.max(last.end, p.end);
      else merged.push({ ...p });
    }
    this.parts.splice(0, this.parts.length, ...merged);
  }

  /** Copies what of a chunk at file offset `at` falls in a part. */
  private copy(chunk: Buffer, at: number): void {
    const end = at + chunk.length;
    for (const p of this.parts) {
      if (p.end <= at || p.start >= end) continue;
      p.bytes ??= Buffer.allocUnsafe(p.end - p.start);
      const from = Math.max(p.start, at);
      const to = Math.min(p.end, end);
      chunk.copy(p.bytes, from - p.start, from - at, to - at);
    }
  }

  /** Go's build info magic and module info sentinel, found in every byte as it passes (across chunks too). */
  private search(chunk: Buffer, at: number): void {
    // A needle across the previous chunk and this one: searched in the few bytes around the seam only.
    if (this.tail.length) {
      const seam = Buffer.concat([this.tail, chunk.subarray(0, OVERLAP)]);
      const base = at - this.tail.length;
      for (let i = seam.indexOf(GO_MAGIC); i >= 0 && i < this.tail.length; i = seam.indexOf(GO_MAGIC, i + 1)) {
        // Its first bytes came with the previous chunk: they go to its part now, the rest with this chunk.
        if (this.goMagic(base + i)) this.copy(seam.subarray(i, this.tail.length), base + i);
      }
      const i = seam.indexOf(GO_INFO_START);
      if (this.goInfoStart < 0 && i >= 0 && i < this.tail.length) this.goInfoStart = base + i;
    }
    for (let i = chunk.indexOf(GO_MAGIC); i >= 0; i = chunk.indexOf(GO_MAGIC, i + 1)) this.goMagic(at + i);
    if (this.goInfoStart < 0) {
      const i = chunk.indexOf(GO_INFO_START);
      if (i >= 0) this.goInfoStart = at + i;
    }
    this.tail = Buffer.from(chunk.subarray(Math.max(0, chunk.length - OVERLAP)));
  }

  /** A place the build info magic occurs: the 256 KiB from it are kept (at most GO_MAGICS places); whether it was taken. */
  private goMagic(pos: number): boolean {
    if (this.goMagics.length === GO_MAGICS || this.goMagics.includes(pos)) return false;
    this.goMagics.push(pos);
    // Not merged with the others once bytes are being kept: a byte may go to two parts.
    this.parts.push({ start: pos, end: Math.min(pos + AFTER_GO_MAGIC, this.length) });
    return this.planned;
  }
}

/** The parts kept of one ELF file (see the module's comment). */
class ElfParts implements ElfBytes {
  constructor(
    readonly length: number,
    private readonly parts: readonly Part[],
    private readonly goMagics: readonly number[],
    private readonly goInfoStart: number,
  ) {}

  /** The part holding [start, end), or else the one from start that reaches furthest. */
  private partAt(start: number, end: number): Part {
    let best: Part | undefined;
    for (const p of this.parts) {
      if (!p.bytes || p.start > start || start >= p.end) continue;
      if (p.end >= end) return p;
      if (!best || p.end > best.end) best = p;
    }
    if (!best) throw new PartNotKeptError(`byte ${start} was not kept`);
    return best;
  }

  slice(start: number, end: number): Buffer {
    end = Math.min(end, this.length);
    if (end <= start) return Buffer.alloc(0);
    const p = this.partAt(start, end);
    if (end > p.end) throw new PartNotKeptError(`bytes ${start}-${end} were not kept`);
    return p.bytes!.subarray(start - p.start, end - p.start);
  }

  sliceUpTo(start: number, end: number): Buffer {
    end = Math.min(end, this.length);
    if (end <= start) return Buffer.alloc(0);
    const p = this.partAt(start, end);
    return p.bytes!.subarray(start - p.start, Math.min(end, p.end) - p.start);
  }

  indexOf(needle: Buffer | string, from = 0): number {
    if (Buffer.isBuffer(needle) && needle.equals(GO_MAGIC)) {
      const found = [...this.goMagics].sort((a, b) => a - b).find((p) => p >= from);
      // Past the last place recorded, there may be more only when the record is full.
      return found ?? (this.goMagics.length < GO_MAGICS ? -1 : this.notKept());
    }
    if (Buffer.isBuffer(needle) && needle.equals(GO_INFO_START)) {
      if (this.goInfoStart < 0) return -1;
      return from <= this.goInfoStart ? this.goInfoStart : this.notKept();
    }
    return this.notKept();
  }

  private notKept(): never {
    throw new PartNotKeptError('a search of the whole file');
  }
}
