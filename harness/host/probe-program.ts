/**
 * The uname probe: a tiny static program for each Linux platform the harness knows, written at run
 * time as a complete ELF file from machine code kept here as hex. Put alone into a FROM-scratch image
 * and run with `docker run --platform P`, it shows how this host really runs P: natively, through a
 * binfmt_misc handler (QEMU), or not at all, and what `uname -m` the program then sees.
 *
 * Every program does the same three system calls: uname(2) into a struct new_utsname on the stack
 * (six 65-byte fields; `machine` is the fifth, at offset 260), write(2) of those 65 bytes to fd 1
 * (NUL padding included: the reader stops at the first NUL), then exit(0). No libc, no dynamic
 * loader, no section headers; the file is the ELF header, one PT_LOAD program header (R+X) and the
 * code, mapped at BASE. The code is our own assembly (shown beside each table entry), assembled with
 * the GNU cross assemblers of Debian bookworm (LoongArch: LLVM 19's llvm-mc, checked by hand against
 * the ISA manual's encodings) and each file checked under the matching qemu-*-static.
 *
 * e_flags are what the platform's ordinary binaries carry (readelf of Debian's libc6-*-cross
 * libraries, or the toolchain's default where Debian has none), because some loaders read them:
 * on ppc64 (both byte orders) e_flags 2 (ELFv2) makes the kernel and QEMU jump to e_entry itself
 * rather than read a function descriptor there, and QEMU picks its MIPS CPU model from e_flags.
 */
import { formatPlatform, normalizePlatform, type Platform } from '../platform/index.ts';

interface ProbeArch {
  bits: 32 | 64;
  endian: 'little' | 'big';
  machine: number;
  flags: number;
  /** The machine code, as hex; assembly beside it. */
  code: string;
}

/* x86-64, syscall (rax = number; rdi, rsi, rdx).
 *   sub $400,%rsp; mov %rsp,%rdi; mov $63,%eax; syscall                       uname(sp)
 *   mov $1,%edi; lea 260(%rsp),%rsi; mov $65,%edx; mov $1,%eax; syscall       write(1, sp+260, 65)
 *   xor %edi,%edi; mov $60,%eax; syscall                                      exit(0)            */
const AMD64 = '4881ec90010000 4889e7 b83f000000 0f05 bf01000000 488db42404010000 ba41000000 b801000000 0f05 31ff b83c000000 0f05';

/* i386, int $0x80 (eax = number; ebx, ecx, edx). 122 is newuname (65-byte fields).
 *   sub $400,%esp; mov %esp,%ebx; mov $122,%eax; int $0x80
 *   mov $1,%ebx; lea 260(%esp),%ecx; mov $65,%edx; mov $4,%eax; int $0x80
 *   xor %ebx,%ebx; mov $1,%eax; int $0x80                                                        */
const I386 = '81ec90010000 89e3 b87a000000 cd80 bb01000000 8d8c2404010000 ba41000000 b804000000 cd80 31db b801000000 cd80';

/* AArch64, svc #0 (x8 = number; x0, x1, x2).
 *   sub sp,sp,#400; mov x0,sp; mov x8,#160; svc #0
 *   mov x0,#1; add x1,sp,#260; mov x2,#65; mov x8,#64; svc #0
 *   mov x0,#0; mov x8,#93; svc #0                                                                */
const ARM64 = 'ff4306d1 e0030091 081480d2 010000d4 200080d2 e1130491 220880d2 080880d2 010000d4 000080d2 a80b80d2 010000d4';

/* ARM mode, ARMv5TE instructions only, EABI svc #0 (r7 = number; r0, r1, r2). One code for v5, v6, v7.
 *   sub sp,sp,#400; mov r0,sp; mov r7,#122; svc #0
 *   mov r0,#1; add r1,sp,#260; mov r2,#65; mov r7,#4; svc #0
 *   mov r0,#0; mov r7,#1; svc #0                                                                 */
const ARM = '19de4de2 0d00a0e1 7a70a0e3 000000ef 0100a0e3 411f8de2 4120a0e3 0470a0e3 000000ef 0000a0e3 0170a0e3 000000ef';

/* Power, sc (r0 = number; r3, r4, r5). Written as big-endian words; the ppc64le entry swaps them.
 *   addi 1,1,-400; mr 3,1; li 0,122; sc
 *   li 3,1; addi 4,1,260; li 5,65; li 0,4; sc
 *   li 3,0; li 0,1; sc                                                                           */
