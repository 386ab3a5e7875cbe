// A run cleans up after a signal; what a SIGKILLed run left (its scratch folders too) is swept by the next run; handlers read
// through the engine equal the handlers read from this host's /proc.
import { execa } from 'execa';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { describe, expect, test } from 'vitest';
import { readEngineHandlers, readLocalHandlers } from '../../harness/host/binfmt.ts';
import { SESSION_LABEL, sweepStaleSessions } from '../../harness/session/session.ts';
import { IMAGE } from './fixtures/leaves-builder-and-image.ts';
import { allContainers, CLI, harnessLeftovers, ROOT, runImages } from './helpers.ts';

function startRun() {
  const child = execa('node', [CLI, 'run', 'test/e2e/fixtures/echo-amd64.ts'], { cwd: ROOT, reject: false });
  const registryUp = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      if (/registry .* is up/.test(d.toString())) resolve();
    });
    void child.then(() => reject(new Error('the run ended before its registry was up')));
  });
  return { child, registryUp };
}

async function labelled(): Promise<string[]> {
  return (await execa('docker', ['ps', '-aq', '--filter', `label=${SESSION_LABEL}`])).stdout.split('\n').filter(Boolean);
}

describe('cleanup', () => {
  test.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('%s mid-run removes the registry and exits %i', async (signal, code) => {
    const before = await allContainers();
    const { child, registryUp } = startRun();
    await registryUp;
    expect((await labelled()).length).toBeGreaterThan(0);
    child.kill(signal);
    const r = await child;
    expect(r.exitCode).toBe(code);
    expect(await harnessLeftovers()).toEqual([]);
    expect(await allContainers()).toEqual(before);
  });

  test('SIGTERM to the harness alone while its build runs: the build is stopped, and no image appears after the cleanup', async () => {
    // Signalled by pid (as a CI runner or the soak does), not by process group (as a terminal's Ctrl-C):
    // its `docker buildx build` gets no signal of its own. Left running, it would finish the 6 s step
    // and create the pushed tag's image in the engine's store after the cleanup removed what it knew.
    const native = (await execa('docker', ['version', '--format', '{{.Server.Os}}/{{.Server.Arch}}'])).stdout.trim();
    const imagesBefore = await runImages();
    const child = execa('node', [CLI, 'run', 'test/e2e/fixtures/slow-build.ts', '--platforms', native, '--no-cache'], {
      cwd: ROOT,
      reject: false,
      env: { MULTIARCH_DEBUG: '1' },
    });
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      child.stderr!.on('data', (d: Buffer) => {
        seen += d.toString();
        if (/\bRUN sleep 6\b/.test(seen)) resolve();
      });
      void child.then((r) => reject(new Error(`the run ended before its slow step began: ${r.stderr}`)));
    });
    const buildx = async () =>
      (await execa('pgrep', ['-f', 'docker(-buildx)? buildx build .*slow-build'], { reject: false })).stdout.split('\n').filter(Boolean);
    expect(await buildx(), 'its build is running when the signal comes').not.toEqual([]);
    child.kill('SIGTERM');
    const r = await child;
    expect(r.exitCode).toBe(143);
    // In this order: its build stopped, and only then its session cleaned up (a build that ended during
    // the cleanup could still create its image). Had the harness exited first, its build would only have
    // been killed at its exit, after the cleanup.
    const lines = r.stderr.split('\n');
    const stopped = lines.findIndex((l) => /^\[debug\] stopped before the cleanup: docker buildx build .*slow-build/.test(l));
    const cleanup = lines.findIndex((l) => l.startsWith('[debug] cleanup:'));
    expect(stopped, r.stderr).toBeGreaterThanOrEqual(0);
    expect(cleanup).toBeGreaterThan(stopped);
    expect(await buildx(), 'no build of it runs once it has exited').toEqual([]);
    // Longer than the slow step had left: a build still running would have exported its image by now.
    await new Promise((done) => setTimeout(done, 7_000));
    expect(await runImages()).toEqual(imagesBefore);
    expect(await harnessLeftovers()).toEqual([]);
  });

  test('the next run sweeps what a SIGKILLed run left', async () => {
    const { child, registryUp } = startRun();
    await registryUp;
    child.kill('SIGKILL');
    await child;
    expect((await labelled()).length).toBeGreaterThan(0);
    expect(await sweepStaleSessions()).toBe(1);
    expect(await labelled()).toEqual([]);
  });
});

describe('what cannot carry a label', () => {
  test('a builder and a pulled image of a SIGKILLed session are swept by the next one; images that were there before stay', async () => {
    expect(
      (await execa('docker', ['image', 'inspect', IMAGE], { reject: false })).exitCode,
      `${IMAGE} must not be in the engine before the test`,
    ).not.toBe(0);
    const imagesBefore = (await execa('docker', ['images', '-q', '--no-trunc'])).stdout.split('\n').sort();
    const child = execa('node', [CLI, 'run', 'test/e2e/fixtures/leaves-builder-and-image.ts'], { cwd: ROOT, reject: false });
    const left = await new Promise<string>((resolve, reject) => {
      child.stderr!.on('data', (d: Buffer) => {
        const m = /LEFT (\S+)/.exec(d.toString());
        if (m) resolve(m[1]!);
      });
      void child.then((r) => reject(new Error(`the run ended first: ${r.stderr}`)));
    });
    child.kill('SIGKILL');
    await child;
    const builders = async () => (await execa('docker', ['buildx', 'ls', '--format', '{{.Name}}'])).stdout.split('\n');
    expect(await builders()).toContain(left);
    // Its steps' scratch folder, named for its process (scratch-folders.ts), is left too.
    const scratch = async () => (await readdir(tmpdir())).filter((n) => new RegExp(`^mah-steps-\\d+-${child.pid}-`).test(n));
    expect(await scratch()).toHaveLength(1);
    expect((await execa('docker', ['image', 'inspect', IMAGE], { reject: false })).exitCode).toBe(0);
    expect(await sweepStaleSessions()).toBeGreaterThanOrEqual(1);
    expect(await builders()).not.toContain(left);
    expect(await scratch()).toEqual([]);
    expect((await execa('docker', ['image', 'inspect', IMAGE], { reject: false })).exitCode).not.toBe(0);
    expect((await execa('docker', ['images', '-q', '--no-trunc'])).stdout.split('\n').sort()).toEqual(imagesBefore);
    expect(await harnessLeftovers()).toEqual([]);
  });
});

describe('handlers through the engine', () => {
  test("equal the handlers in this host's /proc", async () => {
    const local = await readLocalHandlers();
    expect(local.length).toBeGreaterThan(0);
    const viaEngine = await readEngineHandlers('alpine:latest');
    const key = (hs: typeof local) => hs.map((h) => `${h.name} ${h.enabled} ${h.flags} ${h.interpreter}`).sort();
    expect(key(viaEngine)).toEqual(key(local));
  });
});
