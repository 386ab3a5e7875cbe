// Bad input and a broken host get one clear sentence, a non-zero exit, no stack trace, and leave
// nothing behind.
import { writeFile } from 'node:fs/promises';
import { describe, expect, test } from 'vitest';
import { allContainers, cli, harnessLeftovers } from './helpers.ts';
import { engineNative, probeDirectly } from './support/host-facts.ts';

function oneSentence(stderr: string): void {
  const lines = stderr.trim().split('\n');
  expect(lines[0]).toMatch(/^multiarch-harness: /);
  expect(stderr).not.toMatch(/^\s+at /m);
}

describe('bad input', () => {
  test('a malformed platform', async () => {
    const r = await cli(['run', 'scenarios/hello-go-qemu.ts', '--platforms', 'linux/arm64,linux//v7']);
    expect(r.exitCode).toBe(2);
    oneSentence(r.stderr);
    expect(r.stderr).toMatch(/"linux\/\/v7" is not a platform/);
  });

  test('a missing scenario file and an unknown option', async () => {
    const missing = await cli(['run', 'scenarios/nope.ts']);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/There is no scenario file at .*nope\.ts/);
    const option = await cli(['run', 'scenarios/hello-go-qemu.ts', '--platfroms', 'linux/amd64']);
    expect(option.exitCode).toBe(2);
    oneSentence(option.stderr);
  });

  test('a missing Dockerfile stops before anything is created', async () => {
    const before = await allContainers();
    const r = await cli(['run', 'test/e2e/fixtures/no-dockerfile.ts']);
    expect(r.exitCode).toBe(2);
    oneSentence(r.stderr);
    expect(r.stderr).toMatch(/There is no Dockerfile at .*Dockerfile\.missing/);
    expect(await allContainers()).toEqual(before);
  });

  test('no daemon', async () => {
    const r = await cli(['doctor'], { DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    expect(r.exitCode).toBe(2);
    oneSentence(r.stderr);
    expect(r.stderr).toMatch(/No Docker engine answers/);
  });
});

describe('a missing QEMU handler', () => {
  const handler = '/proc/sys/fs/binfmt_misc/qemu-mips64el';

  test('is reported as unavailable with the fix, the other platforms still run, exit 1', async () => {
    await writeFile(handler, '0'); // disable, host-wide, restored below
    try {
      const before = await allContainers();
      // linux/amd64's mode on this host, from its probe run directly: a handler takes it (qemu), or it is the engine's own.
      const amd64 = await probeDirectly('linux/amd64');
      const mode = amd64.handler ? 'qemu' : (await engineNative()) === 'linux/amd64' ? 'native' : 'compat';
      const r = await cli(['run', 'test/e2e/fixtures/echo-platform.ts', '--quiet']);
      expect(r.exitCode, r.stdout + r.stderr).toBe(1);
      expect(r.stdout).toMatch(new RegExp(`linux/amd64\\s+${mode}\\s+PASS`));
      expect(r.stdout).toMatch(/linux\/mips64le\s+unavailable\s+FAIL/);
      expect(r.stdout).toMatch(/no binfmt_misc handler qemu-mips64el is registered|qemu-mips64el handler is registered but disabled/);
      expect(r.stdout).toMatch(/fix: .*multiarch-harness setup.*qemu-mips64el/);
      expect(r.stderr).not.toMatch(/^\s+at /m);

      const skipped = await cli(['run', 'test/e2e/fixtures/echo-platform.ts', '--quiet', '--allow-skip']);
      expect(skipped.exitCode).toBe(0);
      expect(skipped.stdout).toMatch(/1 passed, 0 failed, 1 skipped/);
      expect(await harnessLeftovers()).toEqual([]);
      expect(await allContainers()).toEqual(before);
    } finally {
      await writeFile(handler, '1');
    }
  });
});
