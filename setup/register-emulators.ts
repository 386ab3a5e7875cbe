/**
 * Registers current QEMU emulators in binfmt_misc for every architecture the harness knows that this
 * host cannot run by itself, and proves by execution which ones it can.
 *
 *   node bin/run-ts.mjs setup/register-emulators.ts --state-dir DIR [--emulate linux/386,...|none]
 *                                                   [--ask-kernel linux/amd64,linux/s390x]
 *
 * - The emulators are the newest QEMU Debian has (sid's qemu-user, static-pie binaries), copied to
 *   DIR/emulators/qemu-<version>/ and registered with flags P and F (F: opened at registration, so
 *   they work inside containers), under QEMU's usual handler names (qemu-aarch64, ...), replacing
 *   bookworm's older QEMU 7.2 registrations for those names. trixie's QEMU 10.0 is kept beside it and
 *   bookworm's stays installed: the harness asks them for a second opinion when a program crashes or
 *   hangs under the registered one.
 * - 32-bit modes of the host's own architecture (386 on amd64, arm on arm64) run natively on some
 *   kernels and not at all on others: the kernel is asked by running a tiny static program of that
 *   platform through the engine with every handler for it disabled for a moment. A handler is
 *   registered where the kernel refuses, where the answer says neither (then in one sentence), or
 *   where --emulate asks for one (so that the QEMU path is exercised on a host that could run the
 *   platform natively). `--emulate none` removes such requested handlers again.
 * - --ask-kernel asks the same question for other platforms first: the host's own platform answers
 *   "runs" and a foreign one "refuses" on any machine, so every answer's path runs everywhere.
 * Every registration is recorded in DIR/changes, so `prepare-host.sh --undo` can put Debian's back.
 */
import { chmod, copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatPlatform, parsePlatformList, type Platform } from 'multiarch-harness';
import {
  askKernel,
  BINFMT_DIR,
  describeAnswer,
  hostArchitecture,
  KNOWN_PLATFORMS,
  magicFor,
  qemuHandlerName,
  readLocalHandlers,
  registerHandler,
  restoreHandler,
  unregisterHandler as unregister,
  type KernelAnswer,
} from 'multiarch-harness/prepare';
import { DebianArchive } from './standins/debian-archive.ts';

const log = (s: string) => console.log(`[emulators] ${s}`);

const { values } = parseArgs({
  options: {
    'state-dir': { type: 'string', default: '/var/lib/multiarch-harness' },
    emulate: { type: 'string' },
    restore: { type: 'string' },
    'ask-kernel': { type: 'string' },
  },
});
const stateDir = values['state-dir']!;
const changes = join(stateDir, 'changes');

/** The host's own architecture, in OCI terms. */
const HOST_ARCH = hostArchitecture();
/** 32-bit modes a 64-bit kernel of the host's architecture may (or may not) run by itself. */
const COMPAT_CANDIDATES: Record<string, string[]> = { amd64: ['linux/386'], arm64: ['linux/arm/v7'] };

async function record(line: string): Promise<void> {
  const text = await readFile(changes, 'utf8').catch(() => '');
  if (!text.split('\n').includes(line)) await writeFile(changes, `${text}${line}\n`);
}

async function forget(line: string): Promise<void> {
  const text = await readFile(changes, 'utf8').catch(() => '');
  await writeFile(
    changes,
    text
      .split('\n')
      .filter((l) => l && l !== line)
      .map((l) => `${l}\n`)
      .join(''),
  );
}

/**
 * Debian's qemu-user of one suite for this host, its static binaries copied to a fixed, versioned
 * folder (<state>/emulators/qemu-<version>/), where the harness also finds them for second opinions.
 */