const PPC64 = '3821fe70 7c230b78 3800007a 44000002 38600001 38810104 38a00041 38000004 44000002 38600000 38000001 44000002';

/* z/Architecture, svc NR (number in the instruction; r2, r3, r4).
 *   aghi %r15,-400; lgr %r2,%r15; svc 122
 *   lghi %r2,1; la %r3,260(%r15); lghi %r4,65; svc 4
 *   lghi %r2,0; svc 1                                                                            */
const S390X = 'a7fbfe70 b904002f 0a7a a7290001 4130f104 a7490041 0a04 a7290000 0a01';

/* RISC-V RV64GC (compressed where it fits), ecall (a7 = number; a0, a1, a2).
 *   c.addi16sp sp,-400; c.mv a0,sp; li a7,160; ecall
 *   c.li a0,1; c.addi4spn a1,sp,260; li a2,65; li a7,64; ecall
 *   c.li a0,0; li a7,93; ecall                                                                   */
const RISCV64 = '6571 0a85 9308000a 73000000 0545 4c02 13061004 93080004 73000000 0145 9308d005 73000000';

/* MIPS64 n64, syscall (v0 = number; a0, a1, a2); no branches, so no delay slots.
 * Written as big-endian words; the mips64le entry swaps them.
 *   daddiu $sp,$sp,-400; move $a0,$sp; li $v0,5061; syscall
 *   li $a0,1; daddiu $a1,$sp,260; li $a2,65; li $v0,5001; syscall
 *   move $a0,$zero; li $v0,5058; syscall                                                         */
const MIPS64 = '67bdfe70 03a02025 240213c5 0000000c 24040001 67a50104 24060041 24021389 0000000c 00002025 240213c2 0000000c';

/* LoongArch64, syscall 0 (a7 = number; a0, a1, a2).
 *   addi.d $sp,$sp,-400; move $a0,$sp; ori $a7,$zero,160; syscall 0
 *   ori $a0,$zero,1; addi.d $a1,$sp,260; ori $a2,$zero,65; ori $a7,$zero,64; syscall 0
 *   move $a0,$zero; ori $a7,$zero,93; syscall 0                                                  */
const LOONG64 = '63c0f902 64001500 0b808203 00002b00 04048003 6510c402 06048103 0b008103 00002b00 04001500 0b748103 00002b00';

/** Reverses the bytes of each 4-byte word: big-endian instruction words to little-endian. */
function swapWords(hex: string): string {
  return hex
    .split(' ')
    .map((w) => w.match(/../g)!.reverse().join(''))
    .join(' ');
}

const ARM_EABI5 = 0x05000000;
const EF_ARM_ABI_FLOAT_SOFT = 0x200;
const EF_ARM_ABI_FLOAT_HARD = 0x400;

/** Keyed by OCI platform; e_flags as the platform's ordinary binaries carry them. */
const PROBES: Record<string, ProbeArch> = {
  'linux/amd64': { bits: 64, endian: 'little', machine: 62, flags: 0, code: AMD64 },
  'linux/386': { bits: 32, endian: 'little', machine: 3, flags: 0, code: I386 },
  'linux/arm64': { bits: 64, endian: 'little', machine: 183, flags: 0, code: ARM64 },
  // EABI version 5; armel (v5, v6) is soft-float, armhf (v7) hard-float, as Debian's ld-linux*.so.3.
  'linux/arm/v5': { bits: 32, endian: 'little', machine: 40, flags: ARM_EABI5 | EF_ARM_ABI_FLOAT_SOFT, code: ARM },
  'linux/arm/v6': { bits: 32, endian: 'little', machine: 40, flags: ARM_EABI5 | EF_ARM_ABI_FLOAT_SOFT, code: ARM },
  'linux/arm/v7': { bits: 32, endian: 'little', machine: 40, flags: ARM_EABI5 | EF_ARM_ABI_FLOAT_HARD, code: ARM },
  // 2 = ELFv2 for both byte orders: e_entry is the code, not a function descriptor (Debian's ppc64 is ELFv1, flags 1).
  'linux/ppc64le': { bits: 64, endian: 'little', machine: 21, flags: 2, code: swapWords(PPC64) },
  'linux/ppc64': { bits: 64, endian: 'big', machine: 21, flags: 2, code: PPC64 },
  'linux/s390x': { bits: 64, endian: 'big', machine: 22, flags: 0, code: S390X },
  // 0x5 = EF_RISCV_RVC | EF_RISCV_FLOAT_ABI_DOUBLE (lp64d).
  'linux/riscv64': { bits: 64, endian: 'little', machine: 243, flags: 0x5, code: RISCV64 },
  // 0x80000007 = EF_MIPS_ARCH_64R2 | CPIC | PIC | NOREORDER, as Debian's mips64el/mips64 libc.
  'linux/mips64le': { bits: 64, endian: 'little', machine: 8, flags: 0x80000007, code: swapWords(MIPS64) },
  'linux/mips64': { bits: 64, endian: 'big', machine: 8, flags: 0x80000007, code: MIPS64 },
  // 0x43 = EF_LOONGARCH_OBJABI_V1 | EF_LOONGARCH_ABI_DOUBLE_FLOAT (lp64d).
  'linux/loong64': { bits: 64, endian: 'little', machine: 258, flags: 0x43, code: LOONG64 },
};

