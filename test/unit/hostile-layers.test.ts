/**
 * Hostile layers, made in memory (tar-stream, node:zlib) and read as the binary check reads them:
 * names that climb out of the root ("../") or start at it, symlinks and hard links that point out of
 * the image or in circles, a decompression bomb, entries that claim a huge size or hold a huge
 * file, more entries or longer names than an index should hold, a manifest of too many layers.
 * Each protection is asserted by what the reader returns or refuses (the bytes it kept, the files
 * in its folder, the sentence it ends with), never by time or memory measured; each test fails
 * when its protection is taken away.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { checkEntryBinary } from '../../harness/checks/binary-check.ts';
import { probeProgram } from '../../harness/host/probe-program.ts';
import { checkDependencies, readLoaderConfig } from '../../harness/image/dynamic-deps.ts';
import { readElf } from '../../harness/image/elf.ts';
import { DEFAULT_LAYER_LIMITS, findEntryBinary, ImageFilesystem, ImageFsError, layerLimits } from '../../harness/image/filesystem.ts';
import { MAX_LAYERS, readImageFilesystem } from '../../harness/image/layers.ts';
import type { PlatformExecution } from '../../harness/platform/execution-mode.ts';
import { parsePlatform } from '../../harness/platform/platform.ts';
import type { FetchedManifest, ImageSource } from '../../harness/registry/client.ts';

const MiB = 1024 * 1024;
const amd64 = parsePlatform('linux/amd64');
const native: PlatformExecution = { platform: amd64, mode: 'native', timeoutFactor: 1, observed: true };

type Entry = { name: string; type?: 'file' | 'symlink' | 'link' | 'directory'; linkname?: string; data?: string | Uint8Array };

/** A tar with exactly these entries, in this order (tar-stream writes a pax header for a long name). */
async function tarOf(entries: readonly Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    const type = e.type ?? 'file';
    pack.entry(
      { name: e.name, type, mode: 0o755, ...(e.linkname !== undefined ? { linkname: e.linkname } : {}) },
      type === 'file' ? Buffer.from(e.data ?? '') : Buffer.alloc(0),
    );
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A ustar header block, written by hand: it may claim any size, whatever follows it. */
function ustarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000755\0', 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  h.write('00000000000\0', 136, 'latin1');
  h.write('        ', 148, 'latin1');
  h.write('0', 156, 'latin1');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

/** A static x86-64 ELF with a PT_INTERP naming `interp`: enough for the binary check and the loader lookup. */
function dynamicElf(interp: string): Buffer {
  const text = Buffer.from(`${interp}\0`, 'latin1');
  const h = Buffer.alloc(64 + 56);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(h);
  h.writeUInt16LE(2, 16); // ET_EXEC
  h.writeUInt16LE(62, 18); // EM_X86_64
  h.writeUInt32LE(1, 20);
  h.writeBigUInt64LE(64n, 32); // e_phoff
  h.writeUInt16LE(64, 52);
  h.writeUInt16LE(56, 54);
  h.writeUInt16LE(1, 56);
  h.writeUInt32LE(3, 64); // PT_INTERP
  h.writeUInt32LE(4, 68);
  h.writeBigUInt64LE(120n, 72); // p_offset
  h.writeBigUInt64LE(BigInt(text.length), 96); // p_filesz
  h.writeBigUInt64LE(BigInt(text.length), 104);
  return Buffer.concat([h, text]);
}

const PROBE = Buffer.from(probeProgram(amd64));

let root = '';
let n = 0;
/** A fresh folder per image, as verify's scratch folder: what the reader writes is looked at afterwards. */
async function folder(): Promise<string> {
  const dir = join(root, `image-${++n}`, 'scratch');
  await mkdir(dir, { recursive: true });
  return dir;
}
async function layerFile(dir: string, name: string, bytes: Buffer): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, bytes);
  return file;
}
async function image(layers: ReadonlyArray<readonly Entry[]>, limits = {}): Promise<{ fs: ImageFilesystem; dir: string }> {
  const dir = await folder();
  const files = [];
  for (const [i, l] of layers.entries()) files.push(await layerFile(dir, `layer-${i}`, gzipSync(await tarOf(l))));
  return { fs: await ImageFilesystem.fromLayerFiles(files, { limits }), dir };
}