async function qemuOf(suite: string): Promise<{ dir: string; version: string }> {
  const debArch = ({ amd64: 'amd64', arm64: 'arm64', ppc64le: 'ppc64el', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[
    HOST_ARCH!
  ]!;
  // trixie's lists are shared with the stand-ins, which read them for these architectures.
  const arches = suite === 'trixie' ? ['amd64', 'arm64', 'armhf', 'armel', 'i386', 'ppc64el', 's390x', 'riscv64'] : [debArch];
  const archive = new DebianArchive(stateDir, suite, arches);
  await archive.update();
  const version = await archive.candidateVersion('qemu-user', debArch);
  const plain = version.replace(/^\d+:/, '').replace(/[+~].*$/, '');
  const dir = join(stateDir, 'emulators', `qemu-${plain}`);
  if (
    await stat(join(dir, '.complete')).then(
      () => true,
      () => false,
    )
  )
    return { dir, version: plain };
  log(`fetching Debian ${suite}'s qemu-user ${version} (QEMU ${plain})`);
  const pkg = await archive.fetch('qemu-user', debArch);
  await mkdir(dir, { recursive: true });
  for (const name of new Set(KNOWN_PLATFORMS.map(qemuHandlerName))) {
    const src = join(pkg.root, 'usr/bin', name);
    if (
      !(await stat(src).then(
        (s) => s.isFile(),
        () => false,
      ))
    )
      continue;
    await copyFile(src, join(dir, name));
    await chmod(join(dir, name), 0o755);
  }
  await writeFile(join(dir, '.complete'), `${version}\n`);
  return { dir, version: plain };
}

/**
 * The QEMU to register: the newest Debian has (sid's). trixie's stays beside it, and bookworm's
 * qemu-user-static (7.2) in /usr/bin, for the harness's second opinion when a program crashes or
 * hangs under the registered one: emulator regressions come and go with the version (QEMU 10.1's
 * ldconfig segfault on emulated arm64, Go hanging under qemu-user).
 */
async function currentQemu(): Promise<{ dir: string; version: string }> {
  const newest = await qemuOf('sid');
  const previous = await qemuOf('trixie');
  log(`registering QEMU ${newest.version} (Debian sid); QEMU ${previous.version} (trixie) and bookworm's kept for second opinions`);
  return newest;
}

const savedDir = join(stateDir, 'binfmt-saved');

async function saveHandler(name: string): Promise<void> {
  await mkdir(savedDir, { recursive: true });
  const file = join(savedDir, name);
  // The first replacement's original is the one to restore: never overwrite it with ours.
  if (
    await stat(file).then(
      () => true,
      () => false,
    )
  )
    return;
  await writeFile(file, await readFile(join(BINFMT_DIR, name), 'utf8'));
}

/** Puts back a handler as it was before this script replaced it (prepare-host.sh --undo), through the package's binfmt writes. */
async function restore(name: string): Promise<boolean> {
  const text = await readFile(join(savedDir, name), 'utf8').catch(() => undefined);
  if (text === undefined) return false;
  if (
    await stat(join(BINFMT_DIR, name)).then(
      () => true,
      () => false,
    )
  )
    await unregister(name);
  const h = await restoreHandler(name, text);
  await rm(join(savedDir, name), { force: true });
  log(`${name}: put back as it was (${h.interpreter}, flags ${h.flags})`);
  return true;
}

async function main(): Promise<void> {
  if (values.restore) {
    if (!(await restore(values.restore))) process.exit(3);
    return;
  }
  if (!HOST_ARCH) throw new Error(`this host's architecture (${process.arch}) is not one the harness registers emulators on.`);
  if (
    !(await stat(join(BINFMT_DIR, 'register')).then(
      () => true,
      () => false,
    ))
  )
    throw new Error(`${BINFMT_DIR} is not mounted.`);
  const emulate = values.emulate === 'none' ? [] : values.emulate ? parsePlatformList(values.emulate) : undefined;
  // Platforms whose answer is asked of the kernel before a handler is registered: the 32-bit modes of
  // the host's architecture, and any --ask-kernel names (the host's own platform answers "runs", a
  // foreign one "refuses": every answer can be had on any machine).
  const asked = [...(COMPAT_CANDIDATES[HOST_ARCH] ?? []), ...(values['ask-kernel'] ? [values['ask-kernel']] : [])].flatMap((t) =>
    parsePlatformList(t),
  );
  const qemu = await currentQemu();
  let handlers = await readLocalHandlers();
  const answers = new Map<string, KernelAnswer>();
  for (const p of asked) {
    if (answers.has(p.architecture)) continue;
    const answer = await askKernel(p, handlers);
    answers.set(p.architecture, answer);
    log(describeAnswer(p, answer));
  }
  const done: string[] = [];
  const byHandler = new Map<string, Platform>();
  for (const p of KNOWN_PLATFORMS)
    if (p.architecture !== HOST_ARCH && !byHandler.has(qemuHandlerName(p))) byHandler.set(qemuHandlerName(p), p);
  for (const [name, p] of byHandler) {
    const interpreter = join(qemu.dir, name);
    if (
      !(await stat(interpreter).then(
        () => true,
        () => false,
      ))
    ) {
      log(`${name}: QEMU ${qemu.version} has no such emulator; left as it is`);
      continue;
    }
    const existing = handlers.find((h) => h.name === name);
    if (answers.get(p.architecture)?.kind === 'runs' && !emulate?.some((e) => e.architecture === p.architecture)) {
      // The kernel runs it itself: no handler, unless --emulate asks for one (`none` takes it away again).
      if (emulate && existing?.interpreter === interpreter) {
        await unregister(name);
        await restore(name);
        await forget(`binfmt-current:${name}`);
        log(`${name}: removed (--emulate none; the kernel runs ${formatPlatform(p)} itself)`);
      }
      continue;
    }
    if (existing?.enabled && existing.interpreter === interpreter && existing.flags.includes('F')) continue;
    if (existing) {
      // What was there (Debian's, tonistiigi/binfmt's, a user's) is kept, so --undo can put it back as it was.
      await saveHandler(name);
      await unregister(name);
    }
    await registerHandler(name, interpreter, magicFor(p, existing));
    await record(`binfmt-current:${name}`);
    done.push(name);
  }
  handlers = await readLocalHandlers();
  if (done.length) log(`registered QEMU ${qemu.version} (${qemu.dir}) as ${done.join(', ')}`);
  const current = handlers.filter((h) => h.interpreter.startsWith(qemu.dir));
  log(
    `${current.length} handlers use QEMU ${qemu.version}: ${
      current
        .map((h) => h.name)
        .sort()
        .join(' ') || 'none'
    }`,
  );
}

main().catch((err: unknown) => {
  console.error(`[emulators] error: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
});
