/**
 * A layer's facts kept on disk (harness/image/layer-facts.ts): what a scan found comes back the
 * same, by digest, code and bounds; nothing is kept for a digest that is not one, or with
 * MULTIARCH_CHECK_CACHE=off.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { keepLayerFacts, keptLayerFacts, type LayerFacts } from '../../harness/image/layer-facts.ts';

let state = '';
const before = process.env.MULTIARCH_STATE_DIR;
beforeAll(async () => {
  state = await mkdtemp(join(tmpdir(), 'mah-layer-facts-'));
  process.env.MULTIARCH_STATE_DIR = state;
});
afterAll(async () => {
  if (before === undefined) delete process.env.MULTIARCH_STATE_DIR;
  else process.env.MULTIARCH_STATE_DIR = before;
  await rm(state, { recursive: true, force: true });
});

const facts: LayerFacts = {
  gzip: true,
  entries: [
    { name: 'bin/', type: 'directory', size: 0, mode: 0o755, uid: 0, gid: 0 },
    { name: 'bin/app', type: 'file', size: 1234, mode: 0o755, uid: 0, gid: 0 },
    { name: 'bin/sh', type: 'symlink', size: 0, mode: 0o777, uid: 0, gid: 0, linkname: 'busybox' },
    { name: 'etc/ld.so.conf', type: 'file', size: 9, mode: 0o644, uid: 0, gid: 0 },
  ],
  files: new Map([
    [
      1,
      {
        kind: 'elf',
        loadable: true,
        truncated: false,
        elf: {
          bits: 64,
          endian: 'little',
          machine: 183,
          machineName: 'AArch64',
          flags: 0,
          interpreter: '/lib/ld-linux-aarch64.so.1',
          needed: ['libc.so.6'],
        },
      },
    ],
  ]),
  kept: new Map([[3, Buffer.from('/usr/lib\n')]]),
};
const key = { digest: `sha256:${'ab'.repeat(32)}`, maxFileBytes: 512 * 1024 * 1024, keep: true };

describe("a layer's facts on disk", () => {
  test('come back as they were kept, for the same digest and bounds only', async () => {
    expect(await keptLayerFacts(key)).toBeUndefined();
    await keepLayerFacts(key, facts);
    expect(await keptLayerFacts(key)).toEqual(facts);
    expect(await keptLayerFacts({ ...key, maxFileBytes: 1024 })).toBeUndefined();
    expect(await keptLayerFacts({ ...key, keep: false })).toBeUndefined();
    expect(await keptLayerFacts({ ...key, digest: `sha256:${'cd'.repeat(32)}` })).toBeUndefined();
  });

  test('nothing for a digest that is not one, nor with MULTIARCH_CHECK_CACHE=off', async () => {
    const files = async () => (await readdir(join(state, 'layer-facts')).catch(() => [])).length;
    const n = await files();
    await keepLayerFacts({ ...key, digest: 'sha256:not-a-digest' }, facts);
    expect(await files()).toBe(n);
    process.env.MULTIARCH_CHECK_CACHE = 'off';
    try {
      await keepLayerFacts({ ...key, digest: `sha256:${'ef'.repeat(32)}` }, facts);
      expect(await files()).toBe(n);
      expect(await keptLayerFacts(key)).toBeUndefined();
    } finally {
      delete process.env.MULTIARCH_CHECK_CACHE;
    }
  });
});
