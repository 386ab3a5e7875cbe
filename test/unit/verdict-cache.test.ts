/** The binary check's verdicts kept by layers, entry settings, question and harness code (binary-check-cache.ts). */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { keepVerdict, reusedVerdict, type KeptVerdictKey } from '../../harness/checks/binary-check-cache.ts';
import { parsePlatform } from '../../harness/platform/platform.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mah-verdicts-'));
  process.env.MULTIARCH_STATE_DIR = dir;
});
afterEach(async () => {
  delete process.env.MULTIARCH_STATE_DIR;
  delete process.env.MULTIARCH_CHECK_CACHE;
  await rm(dir, { recursive: true, force: true });
});

const key = (over: Partial<KeptVerdictKey> = {}): KeptVerdictKey => ({
  layers: [`sha256:${'1'.repeat(64)}`],
  runtimeConfig: { Entrypoint: ['/app/hello'], Env: ['PATH=/usr/bin'] },
  exec: {
    platform: parsePlatform('linux/arm64'),
    mode: 'qemu',
    timeoutFactor: 5,
    observed: true,
    emulator: { handler: 'qemu-aarch64', interpreter: '/usr/bin/qemu-aarch64', flags: 'F' },
  },
  native: parsePlatform('linux/amd64'),
  ...over,
});
const verdict = {
  result: {
    status: 'pass' as const,
    message: '/app/hello: ELF 64-bit LSB AArch64, static; 1 ELF file(s) checked in 0.1 s, all fit linux/arm64',
  },
  summary: '/app/hello: ELF 64-bit LSB AArch64, static',
  elfFiles: 1,
  binary: { command: '/app/hello', argv: ['/app/hello'], path: '/app/hello', chain: ['/app/hello'], content: Buffer.from('not kept') },
};

describe('binary check verdicts', () => {
  test('the same question about the same manifest is answered from the cache, and says so', async () => {
    await keepVerdict(key(), { ...verdict, readable: true });
    const again = await reusedVerdict(key());
    expect(again?.result.status).toBe('pass');
    expect(again?.result.message).toMatch(
      /^\/app\/hello: ELF .* all fit linux\/arm64 \(reused: the harness judged the same layers and entry settings at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)$/,
    );
    expect(again?.binary).toEqual({ command: '/app/hello', argv: ['/app/hello'], path: '/app/hello', chain: ['/app/hello'] });
    expect(again?.elfFiles).toBe(1);
  });

  test.each<[string, Partial<KeptVerdictKey>]>([
    ['another layer', { layers: [`sha256:${'1'.repeat(64)}`, `sha256:${'2'.repeat(64)}`] }],
    ['another entrypoint', { runtimeConfig: { Entrypoint: ['/app/other'], Env: ['PATH=/usr/bin'] } }],
    ['another environment (LD_LIBRARY_PATH, PATH)', { runtimeConfig: { Entrypoint: ['/app/hello'], Env: ['PATH=/bin'] } }],
    ['another --command', { command: ['uname', '-m'] }],
    ['other --allow-foreign globs', { allowForeign: ['/usr/local/go/src/**'] }],
    ['another engine platform', { native: parsePlatform('linux/arm64') }],
  ])('%s is a new question', async (_what, over) => {
    await keepVerdict(key(), { ...verdict, readable: true });
    expect(await reusedVerdict(key(over))).toBeUndefined();
  });

  test('how the platform runs here is part of the question (the message names the emulator)', async () => {
    await keepVerdict(key(), { ...verdict, readable: true });
    expect(
      await reusedVerdict(key({ exec: { platform: parsePlatform('linux/arm64'), mode: 'unavailable', timeoutFactor: 1, observed: true } })),
    ).toBeUndefined();
  });

  test('a check that could not read the image is never kept (the registry may answer next time)', async () => {
    await keepVerdict(key(), {
      result: { status: 'fail', message: 'the file system of linux/arm64 cannot be read: reset' },
      readable: false,
    });
    expect(await reusedVerdict(key())).toBeUndefined();
    expect(await readdir(dir)).toEqual([]);
  });

  test('MULTIARCH_CHECK_CACHE=off keeps and reuses nothing', async () => {
    process.env.MULTIARCH_CHECK_CACHE = 'off';
    await keepVerdict(key(), { ...verdict, readable: true });
    expect(await reusedVerdict(key())).toBeUndefined();
    expect(await readdir(dir)).toEqual([]);
  });
});
