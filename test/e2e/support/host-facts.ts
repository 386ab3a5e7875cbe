/**
 * What this host does, learnt for the e2e tests independently of the code they test: a platform's
 * probe program run directly on the host (no engine, no classify, no table), the engine's own word
 * on its platform, and the binfmt_misc entries read, snapshotted and put back entry by entry.
 * Tests take their expectations from here, so they hold on whatever host they run.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { execa } from 'execa';
import { matchingHandler, parseHandler, readLocalHandlers } from '../../../harness/host/binfmt.ts';
import { elfHeaderOf, probeProgram } from '../../../harness/host/probe-program.ts';
import { parsePlatform, qemuHandlerName, type Platform } from '../../../harness/platform/platform.ts';

const run = promisify(execFile);
export const BINFMT = '/proc/sys/fs/binfmt_misc';

export interface DirectRun {
  /** The program printed a machine name: it ran. */
  ran: boolean;
  machine?: string;
  /** The enabled handler whose magic matches the program: the kernel hands it to that one. */
  handler?: string;
}

/**
 * Runs the platform's uname probe directly on this host. A program the kernel refuses reaches Node
 * as the shell's "not found" (glibc's execvp retries it through /bin/sh): here that only means "did
 * not run", which is all this needs.
 */
export async function probeDirectly(platform: string | Platform): Promise<DirectRun> {
  const p = typeof platform === 'string' ? parsePlatform(platform) : platform;
  const dir = await mkdtemp(join(tmpdir(), 'mah-direct-'));
  try {
    const file = join(dir, 'probe');
    await writeFile(file, probeProgram(p), { mode: 0o755 });
    const handler = matchingHandler(await readLocalHandlers(), elfHeaderOf(p))?.name;
    const out = await run(file, [], { timeout: 60_000, encoding: 'latin1' }).then(
      (r) => r.stdout,
      () => undefined,
    );
    const machine = out?.split('\0')[0]?.trim();
    return machine ? { ran: true, machine, ...(handler ? { handler } : {}) } : { ran: false, ...(handler ? { handler } : {}) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The engine's platform in its own words (`docker version`), e.g. linux/amd64. */
export async function engineNative(): Promise<string> {
  const r = await execa('docker', ['version', '--format', '{{.Server.Os}}/{{.Server.Arch}}']);
  return r.stdout.trim();
}

/** A platform of another architecture than the host's, with a QEMU handler name: s390x, or riscv64 on an s390x host. */
export function foreignPlatform(native: string): string {
  return native === 'linux/s390x' ? 'linux/riscv64' : 'linux/s390x';
}

/** The registration line that recreates a handler from its /proc text. */
export function registrationOf(name: string, text: string): string {
  const h = parseHandler(name, text);
  const escaped = (hex: string) => hex.replace(/../g, (b) => `\\x${b}`);
  const flags = h.flags.includes('C') ? h.flags.replace('O', '') : h.flags; // the kernel shows O for C
  return `:${name}:M:${h.offset ?? 0}:${escaped(h.magic ?? '')}:${escaped(h.mask ?? '')}:${h.interpreter}:${flags}`;
}

/** Every binfmt_misc entry's text, by name. */
export async function snapshotBinfmt(): Promise<Map<string, string>> {
  const names = (await readdir(BINFMT)).filter((n) => n !== 'register' && n !== 'status');
  return new Map(await Promise.all(names.map(async (n) => [n, await readFile(join(BINFMT, n), 'utf8')] as [string, string])));
}

/** Puts binfmt_misc back as the snapshot had it: added entries removed, changed or removed ones registered again. */
export async function restoreBinfmt(before: Map<string, string>): Promise<void> {
  const now = await snapshotBinfmt();
  for (const [name, text] of now) {
    if (before.get(name) !== text) await writeFile(join(BINFMT, name), '-1');
  }
  for (const [name, text] of before) {
    if (now.get(name) === text) continue;
    await writeFile(join(BINFMT, 'register'), registrationOf(name, text));
    if (!/^enabled$/m.test(text)) await writeFile(join(BINFMT, name), '0');
  }
}

/** Removes the handler for a platform (to be put back by restoreBinfmt). */
export async function removeHandler(platform: string): Promise<void> {
  await writeFile(join(BINFMT, qemuHandlerName(parsePlatform(platform))), '-1').catch(() => undefined);
}
