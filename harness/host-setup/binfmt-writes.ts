/**
 * Writes to binfmt_misc (/proc/sys/fs/binfmt_misc): register a handler, remove one, enable or
 * disable one, and put one back exactly as a saved registration text describes it. Host-wide: the
 * kernel's handlers serve every container and every process of this machine, and writing them needs
 * root. `multiarch-harness setup` and this repository's own set-up both write through here.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BINFMT_DIR, parseHandler, type BinfmtHandler } from '../host/index.ts';
import { elfFacts, type Platform } from '../platform/index.ts';

/** binfmt_misc's register syntax wants bytes as \xNN escapes. */
const escaped = (hex: string) => hex.replace(/../g, (b) => `\\x${b}`);

/**
 * Magic and mask for a platform's executables: the existing registration's when there is one (a
 * distribution's masks the ABI bits each architecture needs), else built from the ELF facts: class,
 * byte order, ELF version, e_type EXEC or DYN, e_machine.
 */
export function magicFor(p: Platform, existing?: BinfmtHandler): { magic: string; mask: string } {
  if (existing?.magic && existing.mask) return { magic: existing.magic, mask: existing.mask };
  const f = elfFacts(p);
  const le = f.endian === 'little';
  const u16 = (n: number) => (le ? [n & 0xff, n >> 8] : [n >> 8, n & 0xff]);
  const hex = (bytes: number[]) => Buffer.from(bytes).toString('hex');
  const magic = [0x7f, 0x45, 0x4c, 0x46, f.bits === 64 ? 2 : 1, le ? 1 : 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...u16(2), ...u16(f.machine)];
  // prettier-ignore
  const mask = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, ...(le ? [0xfe, 0xff] : [0xff, 0xfe]), 0xff, 0xff];
  return { magic: hex(magic), mask: hex(mask) };
}

/** The line `register` takes for a handler (the kernel prints flag O only beside C; it is implied then). */
export function registrationLine(h: Pick<BinfmtHandler, 'name' | 'interpreter' | 'flags' | 'offset' | 'magic' | 'mask'>): string {
  return `:${h.name}:M:${h.offset ?? 0}:${escaped(h.magic ?? '')}:${escaped(h.mask ?? '')}:${h.interpreter}:${h.flags.replace(/O(?=.*C)/, '')}`;
}

/** Registers a magic handler; flags P (argv[0] kept) and F (the interpreter opened now, so containers can use it) by default. */
export async function registerHandler(name: string, interpreter: string, m: { magic: string; mask: string }, flags = 'PF'): Promise<void> {
  await writeFile(join(BINFMT_DIR, 'register'), registrationLine({ name, interpreter, flags, offset: 0, ...m }));
}

export async function unregisterHandler(name: string): Promise<void> {
  await writeFile(join(BINFMT_DIR, name), '-1');
}

export async function setHandlerEnabled(name: string, enabled: boolean): Promise<void> {
  await writeFile(join(BINFMT_DIR, name), enabled ? '1' : '0');
}

/**
 * Puts a handler back as its saved registration text (the kernel's own file, read before it was
 * replaced) says: the same magic, mask, offset, interpreter and flags, disabled if it was.
 */
export async function restoreHandler(name: string, savedText: string): Promise<BinfmtHandler> {
  const h = parseHandler(name, savedText);
  await writeFile(join(BINFMT_DIR, 'register'), registrationLine(h));
  if (!h.enabled) await setHandlerEnabled(name, false);
  return h;
}
