// The library lookup of dynamic-deps.ts on file systems made here (the real-software cases are in
// test/e2e/every-program.test.ts): ld.so.conf with includes, $ORIGIN in RUNPATH, RPATH ignored
// beside RUNPATH, LD_LIBRARY_PATH from the image, musl's path file, a foreign candidate passed over.
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { afterAll, describe, expect, test } from 'vitest';
import { checkDependencies, readLoaderConfig, type DynamicElf } from '../../harness/image/dynamic-deps.ts';
import { ImageFilesystem } from '../../harness/image/filesystem.ts';

const arm64 = (o: Partial<DynamicElf> = {}): DynamicElf => ({ bits: 64, endian: 'little', machine: 183, machineName: 'AArch64', ...o });
const x86 = (o: Partial<DynamicElf> = {}): DynamicElf => ({ bits: 64, endian: 'little', machine: 62, machineName: 'x86-64', ...o });

const scratch: string[] = [];
afterAll(() => Promise.all(scratch.map((d) => rm(d, { recursive: true, force: true }))));

async function image(files: Record<string, string>, links: Record<string, string> = {}): Promise<ImageFilesystem> {
  const pack = tar.pack();
  for (const [path, content] of Object.entries(files)) pack.entry({ name: path.slice(1), mode: 0o755 }, content);
  for (const [path, target] of Object.entries(links)) pack.entry({ name: path.slice(1), type: 'symlink', linkname: target });
  pack.finalize();
  const dir = await mkdtemp(join(tmpdir(), 'mah-deps-'));
  scratch.push(dir);
  const file = join(dir, 'layer.tar');
  await pipeline(pack, createWriteStream(file));
  return ImageFilesystem.fromLayerFiles([file]);
}

/** The lookup on an image: its loader configuration files are read from the image itself. */
async function lookup(fs: ImageFilesystem, elfs: Record<string, DynamicElf>, env: Record<string, string> = {}) {
  const loader = await readLoaderConfig(fs);
  return (program: string) =>
    checkDependencies({ fs, elfs: new Map(Object.entries(elfs)), env, loader, fits: (e) => e.machine === 183 }, program).map(
      (p) => `${p.kind} ${p.name}${p.found ? ` ${p.found}` : ''}`,
    );
}

describe('checkDependencies', () => {
  test('ld.so.conf and its includes; a foreign candidate is passed over for a fitting one further on', async () => {
    const files = { '/app': '', '/lib/ld-linux-aarch64.so.1': '', '/opt/x86/libfoo.so': '', '/opt/arm/libfoo.so': '' };
    const conf = {
      '/etc/ld.so.conf': 'include /etc/ld.so.conf.d/*.conf\n',
      '/etc/ld.so.conf.d/a.conf': '# x86 first\n/opt/x86\n/opt/arm\n',
    };
    const fs = await image({ ...files, ...conf });
    const elfs = {
      '/app': arm64({ interpreter: '/lib/ld-linux-aarch64.so.1', needed: ['libfoo.so'] }),
      '/lib/ld-linux-aarch64.so.1': arm64(),
      '/opt/x86/libfoo.so': x86(),
      '/opt/arm/libfoo.so': arm64(),
    };
    expect((await lookup(fs, elfs))('/app')).toEqual([]);
    // Without the fitting one, the x86 one is all there is: foreign.
    expect((await lookup(fs, { ...elfs, '/opt/arm/libfoo.so': undefined as unknown as DynamicElf }))('/app')).toEqual([
      'foreign-library libfoo.so /opt/x86/libfoo.so',
    ]);
    // Without ld.so.conf nothing finds /opt: missing.
    expect((await lookup(await image(files), elfs))('/app')).toEqual(['missing-library libfoo.so']);
  });

  test('$ORIGIN in RUNPATH; RPATH is ignored when RUNPATH is there; LD_LIBRARY_PATH from the image', async () => {
    const fs = await image({
      '/app/bin/tool': '',
      '/app/lib/libbar.so': '',
      '/rpath/libbaz.so': '',
      '/env/libqux.so': '',
      '/lib/ld-linux-aarch64.so.1': '',
    });
    const elfs = {
      '/app/bin/tool': arm64({
        interpreter: '/lib/ld-linux-aarch64.so.1',
        needed: ['libbar.so', 'libbaz.so', 'libqux.so'],
        runpath: ['$ORIGIN/../lib'],
        rpath: ['/rpath'],
      }),
      '/app/lib/libbar.so': arm64(),
      '/rpath/libbaz.so': arm64(),
      '/env/libqux.so': arm64(),
      '/lib/ld-linux-aarch64.so.1': arm64(),
    };
    expect((await lookup(fs, elfs, { LD_LIBRARY_PATH: '/env' }))('/app/bin/tool')).toEqual(['missing-library libbaz.so']);
  });

  test("transitively: a library's own needs; musl's loader serves libc, its path file the rest", async () => {
    const fs = await image(
      {
        '/app': '',
        '/lib/ld-musl-aarch64.so.1': '',
        '/usr/local/lib/libz.so.1': '',
        '/opt/lib/libssl.so.3': '',
        '/etc/ld-musl-aarch64.path': '/opt/lib\n/usr/local/lib\n',
      },
      { '/lib/libc.musl-aarch64.so.1': 'ld-musl-aarch64.so.1' },
    );
    const elfs = {
      '/app': arm64({ interpreter: '/lib/ld-musl-aarch64.so.1', needed: ['libssl.so.3', 'libc.musl-aarch64.so.1'] }),
      '/lib/ld-musl-aarch64.so.1': arm64(),
      '/opt/lib/libssl.so.3': arm64({ needed: ['libz.so.1', 'libcrypto.so.3'] }),
      '/usr/local/lib/libz.so.1': arm64(),
    };
    expect((await lookup(fs, elfs))('/app')).toEqual(['missing-library libcrypto.so.3']);
  });

  test('a missing loader; a loader of another machine', async () => {
    const fs = await image({ '/app': '', '/lib/ld-linux-aarch64.so.1': '' });
    expect((await lookup(fs, { '/app': arm64({ interpreter: '/lib/ld-linux-aarch64.so.1' }) }))('/app')).toEqual([
      'missing-loader /lib/ld-linux-aarch64.so.1',
    ]);
    expect(
      (await lookup(fs, { '/app': arm64({ interpreter: '/lib/ld-linux-aarch64.so.1' }), '/lib/ld-linux-aarch64.so.1': x86() }))('/app'),
    ).toEqual(['foreign-loader /lib/ld-linux-aarch64.so.1 /lib/ld-linux-aarch64.so.1']);
  });
});