/** The binary check on a file system read already (as verify hands it over). */
function binaryCheck(fs: ImageFilesystem, config: { Entrypoint?: string[]; Cmd?: string[] }) {
  const manifest: FetchedManifest = { digest: `sha256:${'0'.repeat(64)}`, mediaType: '', body: {} };
  const source: ImageSource = {
    manifest: async () => manifest,
    blobJson: async () => ({}) as never,
    blobToFile: async () => {
      throw new Error('not read here');
    },
  };
  return checkEntryBinary({ source, manifest, config: { config }, exec: native, native: amd64, tmp: root, fs });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mah-hostile-layers-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('names that climb out of the root, or start at it, are paths inside the image', () => {
  test('"../" and absolute names land under the image root, and nothing is written but the layer itself', async () => {
    const token = `mah-escape-${process.pid}-${Date.now()}`;
    const { fs, dir } = await image([
      [
        { name: `../../../../../../../../../../tmp/${token}-dotdot`, data: 'climbed' },
        { name: `/tmp/${token}-absolute`, data: 'absolute' },
        { name: `usr/../../../${token}-inside`, data: 'middle' },
        { name: './a/./b/../c', data: 'c' },
      ],
    ]);
    expect([...fs.paths()].map(([p]) => p).sort()).toEqual(['/a/c', `/${token}-inside`, `/tmp/${token}-absolute`, `/tmp/${token}-dotdot`]);
    expect((await fs.read(`/tmp/${token}-dotdot`)).toString()).toBe('climbed');
    // What the names would have reached, from the scratch folder or from where the tests run: nothing there.
    for (const base of [dir, process.cwd(), '/']) {
      for (const name of [`../../../../../../../../../../tmp/${token}-dotdot`, `/tmp/${token}-absolute`, `${token}-inside`])
        expect(existsSync(resolve(base, name)), name).toBe(false);
    }
    expect((await readdir(dir)).sort()).toEqual(['layer-0']);
  });

  test('a whiteout of ".." hides nothing: it names no entry of its directory', async () => {
    const { fs } = await image([
      [
        { name: 'keep/file', data: 'x' },
        { name: 'keep/sub/f', data: 'y' },
      ],
      [{ name: 'keep/sub/.wh...' }, { name: '.wh...' }],
    ]);
    expect(fs.has('/keep/file')).toBe(true);
    expect(fs.has('/keep/sub/f')).toBe(true);
  });
});

describe('symlinks resolve inside the image, with a bounded number of hops', () => {
  test("a symlink out of the image reaches the image's file of that path, or nothing; never this machine's", async () => {
    const { fs } = await image([
      [
        { name: 'etc/passwd', data: "root:x:0:0:the image's own:/root:/bin/sh\n" },
        { name: 'app/passwd', type: 'symlink', linkname: '../../../../../../../../etc/passwd' },
        { name: 'app/hostname', type: 'symlink', linkname: '/etc/hostname' },
        { name: 'app/proc', type: 'symlink', linkname: '../../../../proc/self/exe' },
      ],
    ]);
    expect(fs.resolve('/app/passwd')).toBe('/etc/passwd');
    expect((await fs.read('/app/passwd')).toString()).toMatch(/the image's own/);
    // This machine has an /etc/hostname (most do); the image has none, so there is nothing to read.
    await expect(fs.read('/app/hostname')).rejects.toThrow('/app/hostname does not exist in the image');
    await expect(fs.read('/app/proc')).rejects.toThrow(ImageFsError);
  });

  test('the entry program and its loader (PT_INTERP) are found through links that climb out, inside the image', async () => {
    const { fs } = await image([
      [
        { name: 'usr/bin/real', data: dynamicElf('/lib64/ld-linux-x86-64.so.2') },
        { name: 'bin/app', type: 'symlink', linkname: '../../../../../../usr/bin/real' },
        { name: 'lib64/ld-linux-x86-64.so.2', type: 'symlink', linkname: '../../../../../../../opt/loader/ld.so' },
        { name: 'opt/loader/ld.so', data: PROBE },
      ],
    ]);
    const entry = await findEntryBinary(fs, { Entrypoint: ['/bin/app'] });
    expect(fs.resolve(entry.path)).toBe('/usr/bin/real');
    const r = await binaryCheck(fs, { Entrypoint: ['/bin/app'] });
    expect(r.result.status, r.result.message).toBe('pass');
    // The same program whose loader link points at this machine's loader: that is not in the image.
    const { fs: outside } = await image([
      [
        { name: 'usr/bin/real', data: dynamicElf('/lib64/ld-linux-x86-64.so.2') },
        { name: 'lib64/ld-linux-x86-64.so.2', type: 'symlink', linkname: '/../../usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2' },
      ],
    ]);
    const elfs = new Map([['/usr/bin/real', readElf(dynamicElf('/lib64/ld-linux-x86-64.so.2'))]]);
    const problems = checkDependencies(
      { fs: outside, elfs, env: {}, loader: await readLoaderConfig(outside), fits: () => true },
      '/usr/bin/real',
    );
    expect(problems.map((p) => p.message)).toEqual(['/usr/bin/real: its loader /lib64/ld-linux-x86-64.so.2 does not exist in the image']);
  });

  test('a loop, and a chain longer than 40 links, end in one sentence (ELOOP), not a hang or a stack overflow', async () => {
    const chain = (length: number): Entry[] =>
      Array.from({ length }, (_, i) => ({ name: `c/l${i}`, type: 'symlink' as const, linkname: i + 1 < length ? `l${i + 1}` : '/target' }));
    const { fs } = await image([
      [
        { name: 'target', data: 'end' },
        { name: 'a', type: 'symlink', linkname: 'b' },
        { name: 'b', type: 'symlink', linkname: '/a/../a' },
        ...chain(40),
      ],
    ]);
    expect(() => fs.resolve('/a')).toThrow(new ImageFsError('too many levels of symbolic links at /a'));
    expect(fs.resolve('/c/l0')).toBe('/target');
    const { fs: longer } = await image([[{ name: 'target', data: 'end' }, ...chain(41)]]);
    expect(() => longer.resolve('/c/l0')).toThrow(/too many levels of symbolic links/);
    await expect(longer.read('/c/l0')).rejects.toThrow(ImageFsError);
  });

  test('a loop where the check looks (/etc, the entry, a library directory) is one failed check with its sentence, not a crash', async () => {
    const { fs } = await image([
      [
        { name: 'etc', type: 'symlink', linkname: 'etc' },
        { name: 'usr/lib', type: 'symlink', linkname: '../usr/lib/../lib' },
        { name: 'app', data: PROBE },
        { name: 'loop', type: 'symlink', linkname: '/loop' },
      ],
    ]);
    expect(fs.list('/etc')).toEqual([]);
    const ok = await binaryCheck(fs, { Entrypoint: ['/app'] });
    expect(ok.result.status, ok.result.message).toBe('pass');
    const looped = await binaryCheck(fs, { Entrypoint: ['/loop'] });
    expect(looped.result.status).toBe('fail');
    expect(looped.result.message).toMatch(/the entry program cannot be found: too many levels of symbolic links at \/loop/);
  });
});

describe('hard links name entries of the image', () => {
  test("a hard link to a path outside the image reads the image's entry of that path, or fails; chains and self-links end", async () => {
    const { fs } = await image([
      [
        { name: 'etc/shadow', data: "the image's shadow" },
        { name: 'app/shadow', type: 'link', linkname: '../../../../../../etc/shadow' },
        { name: 'app/hosts', type: 'link', linkname: '/../../etc/hosts' },
        { name: 'app/twice', type: 'link', linkname: 'app/shadow' },
        { name: 'app/self', type: 'link', linkname: 'app/self' },
      ],
    ]);
    expect((await fs.read('/app/shadow')).toString()).toBe("the image's shadow");
    // This machine's /etc/hosts exists; the image's does not.
    await expect(fs.read('/app/hosts')).rejects.toThrow('/app/hosts does not exist in the image');
    await expect(fs.read('/app/twice')).rejects.toThrow('/app/twice is not a regular file in the image');
    await expect(fs.read('/app/self')).rejects.toThrow('/app/self is not a regular file in the image');
  });
});

describe('a decompression bomb is stopped where the bound is passed', () => {
  /** A gzip stream of members (a gzip file may hold many): a tar header claiming `mib` MiB, then that many MiB of zeros, one small member each. */
  function bomb(mib: number): Buffer {
    const zeros = gzipSync(Buffer.alloc(MiB));
    return Buffer.concat([
      gzipSync(ustarHeader('bomb', mib * MiB)),
      ...Array.from({ length: mib }, () => zeros),
      gzipSync(Buffer.alloc(1024)),
    ]);
  }

  test('256 MiB of zeros from 270 KiB: refused past 100 times the compressed size, nothing written', async () => {
    const dir = await folder();
    const layer = await layerFile(dir, 'bomb', bomb(256));
    const compressed = (await stat(layer)).size;
    expect(compressed).toBeLessThan(300 * 1024);
    const limits = { minInflatedBytes: 4 * MiB };
    const err = await ImageFilesystem.fromLayerFiles([layer], { limits }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageFsError);
    expect((err as Error).message).toMatch(
      /^layer 1 of 1 inflates past 2\d\.\d MiB, the most the harness lets 2\d\d\.\d KiB of compressed layers become \(100 times, or 4 MiB\): a decompression bomb, stopped there \(MULTIARCH_LAYER_MAX_INFLATION or MULTIARCH_LAYER_MIN_INFLATED_MIB raise the bound for an image that really holds that much\)$/,
    );
    // Nothing but the layer: what it inflates to is never written out.
    expect(await readdir(dir)).toEqual(['bomb']);
  });

  test('the bound counts every compressed layer of the image together, a layer listed twice once', async () => {
    const dir = await folder();
    const small = await layerFile(dir, 'small', bomb(3));
    // 3 MiB under a 4 MiB floor: read. The same file listed twice is inflated once, so it is counted once.
    const fs = await ImageFilesystem.fromLayerFiles([small, small], { limits: { minInflatedBytes: 4 * MiB } });
    expect(fs.entry('/bomb')?.size).toBe(3 * MiB);
    const other = await layerFile(dir, 'other', bomb(3));
    await expect(ImageFilesystem.fromLayerFiles([small, other], { limits: { minInflatedBytes: 4 * MiB } })).rejects.toThrow(
      // The layers are read at once, so either may be the one that passes the bound they share.
      /^layer [12] of 2 inflates past 4 MiB/,
    );
  });

  test('the defaults, and the two a user may raise', () => {
    expect(DEFAULT_LAYER_LIMITS).toMatchObject({
      maxInflation: 100,
      minInflatedBytes: 1024 * MiB,
      maxFileBytes: 512 * MiB,
      maxEntries: 1_000_000,
      maxNameBytes: 4096,
    });
    expect(layerLimits({ MULTIARCH_LAYER_MAX_INFLATION: '1000', MULTIARCH_LAYER_MIN_INFLATED_MIB: '8192' })).toMatchObject({
      maxInflation: 1000,
      minInflatedBytes: 8192 * MiB,
    });
    expect(layerLimits({ MULTIARCH_LAYER_MAX_INFLATION: 'lots', MULTIARCH_LAYER_MIN_INFLATED_MIB: '0' })).toMatchObject({
      maxInflation: 100,
      minInflatedBytes: 1024 * MiB,
    });
  });

  test('a broken gzip stream is one sentence naming the layer', async () => {
    const dir = await folder();
    const whole = gzipSync(await tarOf([{ name: 'a', data: 'a' }]));
    const layer = await layerFile(dir, 'cut', whole.subarray(0, whole.length - 12));
    await expect(ImageFilesystem.fromLayerFiles([layer])).rejects.toThrow(
      /^layer 1 of 1 cannot be decompressed \(Z_BUF_ERROR: unexpected end of file\)$/,
    );
    expect(await readdir(dir)).toEqual(['cut']);
  });
});

describe('an entry claiming a huge size, or holding a huge file, is never held whole', () => {
  test('a header claiming 8 GiB with nothing behind it: one sentence, the layer is not a whole tar', async () => {
    const dir = await folder();
    const layer = await layerFile(dir, 'liar', gzipSync(Buffer.concat([ustarHeader('huge', 8 * 1024 * MiB - 1), Buffer.alloc(4096)])));
    await expect(ImageFilesystem.fromLayerFiles([layer])).rejects.toThrow(
      /^layer 1 of 1 is not a whole tar archive \(Unexpected end of data\)$/,
    );
  });

  test('an ELF file larger than the bound is judged by its first bytes; a file read whole is refused; other files are read past', async () => {
    const big = Buffer.concat([PROBE, Buffer.alloc(3 * MiB)]);
    const limits = { maxFileBytes: 1 * MiB };
    const { fs } = await image(
      [
        [
          { name: 'app', data: big },
          { name: 'data.bin', data: Buffer.alloc(3 * MiB, 1) },
        ],
      ],
      limits,
    );
    // Read by the layer's scan: the ELF file by its first 1 MiB, the other file not at all.
    expect([...fs.elfFiles()].map(([path, , facts]) => [path, facts.truncated])).toEqual([['/app', true]]);
    await expect(fs.read('/app')).rejects.toThrow('/app is 3.0 MiB, more than the 1 MiB the harness reads of one file');
    expect((await fs.read('/app', { head: 64 })).length).toBe(64);
    const r = await binaryCheck(fs, { Entrypoint: ['/app'] });
    expect(r.result.status, r.result.message).toBe('pass');
    expect(r.result.message).toMatch(/1 ELF file\(s\) larger than 1 MiB judged by their first 1 MiB$/);
    expect((await findEntryBinary(fs, { Entrypoint: ['/app'] })).elf?.machineName).toBeDefined();
  });
});

describe('the index holds a bounded number of entries and bytes of names', () => {
  test('a name longer than PATH_MAX is refused', async () => {
    await expect(image([[{ name: `d/${'x'.repeat(5000)}`, data: '' }]])).rejects.toThrow(
      /^layer 1 of 1 has an entry whose name is 5002 bytes long, more than the 4096 a path may have \(PATH_MAX\): refused$/,
    );
    await expect(image([[{ name: 'l', type: 'symlink', linkname: 'y'.repeat(4097) }]])).rejects.toThrow(
      /whose link target is 4097 bytes long/,
    );
  });

  test('more entries, or more bytes of names, than the bound: refused with the layer that passed it', async () => {
    const many = Array.from({ length: 30 }, (_, i) => ({ name: `f${i}`, data: '' }));
    await expect(image([many.slice(0, 10), many.slice(10)], { maxEntries: 20 })).rejects.toThrow(
      'the layers hold more than 20 entries, the most the harness indexes (layer 2 of 2 passed it): refused',
    );
    await expect(image([many], { maxNameBytesTotal: 50 })).rejects.toThrow(
      /^the layers' entry names come to more than 50 bytes, the most the harness indexes \(layer 1 of 1 passed it\): refused$/,
    );
  });
});

describe('a manifest is read within bounds', () => {
  // What is downloaded, counted: no layer's facts kept on disk by an earlier run (layer-facts.ts).
  beforeEach(() => {
    process.env.MULTIARCH_CHECK_CACHE = 'off';
  });
  afterEach(() => {
    delete process.env.MULTIARCH_CHECK_CACHE;
  });
  const layer = async () => gzipSync(await tarOf([{ name: 'app', data: PROBE }]));
  function source(blob: Buffer, asked: Array<[string, number | undefined]>): ImageSource {
    return {
      manifest: async () => {
        throw new Error('not asked');
      },
      blobJson: async () => {
        throw new Error('not asked');
      },
      blobToFile: async (digest, file, size) => {
        asked.push([digest, size]);
        await writeFile(file, blob);
      },
    };
  }
  const manifest = (layers: Array<{ digest: string; size: unknown }>): FetchedManifest => ({
    digest: `sha256:${'a'.repeat(64)}`,
    mediaType: '',
    body: { layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...l })) as never },
  });

  test('more layers than any runtime takes: refused before any download', async () => {
    const asked: Array<[string, number | undefined]> = [];
    const m = manifest(Array.from({ length: MAX_LAYERS + 1 }, (_, i) => ({ digest: `sha256:${String(i).padStart(64, '0')}`, size: 10 })));
    await expect(readImageFilesystem(source(await layer(), asked), m, await folder())).rejects.toThrow(
      `its manifest lists ${MAX_LAYERS + 1} layers, more than the ${MAX_LAYERS} the harness reads (Docker itself refuses more than 125)`,
    );
    expect(asked).toEqual([]);
  });

  test('a layer without a valid size is refused; the size goes with every download; a layer listed twice is downloaded once', async () => {
    const asked: Array<[string, number | undefined]> = [];
    const blob = await layer();
    const d = `sha256:${'b'.repeat(64)}`;
    await expect(readImageFilesystem(source(blob, asked), manifest([{ digest: d, size: -1 }]), await folder())).rejects.toThrow(
      `layer 1 of 1 (${d}) has no valid size in its manifest (-1), and the size bounds what is read of it`,
    );
    await expect(readImageFilesystem(source(blob, asked), manifest([{ digest: d, size: undefined }]), await folder())).rejects.toThrow(
      /has no valid size in its manifest \(none\)/,
    );
    expect(asked).toEqual([]);
    const fs = await readImageFilesystem(
      source(blob, asked),
      manifest([
        { digest: d, size: blob.length },
        { digest: d, size: blob.length },
      ]),
      await folder(),
    );
    expect(asked).toEqual([[d, blob.length]]);
    expect(fs.entry('/app')?.layer).toBe(1);
  });
});
