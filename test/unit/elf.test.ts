/**
 * The ELF reader on constructed files and on what is not ELF. Its tests on real binaries of every
 * platform (Go programs built here, Debian's and npm's releases) download or compile them: they are
 * in test/corpus/elf.test.ts (`npm run test:corpus`).
 */
import { describe, expect, test } from 'vitest';
import { checkBinary, describeElf } from '../../harness/image/binary-rules.ts';
import { isElf, NotElfError, readElf } from '../../harness/image/elf.ts';
import { parsePlatform } from '../../harness/platform/platform.ts';

/**
 * A CONSTRUCTED ELF, not a real binary (none reachable here is marked above x86-64 baseline): an
 * x86-64 header, and program headers for one note of type NT_GNU_PROPERTY_TYPE_0 holding
 * GNU_PROPERTY_X86_ISA_1_NEEDED and GNU_PROPERTY_X86_ISA_1_USED, laid out as binutils does.
 */
function constructedX86Elf(o: { needed?: number; used?: number; propertySegment?: boolean }): Buffer {
  const props: Buffer[] = [];
  for (const [type, value] of [
    [0xc0008002, o.needed],
    [0xc0010002, o.used],
  ] as const) {
    if (value === undefined) continue;
    const p = Buffer.alloc(16); // pr_type, pr_datasz, the 4-byte bitmask, padding to 8
    p.writeUInt32LE(type, 0);
    p.writeUInt32LE(4, 4);
    p.writeUInt32LE(value, 8);
    props.push(p);
  }
  const desc = Buffer.concat(props);
  const noteHeader = Buffer.alloc(16);
  noteHeader.writeUInt32LE(4, 0); // namesz
  noteHeader.writeUInt32LE(desc.length, 4);
  noteHeader.writeUInt32LE(5, 8); // NT_GNU_PROPERTY_TYPE_0
  noteHeader.write('GNU\0', 12, 'latin1');
  const note = Buffer.concat([noteHeader, desc]);

  const segments = o.propertySegment === false ? [4] : [4, 0x6474e553]; // PT_NOTE, PT_GNU_PROPERTY
  const noteAt = 64 + 56 * segments.length;
  const header = Buffer.alloc(noteAt);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(header);
  header.writeUInt16LE(2, 16); // ET_EXEC
  header.writeUInt16LE(62, 18); // EM_X86_64
  header.writeUInt32LE(1, 20);
  header.writeBigUInt64LE(64n, 32); // e_phoff
  header.writeUInt16LE(64, 52);
  header.writeUInt16LE(56, 54);
  header.writeUInt16LE(segments.length, 56);
  header.writeUInt16LE(64, 58);
  segments.forEach((type, i) => {
    const p = 64 + 56 * i;
    header.writeUInt32LE(type, p);
    header.writeUInt32LE(4, p + 4); // PF_R
    header.writeBigUInt64LE(BigInt(noteAt), p + 8);
    header.writeBigUInt64LE(BigInt(0x400000 + noteAt), p + 16);
    header.writeBigUInt64LE(BigInt(0x400000 + noteAt), p + 24);
    header.writeBigUInt64LE(BigInt(note.length), p + 32);
    header.writeBigUInt64LE(BigInt(note.length), p + 40);
    header.writeBigUInt64LE(8n, p + 48);
  });
  return Buffer.concat([header, note]);
}

describe('x86-64 ISA level from the GNU property note', () => {
  test('CONSTRUCTED: ISA_1_NEEDED v3 fails linux/amd64 and amd64/v2, fits v3 and v4; ISA_1_USED does not count', () => {
    const v3 = readElf(constructedX86Elf({ needed: 0b0111, used: 0b1111 }));
    expect(v3.x86IsaNeeded).toBe(3);
    expect(checkBinary(v3, parsePlatform('linux/amd64')).problems).toEqual([
      'it needs x86-64-v3 (GNU property note), more than linux/amd64',
    ]);
    expect(checkBinary(v3, parsePlatform('linux/amd64/v2')).problems).toEqual([
      'it needs x86-64-v3 (GNU property note), more than linux/amd64/v2',
    ]);
    expect(checkBinary(v3, parsePlatform('linux/amd64/v3')).pass).toBe(true);
    expect(checkBinary(v3, parsePlatform('linux/amd64/v4')).pass).toBe(true);
    expect(describeElf(v3)).toBe('ELF 64-bit LSB x86-64, needs x86-64-v3, static');

    expect(readElf(constructedX86Elf({ needed: 0b0001, used: 0b1111 })).x86IsaNeeded).toBe(1);
    expect(readElf(constructedX86Elf({ used: 0b1111 })).x86IsaNeeded).toBeUndefined();
    // Linkers older than PT_GNU_PROPERTY left the note in a PT_NOTE segment only.
    expect(readElf(constructedX86Elf({ needed: 0b1111, propertySegment: false })).x86IsaNeeded).toBe(4);
  });
});

describe('not ELF', () => {
  test('a script or garbage is refused with NotElfError', () => {
    expect(isElf(Buffer.from('#!/bin/sh\n'))).toBe(false);
    expect(() => readElf(Buffer.from('#!/bin/sh\necho hi\n'))).toThrow(NotElfError);
    expect(() => readElf(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 9, 9]))).toThrow(/unknown class/);
  });
});
