/**
 * `multiarch-harness setup`: prepares this host to run foreign platforms, the way users do it today,
 * and proves it by running each platform; `setup --undo` puts binfmt_misc back as setup found it.
 *
 * - Which platforms: those given, else every platform the harness knows that is not of this host's
 *   own architecture. Each one without a working handler is asked of the kernel first (its probe run
 *   with every handler for it disabled for a moment): a 32-bit mode of the host's architecture (386
 *   on amd64, arm on arm64) runs by itself on some kernels and not on others, a foreign one is
 *   refused; a platform gets a handler only where the kernel does not run it.
 * - Which emulators: the host's own static QEMU (Debian and Ubuntu's qemu-user-static, or a static
 *   qemu-user), registered with flags P and F (F: opened now, so containers use it); where the host
 *   has none, the tonistiigi/binfmt image run through the engine (`--install`), as Docker's own
 *   documentation does it. `--emulators host|image` chooses one.
 * - A handler already registered, enabled, with flag F and an interpreter that exists is kept as it is.
 * - What it will change is said before it changes anything. Every change is recorded (in the state
 *   folder) before it is made: the registration text of a handler it replaces, the names it adds.
 * - Then each platform's probe program runs through the engine (as doctor does): the result says
 *   how it runs, or why it does not.
 */
import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EnvironmentError, readStateFile, stateDir, UsageError, writeStateFile } from '../base/index.ts';
import { Engine, runContainer } from '../engine/index.ts';
import { BINFMT_DIR, handlersFor, observePlatform, readLocalHandlers, type BinfmtHandler } from '../host/index.ts';
import { readElf } from '../image/index.ts';
import { formatPlatform, KNOWN_PLATFORMS, qemuHandlerName, type Platform } from '../platform/index.ts';
import { magicFor, registerHandler, restoreHandler, setHandlerEnabled, unregisterHandler } from './binfmt-writes.ts';

/** The image Docker's documentation installs emulators with. */
const BINFMT_IMAGE = 'tonistiigi/binfmt:latest';

/** What setup changed, recorded before each change: enough to put binfmt_misc back. */
interface SetupRecord {
  /** Handlers that were not there. */
  added: string[];
  /** Handlers that were there: the kernel's text of each before it was replaced. */
  replaced: Record<string, string>;
}

const RECORD = 'host-setup.json';

