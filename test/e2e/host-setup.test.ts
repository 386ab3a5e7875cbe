// `multiarch-harness setup` against the real kernel and engine. The platform is s390x, foreign on
// every host the harness runs on: its handler is taken away for each test, and binfmt_misc is put
// back entry by entry afterwards. Setup then registers an emulator (the host's static QEMU, or the
// tonistiigi/binfmt image through the engine), proves s390x runs by running its probe, and
// `setup --undo` leaves binfmt_misc exactly as setup found it: a handler that was absent is gone
// again, one it replaced is back as it was (disabled, with its own interpreter and flags). Without
// root it changes nothing and says so in one sentence.
import { readFile, writeFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CLI, ROOT, cli } from './helpers.ts';
import { BINFMT, engineNative, registrationOf, restoreBinfmt, snapshotBinfmt } from './support/host-facts.ts';

const NAME = 'qemu-s390x';
const HANDLER = join(BINFMT, NAME);
const HOST_QEMU = '/usr/bin/qemu-s390x-static';

let state: string;
let original: Map<string, string>;
beforeAll(async () => {
  state = await mkdtemp(join(tmpdir(), 'mah-host-setup-'));
  original = await snapshotBinfmt();
});
afterAll(async () => {
  await restoreBinfmt(original);
  await rm(state, { recursive: true, force: true });
});

const setup = (...args: string[]) => cli(['setup', ...args], { MULTIARCH_STATE_DIR: state });
const handlerText = () => readFile(HANDLER, 'utf8').catch(() => undefined);