/** The platforms a probe exists for, as OCI platform strings. */
export const PROBE_PLATFORMS: readonly string[] = Object.freeze(Object.keys(PROBES));

/** Where the one segment is mapped: above vm.mmap_min_addr, 64 KiB aligned for every page size. */
const BASE = 0x400000;
const SEGMENT_ALIGN = 0x10000;

function probeArch(platform: Platform): ProbeArch {
  const p = normalizePlatform(platform);
  // The code uses no instruction of any amd64 level or arm64 extension: variants matter for arm only.
  const key = formatPlatform(p.architecture === 'arm' ? p : { os: p.os, architecture: p.architecture });
  const arch = PROBES[key];
  if (!arch)
    throw new Error(`There is no uname probe program for ${formatPlatform(platform)}; probes exist for ${PROBE_PLATFORMS.join(', ')}.`);
  return arch;
}

/** Writes the ELF file: header, one PT_LOAD program header (R+X, the whole file), code. */
function writeElf({ bits, endian, machine, flags, code: hex }: ProbeArch): Uint8Array {
  const code = Buffer.from(hex.replaceAll(' ', ''), 'hex');
  const is64 = bits === 64;
  const le = endian === 'little';
  const [ehsize, phentsize] = is64 ? [64, 56] : [52, 32];
  const size = ehsize + phentsize + code.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  const u8 = (...v: number[]) => v.forEach((x) => view.setUint8(at++, x));
  const u16 = (v: number) => (view.setUint16(at, v, le), (at += 2));
  const u32 = (v: number) => (view.setUint32(at, v, le), (at += 4));
  const word = (v: number) => (is64 ? (view.setBigUint64(at, BigInt(v), le), (at += 8)) : u32(v));

  // e_ident: magic, class, data, EV_CURRENT, ELFOSABI_SYSV, ABI version 0, padding.
  u8(0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  u16(2); // e_type: ET_EXEC
  u16(machine);
  u32(1); // e_version
  word(BASE + ehsize + phentsize); // e_entry: the first instruction
  word(ehsize); // e_phoff
  word(0); // e_shoff: no section headers
  u32(flags);
  u16(ehsize);
  u16(phentsize);
  u16(1); // e_phnum
  u16(0); // e_shentsize
  u16(0); // e_shnum
  u16(0); // e_shstrndx

  const PT_LOAD = 1;
  const PF_R_X = 0x4 | 0x1;
  u32(PT_LOAD);
  if (is64) u32(PF_R_X);
  word(0); // p_offset
  word(BASE); // p_vaddr
  word(BASE); // p_paddr
  word(size); // p_filesz
  word(size); // p_memsz
  if (!is64) u32(PF_R_X);
  word(SEGMENT_ALIGN);

  out.set(code, at);
  return out;
}

/** The probe program for a platform: a complete static ELF executable. */
export function probeProgram(platform: Platform): Uint8Array {
  return writeElf(probeArch(platform));
}

/** The probe's first 64 bytes (the whole ELF header), for matching binfmt_misc magic and mask against. */
export function elfHeaderOf(platform: Platform): Uint8Array {
  return probeProgram(platform).slice(0, 64);
}