/** This kernel's own architecture, in OCI terms. */
export function hostArchitecture(arch: string = process.arch): string | undefined {
  return (
    { x64: 'amd64', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', ia32: '386', arm: 'arm' } as Record<
      string,
      string
    >
  )[arch];
}

export interface SetupOptions {
  platforms?: Platform[];
  emulators?: 'auto' | 'host' | 'image';
  /** Say what would change, change nothing. */
  dryRun?: boolean;
  log: (line: string) => void;
}

export interface PlatformProof {
  platform: string;
  runs: boolean;
  how: string;
}

async function exists(path: string, mode = constants.F_OK): Promise<boolean> {
  return access(path, mode).then(
    () => true,
    () => false,
  );
}

/** The host's static QEMU for a handler name (qemu-aarch64 → /usr/bin/qemu-aarch64-static, or a static /usr/bin/qemu-aarch64). */
async function hostQemu(handler: string): Promise<string | undefined> {
  for (const path of [
    `/usr/bin/${handler}-static`,
    `/usr/local/bin/${handler}-static`,
    `/usr/bin/${handler}`,
    `/usr/local/bin/${handler}`,
  ]) {
    if (!(await exists(path, constants.X_OK))) continue;
    // Static only: flag F opens it now, and inside a container there are no host libraries to load it with.
    const elf = await readFile(path)
      .then((b) => readElf(b))
      .catch(() => undefined);
    if (elf && !elf.interpreter) return path;
  }
  return undefined;
}

/** Whether a handler serves containers now: enabled, opened at registration (F), its interpreter there. */
async function serves(h: BinfmtHandler | undefined): Promise<boolean> {
  return Boolean(h?.enabled && h.flags.includes('F') && (await exists(h.interpreter)));
}

function handlerText(name: string): Promise<string | undefined> {
  return readFile(join(BINFMT_DIR, name), 'utf8').catch(() => undefined);
}

/**
 * What the kernel answered for a platform's programs, asked with every handler that would take them
 * disabled for a moment: it ran the program itself, it refused it (ENOEXEC), or the question got no
 * answer that says either (the engine could not be asked, the program failed otherwise).
 */
export type KernelAnswer = { kind: 'runs'; machine: string } | { kind: 'refuses' } | { kind: 'unknown'; why: string };

/**
 * Asks the kernel by running the platform's probe program through the engine (host/observe.ts, as
 * doctor does): the container runtime calls execve(2) itself, so a refusal is the kernel's own
 * ENOEXEC ("exec format error"). Not from this process: Node starts programs through execvp(3), and
 * glibc's execvp runs a file the kernel refuses again through /bin/sh, so a refusal would reach us
 * as the shell's "not found". The host's own platform answers "runs" and a foreign one "refuses" on
 * any machine, so every answer can be had anywhere.
 */
export async function askKernel(p: Platform, handlers: readonly BinfmtHandler[]): Promise<KernelAnswer> {
  const matching = handlersFor(p, handlers);
  try {
    for (const h of matching) await setHandlerEnabled(h.name, false);
    const seen = await observePlatform(formatPlatform(p), await readLocalHandlers());
    if (seen.ran && !seen.handler) return { kind: 'runs', machine: seen.machine ?? '' };
    if (seen.ran) return { kind: 'unknown', why: `it ran through the handler ${seen.handler}, which stayed enabled` };
    if (seen.error === 'exec format error') return { kind: 'refuses' };
    return { kind: 'unknown', why: seen.error ?? 'the engine gave no answer' };
  } finally {
    for (const h of matching) await setHandlerEnabled(h.name, true);
  }
}

/** The line that says what the kernel answered, and what follows from it. */
export function describeAnswer(p: Platform, a: KernelAnswer): string {
  const name = formatPlatform(p);
  if (a.kind === 'runs') return `${name}: this kernel runs its programs by itself (uname -m ${a.machine})`;
  if (a.kind === 'refuses') return `${name}: this kernel does not run its programs by itself (exec format error)`;
  return `${name}: could not tell whether this kernel runs its programs by itself (${a.why}); QEMU is registered for it, so it runs either way`;
}

async function saveRecord(r: SetupRecord): Promise<void> {
  await writeStateFile(join(stateDir(), RECORD), JSON.stringify(r, null, 2));
}

function readRecord(): Promise<SetupRecord | undefined> {
  return readStateFile<SetupRecord>(join(stateDir(), RECORD));
}

function assertWritable(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    throw new UsageError(
      'setup changes the kernel’s binfmt_misc handlers for the whole host, which needs root: run it as root (`sudo npx multiarch-harness setup`).',
    );
}

async function assertMounted(): Promise<void> {
  if (!(await exists(join(BINFMT_DIR, 'register'))))
    throw new EnvironmentError(
      `${BINFMT_DIR} is not mounted: mount it as root (\`mount -t binfmt_misc binfmt_misc ${BINFMT_DIR}\`) and run setup again.`,
    );
}

/** Prepares the host and proves each platform; returns the proofs (a platform that does not run fails the command). */
export async function setupHost(o: SetupOptions): Promise<PlatformProof[]> {
  const arch = hostArchitecture();
  if (!arch) throw new EnvironmentError(`setup knows no emulators for this host's architecture (${process.arch}).`);
  await assertMounted();
  // Asked for, every platform given (the host's own too: its answer is "runs"); else every one of another architecture.
  const wanted = o.platforms ?? KNOWN_PLATFORMS.filter((p) => p.architecture !== arch);
  const handlers = await readLocalHandlers();
  // One handler per QEMU name: arm/v6 and arm/v7 share qemu-arm.
  const byHandler = new Map<string, Platform>();
  for (const p of wanted) if (!byHandler.has(qemuHandlerName(p))) byHandler.set(qemuHandlerName(p), p);

  const todo: Array<{ name: string; platform: Platform; existing?: BinfmtHandler; source: string | 'image' }> = [];
  for (const [name, p] of byHandler) {
    const existing = handlers.find((h) => h.name === name);
    if (await serves(existing)) {
      o.log(`${formatPlatform(p)}: ${name} is registered already (${existing!.interpreter}, flags ${existing!.flags}): kept`);
      continue;
    }
    // The kernel is asked first, whatever the platform: a 32-bit mode of the host's architecture runs
    // by itself on some kernels and not on others, and a foreign one is refused everywhere.
    const answer = await askKernel(p, handlers);
    o.log(describeAnswer(p, answer) + (answer.kind === 'runs' ? ': no emulator needed' : ''));
    if (answer.kind === 'runs') continue;
    const local = o.emulators === 'image' ? undefined : await hostQemu(name);
    if (!local && o.emulators === 'host')
      throw new EnvironmentError(
        `this host has no static ${name} for ${formatPlatform(p)}: install qemu-user-static (Debian, Ubuntu: \`apt-get install qemu-user-static\`), or let setup use the ${BINFMT_IMAGE} image (\`--emulators image\`).`,
      );
    todo.push({ name, platform: p, ...(existing ? { existing } : {}), source: local ?? 'image' });
  }
  if (todo.length) {
    o.log(
      `setup will register ${todo.length} binfmt_misc handler${todo.length === 1 ? '' : 's'} in this host's kernel (host-wide: every container and process of this machine; needs root):`,
    );
    for (const t of todo)
      o.log(
        `  ${t.name} for ${formatPlatform(t.platform)}: ${t.source === 'image' ? `QEMU from ${BINFMT_IMAGE}, run through the engine` : `${t.source}, flags PF`}${t.existing ? ` (replacing ${t.existing.interpreter}, kept to put back)` : ''}`,
      );
    o.log('`multiarch-harness setup --undo` puts back what was there.');
  }
  if (!o.dryRun && todo.length) {
    assertWritable();
    const record: SetupRecord = (await readRecord()) ?? { added: [], replaced: {} };
    const fromImage = todo.filter((t) => t.source === 'image');
    for (const t of todo) {
      // Recorded before the change: a process killed in between still leaves what --undo needs.
      const before = await handlerText(t.name);
      if (before !== undefined && record.replaced[t.name] === undefined && !record.added.includes(t.name)) record.replaced[t.name] = before;
      if (before === undefined && !record.added.includes(t.name)) record.added.push(t.name);
      await saveRecord(record);
      if (t.source === 'image') continue;
      if (before !== undefined) await unregisterHandler(t.name);
      await registerHandler(t.name, t.source, magicFor(t.platform, t.existing));
    }
    if (fromImage.length) {
      // The image registers what it is told to, each under its QEMU name: those it replaces were saved above.
      for (const t of fromImage) if (t.existing) await unregisterHandler(t.name);
      await installFromImage(fromImage.map((t) => t.platform.architecture));
    }
  }
  return prove(wanted, o.log);
}

/** Runs tonistiigi/binfmt --install ARCH,... through the engine, privileged (it writes binfmt_misc from inside). */
async function installFromImage(architectures: string[]): Promise<void> {
  const engine = Engine.current();
  const present = (await engine.imagesPresent([BINFMT_IMAGE]))?.has(BINFMT_IMAGE) ?? false;
  if (!present) await engine.pullImage(BINFMT_IMAGE);
  const r = await runContainer(
    {
      name: `multiarch-harness-setup-${process.pid}`,
      platform: '',
      image: BINFMT_IMAGE,
      cmd: ['--install', [...new Set(architectures)].join(',')],
      labels: { 'io.multiarch-harness.setup': String(process.pid) },
      privileged: true,
      timeoutMs: 120_000,
    },
    engine,
  );
  if (r.exitCode !== 0)
    throw new EnvironmentError(
      `${BINFMT_IMAGE} --install failed (exit ${r.exitCode ?? 'none'}): ${r.stderr.trim().split('\n').at(-1) ?? ''}`,
    );
}

/** Each platform's probe run through the engine, as doctor does: how it runs, or why it does not. */
async function prove(platforms: readonly Platform[], log: (line: string) => void): Promise<PlatformProof[]> {
  const handlers = await readLocalHandlers();
  const proofs: PlatformProof[] = [];
  for (const p of platforms) {
    const seen = await observePlatform(formatPlatform(p), handlers);
    const how = seen.ran
      ? `runs (uname -m ${seen.machine ?? '?'}${seen.handler ? `, through ${seen.handler}` : ', by the kernel itself'})`
      : `does not run: ${seen.error ?? 'no answer'}`;
    proofs.push({ platform: formatPlatform(p), runs: seen.ran, how });
    log(`${formatPlatform(p)}: ${how}`);
  }
  return proofs;
}

/** Puts binfmt_misc back as setup found it: the handlers it added removed, those it replaced registered again as they were. */
export async function undoSetup(log: (line: string) => void): Promise<number> {
  const record = await readRecord();
  if (!record || (record.added.length === 0 && Object.keys(record.replaced).length === 0)) {
    log('setup has changed nothing on this host: nothing to undo.');
    return 0;
  }
  await assertMounted();
  assertWritable();
  for (const name of record.added) {
    if ((await handlerText(name)) !== undefined) await unregisterHandler(name);
    log(`${name}: removed (setup had added it)`);
  }
  for (const [name, text] of Object.entries(record.replaced)) {
    if ((await handlerText(name)) !== undefined) await unregisterHandler(name);
    const h = await restoreHandler(name, text);
    log(`${name}: put back as it was (${h.interpreter}, flags ${h.flags}${h.enabled ? '' : ', disabled'})`);
  }
  await saveRecord({ added: [], replaced: {} });
  return record.added.length + Object.keys(record.replaced).length;
}