describe('multiarch-harness setup', () => {
  test('with no handler for s390x: it says what it will change, registers the host QEMU, proves s390x runs; --undo removes it again', async () => {
    await writeFile(HANDLER, '-1').catch(() => undefined);
    const before = await snapshotBinfmt();
    const r = await setup('--platform', 'linux/s390x', '--emulators', 'host');
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    const lines = r.stdout.split('\n');
    const plan = lines.findIndex((l) =>
      /^setup will register 1 binfmt_misc handler in this host's kernel \(host-wide.*needs root\)/.test(l),
    );
    const proof = lines.findIndex((l) => /^linux\/s390x: runs \(uname -m s390x, through qemu-s390x\)$/.test(l));
    expect(plan, r.stdout).toBeGreaterThanOrEqual(0);
    // The kernel was asked first, with nothing registered for s390x: its own refusal.
    const asked = lines.indexOf('linux/s390x: this kernel does not run its programs by itself (exec format error)');
    expect(asked, r.stdout).toBeGreaterThanOrEqual(0);
    expect(asked).toBeLessThan(plan);
    expect(lines[plan + 1]).toBe(`  ${NAME} for linux/s390x: ${HOST_QEMU}, flags PF`);
    // Said before it is done.
    expect(proof).toBeGreaterThan(plan);
    expect(await handlerText()).toMatch(new RegExp(`^enabled\\ninterpreter ${HOST_QEMU}\\nflags: PF\\n`));

    const undo = await setup('--undo');
    expect(undo.exitCode, undo.stderr).toBe(0);
    expect(undo.stdout).toMatch(/^qemu-s390x: removed \(setup had added it\)$/m);
    expect(await snapshotBinfmt()).toEqual(before);
    // Nothing left to undo.
    expect((await setup('--undo')).stdout).toMatch(/setup has changed nothing on this host: nothing to undo/);
  });

  test('a handler that does not serve containers (disabled, no flag F) is replaced, and --undo puts it back as it was', async () => {
    await writeFile(HANDLER, '-1').catch(() => undefined);
    const mine = `:${NAME}:M:0:\\x7fELF\\x02\\x02\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\x16:\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff:${HOST_QEMU}:P`;
    await writeFile(join(BINFMT, 'register'), mine);
    await writeFile(HANDLER, '0');
    const before = await snapshotBinfmt();
    const mineText = before.get(NAME)!;
    expect(mineText).toMatch(/^disabled\n/);

    const r = await setup('--platform', 'linux/s390x', '--emulators', 'host');
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain(`  ${NAME} for linux/s390x: ${HOST_QEMU}, flags PF (replacing ${HOST_QEMU}, kept to put back)`);
    expect(await handlerText()).toMatch(/^enabled\n[\s\S]*flags: PF\n/);

    const undo = await setup('--undo');
    expect(undo.stdout).toMatch(/^qemu-s390x: put back as it was \(\/usr\/bin\/qemu-s390x-static, flags P, disabled\)$/m);
    expect(await handlerText()).toBe(mineText);
    expect(registrationOf(NAME, (await handlerText())!)).toBe(registrationOf(NAME, mineText));
    expect(await snapshotBinfmt()).toEqual(before);
  });

  test('--emulators image: tonistiigi/binfmt registers it through the engine; --undo removes it', async () => {
    await writeFile(HANDLER, '-1').catch(() => undefined);
    const before = await snapshotBinfmt();
    const r = await setup('--platform', 'linux/s390x', '--emulators', 'image');
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain(`  ${NAME} for linux/s390x: QEMU from tonistiigi/binfmt:latest, run through the engine`);
    expect(r.stdout).toMatch(/^linux\/s390x: runs \(uname -m s390x, through qemu-s390x\)$/m);
    // The image's own emulator, held open by the kernel (flag F).
    expect(await handlerText()).toMatch(/^enabled\ninterpreter \/usr\/bin\/qemu-s390x\n/);
    expect((await execa('docker', ['ps', '-a', '--filter', 'label=io.multiarch-harness.setup', '-q'])).stdout).toBe('');

    expect((await setup('--undo')).exitCode).toBe(0);
    expect(await snapshotBinfmt()).toEqual(before);
  });

  test('without root it changes nothing and says so in one sentence (exit 2)', async () => {
    await writeFile(HANDLER, '-1').catch(() => undefined);
    const before = await snapshotBinfmt();
    const r = await execa(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', 'node', CLI, 'setup', '--platform', 'linux/s390x', '--emulators', 'host'],
      {
        cwd: ROOT,
        reject: false,
        env: { PATH: process.env.PATH ?? '', MULTIARCH_STATE_DIR: join(tmpdir(), `mah-nobody-${process.pid}`) },
      },
    );
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(2);
    expect(r.stderr.trim()).toMatch(
      /^multiarch-harness: setup changes the kernel’s binfmt_misc handlers for the whole host, which needs root: run it as root \(`sudo npx multiarch-harness setup`\)\.$/,
    );
    expect(await snapshotBinfmt()).toEqual(before);
  });

  test('--dry-run says what would change and changes nothing', async () => {
    await writeFile(HANDLER, '-1').catch(() => undefined);
    const before = await snapshotBinfmt();
    const r = await setup('--platform', 'linux/s390x', '--emulators', 'host', '--dry-run');
    expect(r.stdout).toContain(`  ${NAME} for linux/s390x: ${HOST_QEMU}, flags PF`);
    expect(r.stdout).toMatch(/^linux\/s390x: does not run: exec format error$/m);
    expect(r.exitCode).toBe(1);
    expect(await snapshotBinfmt()).toEqual(before);
  });

  test("the host's own platform: the kernel runs it, so no emulator is registered for it", async () => {
    const native = await engineNative();
    const before = await snapshotBinfmt();
    const r = await setup('--platform', native, '--emulators', 'host');
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`^${native}: this kernel runs its programs by itself \\(uname -m \\S+\\): no emulator needed$`, 'm'),
    );
    expect(r.stdout).not.toMatch(/setup will register/);
    expect(r.stdout).toMatch(new RegExp(`^${native}: runs \\(uname -m \\S+, by the kernel itself\\)$`, 'm'));
    expect(await snapshotBinfmt()).toEqual(before);
  });

  test('no engine to ask: it says it could not tell, and changes nothing in a dry run', async () => {
    await writeFile(HANDLER, '-1').catch(() => undefined);
    const before = await snapshotBinfmt();
    const r = await cli(['setup', '--platform', 'linux/s390x', '--emulators', 'host', '--dry-run'], {
      MULTIARCH_STATE_DIR: state,
      DOCKER_HOST: 'unix:///nonexistent/multiarch-harness-e2e/docker.sock',
    });
    expect(r.stdout).toMatch(
      /^linux\/s390x: could not tell whether this kernel runs its programs by itself \(.*No Docker engine answers.*\); QEMU is registered for it, so it runs either way$/m,
    );
    expect(r.stdout).toContain(`  ${NAME} for linux/s390x: ${HOST_QEMU}, flags PF`);
    expect(r.exitCode).toBe(1);
    expect(await snapshotBinfmt()).toEqual(before);
  });
});
