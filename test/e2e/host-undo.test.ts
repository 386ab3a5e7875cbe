// `prepare-host.sh --undo` puts binfmt_misc back exactly as it was before the set-up registered its
// QEMU, entry by entry: a user's own handler of another interpreter and flags comes back as it was, a
// disabled one comes back disabled, a handler the host did not have is removed, and the rest come
// back as they were. The set-up runs against a scratch state folder (its record of changes and of the
// handlers it replaced live there), sharing the real one's Debian archives and emulators, so the
// engine and everything else the real set-up made stay untouched. binfmt_misc is put back afterwards.
import { execa } from 'execa';
import { mkdtemp, rm, symlink, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { stateDir } from '../../harness/base/state-dir.ts';
import { BINFMT, engineNative, foreignPlatform, registrationOf, restoreBinfmt, snapshotBinfmt } from './support/host-facts.ts';
import { parsePlatform, qemuHandlerName } from '../../harness/platform/platform.ts';
import { parseHandler } from '../../harness/host/binfmt.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let original: Map<string, string>;
let scratch: string;

beforeAll(async () => {
  original = await snapshotBinfmt();
  scratch = await mkdtemp(join(tmpdir(), 'mah-undo-'));
  // The Debian archives and the emulators fetched before: shared, so nothing is downloaded again.
  for (const d of ['apt-sid', 'apt-trixie', 'trixie-apt', 'emulators'])
    await symlink(join(stateDir(), d), join(scratch, d)).catch(() => undefined);
});

afterAll(async () => {
  await restoreBinfmt(original);
  await rm(scratch, { recursive: true, force: true });
});

test("prepare-host --undo restores binfmt_misc entry by entry: a user's own handler, a disabled one, one the host lacked", async () => {
  const native = await engineNative();
  const foreign = foreignPlatform(native);
  const own = qemuHandlerName(parsePlatform(foreign));
  const absent = qemuHandlerName(parsePlatform(foreign === 'linux/riscv64' ? 'linux/ppc64le' : 'linux/riscv64'));
  const disabled = qemuHandlerName(parsePlatform(foreign === 'linux/mips64le' ? 'linux/ppc64le' : 'linux/mips64le'));
  expect(new Set([own, absent, disabled]).size).toBe(3);
  // The host before the set-up: `own` is the user's (another interpreter path, flags F only), `disabled`
  // registered but switched off, `absent` not registered at all.
  const ownText = original.get(own);
  expect(ownText, `the set-up registered ${own}`).toBeDefined();
  const ownHandler = parseHandler(own, ownText!);
  const userInterpreter = join(scratch, `user-${own}`);
  await execa('cp', [ownHandler.interpreter, userInterpreter]);
  await writeFile(join(BINFMT, own), '-1');
  await writeFile(
    join(BINFMT, 'register'),
    registrationOf(own, ownText!).replace(`:${ownHandler.interpreter}:${ownHandler.flags}`, `:${userInterpreter}:F`),
  );
  await writeFile(join(BINFMT, disabled), '0');
  await writeFile(join(BINFMT, absent), '-1').catch(() => undefined);
  const before = await snapshotBinfmt();
  expect(parseHandler(own, before.get(own)!)).toMatchObject({ interpreter: userInterpreter, flags: 'F', enabled: true });
  expect(parseHandler(disabled, before.get(disabled)!).enabled).toBe(false);
  expect(before.has(absent)).toBe(false);

  // The set-up's registration, recorded in the scratch folder: every handler is replaced (the
  // interpreters' path differs from the real folder's), so every one must come back.
  const env = { ...process.env, MULTIARCH_STATE_DIR: scratch };
  const registered = await execa('node', ['bin/run-ts.mjs', 'setup/register-emulators.ts', '--state-dir', scratch], {
    cwd: ROOT,
    env,
    reject: false,
  });
  expect(registered.exitCode, `${registered.stdout}\n${registered.stderr}`).toBe(0);
  const during = await snapshotBinfmt();
  for (const name of [own, absent, disabled]) {
    const h = parseHandler(name, during.get(name) ?? '');
    expect(h.enabled, `${name} registered and enabled by the set-up`).toBe(true);
    expect(h.interpreter.startsWith(join(scratch, 'emulators')), `${name}: ${h.interpreter}`).toBe(true);
  }
  const recorded = await readFile(join(scratch, 'changes'), 'utf8');
  expect(recorded).toContain(`binfmt-current:${own}\n`);

  const undone = await execa('bash', ['setup/prepare-host.sh', '--undo'], { cwd: ROOT, env, reject: false });
  expect(undone.exitCode, `${undone.stdout}\n${undone.stderr}`).toBe(0);
  const after = await snapshotBinfmt();
  // Entry by entry, as the kernel shows them.
  expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
  for (const [name, text] of before) expect(after.get(name), name).toBe(text);
});
