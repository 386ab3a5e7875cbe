import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { findEntryBinary, ImageFilesystem, ImageFsError } from '../../harness/image/filesystem.ts';

type E = { name: string; type?: 'file' | 'symlink' | 'link' | 'directory'; linkname?: string; data?: string };

let dir = '';
async function layer(name: string, entries: E[], gzip = true): Promise<string> {
  const pack = tar.pack();
  for (const e of entries)
    pack.entry({ name: e.name, type: e.type ?? 'file', ...(e.linkname ? { linkname: e.linkname } : {}), mode: 0o755 }, e.data ?? '');
  pack.finalize();
  const file = join(dir, name);
  await (gzip ? pipeline(pack, createGzip(), createWriteStream(file)) : pipeline(pack, createWriteStream(file)));
  return file;
}

const ELF = '\x7fELF-pretend';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mah-imagefs-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ImageFilesystem', () => {
  test('applies layers in order with whiteouts and opaque directories', async () => {
    const base = await layer('base.tar.gz', [
      { name: 'bin/', type: 'directory' },
      { name: 'bin/busybox', data: `${ELF}busybox` },
      { name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' },
      { name: 'etc/old.conf', data: 'old' },
      { name: 'opt/a', data: 'a' },
      { name: 'opt/b', data: 'b' },
    ]);
    const top = await layer(
      'top.tar',
      [
        { name: 'etc/.wh.old.conf' },
        { name: 'opt/.wh..wh..opq' },
        { name: 'opt/c', data: 'c' },
        { name: 'bin/busybox', data: `${ELF}busybox-v2` },
      ],
      false,
    );
    const fs = await ImageFilesystem.fromLayerFiles([base, top]);
    expect(fs.has('/etc/old.conf')).toBe(false);
    expect(fs.has('/opt/a')).toBe(false);
    expect(fs.has('/opt/c')).toBe(true);
    expect((await fs.read('/bin/sh')).toString()).toBe(`${ELF}busybox-v2`);
    expect(fs.entry('/bin/sh')).toMatchObject({ type: 'file', layer: 1 });
  });

  test('resolves relative symlinks, symlinked directories and hard links; detects loops', async () => {
    const l = await layer('links.tar.gz', [
      { name: 'usr/lib/app/real', data: `${ELF}real` },
      { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
      { name: 'usr/bin/app', type: 'symlink', linkname: '../lib/app/real' },
      { name: 'usr/bin/hard', type: 'link', linkname: 'usr/lib/app/real' },
      { name: 'loop1', type: 'symlink', linkname: 'loop2' },
      { name: 'loop2', type: 'symlink', linkname: 'loop1' },
    ]);
    const fs = await ImageFilesystem.fromLayerFiles([l]);
    expect(fs.resolve('/lib/app/real')).toBe('/usr/lib/app/real');
    expect(fs.resolve('/usr/bin/app')).toBe('/usr/lib/app/real');
    expect((await fs.read('/usr/bin/hard')).toString()).toBe(`${ELF}real`);
    expect(() => fs.resolve('/loop1')).toThrow(/too many levels of symbolic links/);
    await expect(fs.read('/nope')).rejects.toThrow(ImageFsError);
  });
});

describe('findEntryBinary', () => {
  let fs: ImageFilesystem;
  beforeAll(async () => {
    fs = await ImageFilesystem.fromLayerFiles([
      await layer('app.tar.gz', [
        { name: 'bin/busybox', data: `${ELF}busybox` },
        { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
        { name: 'app/hello', data: `${ELF}hello` },
        { name: 'usr/local/bin/tool', data: `${ELF}tool` },
        { name: 'entrypoint.sh', data: '#!/bin/sh\nexec "$@"\n' },
        { name: 'opt/bin/mine', data: `${ELF}mine` },
      ]),
    ]);
  });

  test('relative CMD against WORKDIR (the article\'s CMD ["./hello"])', async () => {
    const e = await findEntryBinary(fs, { Cmd: ['./hello'], WorkingDir: '/app' });
    expect(e).toMatchObject({ command: './hello', path: '/app/hello', chain: ['/app/hello'] });
  });

  test('shell form runs /bin/sh, a symlink to busybox', async () => {
    const e = await findEntryBinary(fs, { Cmd: ['/bin/sh', '-c', 'cat /os.txt'] });
    expect(e.path).toBe('/bin/sh');
    // busybox, as its layer's scan read it: an ELF file by its first bytes.
    expect(fs.resolve(e.path)).toBe('/bin/busybox');
    expect(fs.fileFacts(e.path)?.kind).toBe('elf');
  });

  test("bare names search the config's PATH, then the default PATH", async () => {
    expect((await findEntryBinary(fs, { Cmd: ['mine'], Env: ['PATH=/opt/bin:/bin'] })).path).toBe('/opt/bin/mine');
    expect((await findEntryBinary(fs, { Cmd: ['tool'] })).path).toBe('/usr/local/bin/tool');
    await expect(findEntryBinary(fs, { Cmd: ['tool'], Env: ['PATH=/opt/bin'] })).rejects.toThrow(/not on the image's PATH/);
  });

  test('ENTRYPOINT scripts lead to their interpreter', async () => {
    const e = await findEntryBinary(fs, { Entrypoint: ['/entrypoint.sh'], Cmd: ['serve'] });
    expect(e.chain).toEqual(['/entrypoint.sh', '/bin/sh']);
    expect(fs.fileFacts('/entrypoint.sh')).toEqual({ kind: 'script', line: '/bin/sh' });
    expect(fs.fileFacts(e.chain.at(-1)!)?.kind).toBe('elf');
  });

  test('an image with nothing to run, or a missing binary, says so', async () => {
    await expect(findEntryBinary(fs, { Cmd: null })).rejects.toThrow(/neither ENTRYPOINT nor CMD/);
    await expect(findEntryBinary(fs, { Cmd: ['/app/missing'] })).rejects.toThrow(/does not exist in the image/);
  });
});
