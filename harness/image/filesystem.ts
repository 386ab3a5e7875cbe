/**
 * An image's file system, read from its layers without running anything: layers are applied in
 * order with whiteouts (.wh.name) and opaque directories (.wh..wh..opq), paths are resolved as the
 * kernel would (symlinks in every component, relative to the link), and the entry binary is found
 * as the runtime would (ENTRYPOINT + CMD, WORKDIR for relative paths, PATH from the config,
 * shebang interpreters).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { open } from 'node:fs/promises';
import { posix } from 'node:path';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';

export interface FsEntry {
  type: 'file' | 'symlink' | 'hardlink' | 'directory' | 'other';
  linkname?: string;
  /** Index of the layer that last wrote this path. */
  layer: number;
  size: number;
  /** Permission and special bits as the layer's tar header has them (0o4755). */
  mode: number;
  uid: number;
  gid: number;
  /** The tar entry type: "file", "symlink", "character-device", "fifo", ... */
  tarType: string;
  /**
   * Its place among the entries of its layer's tar. A layer may hold the same path twice; the
   * runtime's file is the last copy, and this is the one read.
   */
  ordinal?: number;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const MAX_LINKS = 40;

export class ImageFsError extends Error {
  override name = 'ImageFsError';
}

function clean(name: string): string {
  const n = posix.normalize(`/${name}`).replace(/\/+$/, '');
  return n === '' ? '/' : n;
}

async function isGzip(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const b = Buffer.alloc(4);
    await fh.read(b, 0, 4, 0);
    if (b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd) throw new ImageFsError('zstd-compressed layers are not supported yet');
    return b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

async function tarStream(file: string): Promise<Readable> {
  const raw = createReadStream(file);
  return (await isGzip(file)) ? raw.pipe(createGunzip()) : raw;
}

/** Calls onEntry for each tar header; onEntry may return true to read that entry's content. */
async function walkTar(file: string, onEntry: (h: tar.Header) => boolean, onContent?: (h: tar.Header, data: Buffer) => void): Promise<void> {
  const extract = tar.extract();
  const input = await tarStream(file);
  input.pipe(extract);
  for await (const entry of extract) {
    const h = entry.header;
    if (onEntry(h)) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      onContent?.(h, Buffer.concat(chunks));
    } else {
      entry.resume();
    }
  }
}

export class ImageFilesystem {
  private readonly entries = new Map<string, FsEntry>();

  private constructor(private readonly layers: readonly string[]) {}

  /**
   * Indexes layer files (tar or tar+gzip), lowest first. A compressed layer is decompressed once,
   * next to its file (`<file>.tar`): every later read (the entry, every ELF file) reads the tar.
   */
  static async fromLayerFiles(layers: readonly string[]): Promise<ImageFilesystem> {
    const tars: string[] = [];
    for (const file of layers) {
      if (!(await isGzip(file))) {
        tars.push(file);
        continue;
      }
      const tarFile = `${file}.tar`;
      await pipeline(createReadStream(file), createGunzip(), createWriteStream(tarFile));
      tars.push(tarFile);
    }
    const fs = new ImageFilesystem(tars);
    for (let i = 0; i < layers.length; i++) await fs.apply(i);
    return fs;
  }

  private removeTree(path: string, belowLayer: number): void {
    for (const [p, e] of this.entries) {
      if ((p === path || p.startsWith(`${path}/`)) && e.layer < belowLayer) this.entries.delete(p);
    }
  }

  private async apply(layer: number): Promise<void> {
    let ordinal = -1;
    await walkTar(this.layers[layer]!, (h) => {
      ordinal++;
      // As containerd applies a layer: symlinks in the parent components are followed (within the
      // root), so "lib/x" under a "lib -> usr/lib" link lands at /usr/lib/x.
      const path = this.underResolvedParent(clean(h.name));
      const base = posix.basename(path);
      const dir = posix.dirname(path);
      if (base === '.wh..wh..opq') {
        for (const p of [...this.entries.keys()]) if (p.startsWith(`${dir === '/' ? '' : dir}/`) && this.entries.get(p)!.layer < layer) this.entries.delete(p);
        return false;
      }
      if (base.startsWith('.wh.')) {
        this.removeTree(posix.join(dir, base.slice(4)), layer);
        return false;
      }
      const type = h.type === 'file' || h.type === 'contiguous-file' ? 'file'
        : h.type === 'symlink' ? 'symlink' : h.type === 'link' ? 'hardlink' : h.type === 'directory' ? 'directory' : 'other';
      if (type !== 'directory') this.removeTree(path, layer); // a file replaces a lower directory
      this.entries.set(path, {
        type, layer, ordinal, size: h.size ?? 0, mode: h.mode ?? 0, uid: h.uid ?? 0, gid: h.gid ?? 0, tarType: h.type ?? 'file', ...(h.linkname ? { linkname: h.linkname } : {}),
      });
      return false;
    });
  }

  private underResolvedParent(path: string): string {
    if (path === '/') return path;
    const dir = posix.dirname(path);
    try {
      return posix.join(dir === '/' ? '/' : this.resolve(dir), posix.basename(path));
    } catch {
      return path;
    }
  }

  has(path: string): boolean {
    return this.entries.has(clean(path));
  }

  /** Resolves symlinks in every component; returns the final path (which may not exist). */
  resolve(path: string): string {
    let links = 0;
    const walk = (p: string): string => {
      const parts = clean(p).split('/').filter(Boolean);
      let cur = '/';
      for (let i = 0; i < parts.length; i++) {
        const next = posix.join(cur, parts[i]!);
        const e = this.entries.get(next);
        if (e?.type === 'symlink' && e.linkname !== undefined) {
          if (++links > MAX_LINKS) throw new ImageFsError(`too many levels of symbolic links at ${next}`);
          const target = e.linkname.startsWith('/') ? e.linkname : posix.join(cur, e.linkname);
          cur = walk(target);
        } else {
          cur = next;
        }
      }
      return clean(cur);
    };
    return walk(path);
  }

  entry(path: string): FsEntry | undefined {
    return this.entries.get(this.resolve(path));
  }

  /** The entry at a path whose last component is not followed (as lstat): a symlink is itself. */
  linkEntry(path: string): FsEntry | undefined {
    const p = clean(path);
    if (p === '/') return this.entries.get('/');
    return this.entries.get(posix.join(this.resolve(posix.dirname(p)), posix.basename(p)));
  }

  /** Every path of the final file system with its entry (after whiteouts; the last copy of a path wins). */
  paths(): IterableIterator<[string, FsEntry]> {
    return this.entries.entries();
  }

  /**
   * Reads every regular file of the final file system that starts with `magic`, one layer at a time
   * and each layer once: a file's content is kept only once its first bytes match, and handed to
   * `onFile` before the next is read (so memory holds one file at a time).
   */
  async forEachFileStartingWith(magic: Buffer, onFile: (path: string, entry: FsEntry, content: Buffer) => void | Promise<void>): Promise<void> {
    const byLayer = new Map<number, Map<number, string>>();
    for (const [path, e] of this.entries) {
      if (e.type !== 'file' || e.size < magic.length || e.ordinal === undefined) continue;
      const m = byLayer.get(e.layer) ?? new Map<number, string>();
      m.set(e.ordinal, path);
      byLayer.set(e.layer, m);
    }
    for (const [layer, wanted] of [...byLayer].sort((a, b) => a[0] - b[0])) {
      const extract = tar.extract();
      const input = await tarStream(this.layers[layer]!);
      input.pipe(extract);
      let ordinal = -1;
      for await (const entry of extract) {
        const path = wanted.get(++ordinal);
        if (path === undefined) {
          entry.resume();
          continue;
        }
        const chunks: Buffer[] = [];
        let length = 0;
        let matched: boolean | undefined;
        for await (const c of entry) {
          const chunk = c as Buffer;
          if (matched === false) continue;
          chunks.push(chunk);
          length += chunk.length;
          if (matched === undefined && length >= magic.length) {
            matched = Buffer.concat(chunks).subarray(0, magic.length).equals(magic);
            if (!matched) chunks.length = 0;
          }
        }
        if (matched) await onFile(path, this.entries.get(path)!, Buffer.concat(chunks));
      }
    }
  }

  /** The names in a directory (symlinks in its path followed), sorted. */
  list(dir: string): string[] {
    const d = this.resolve(dir);
    const prefix = d === '/' ? '/' : `${d}/`;
    const names = new Set<string>();
    for (const p of this.entries.keys()) if (p.startsWith(prefix) && p !== d) names.add(p.slice(prefix.length).split('/')[0]!);
    return [...names].sort();
  }

  /** The root exists even when no layer has an entry for it. */
  isRoot(path: string): boolean {
    return this.resolve(path) === '/';
  }

  /** Reads a regular file (following symlinks and hard links). */
  async read(path: string): Promise<Buffer> {
    let resolved = this.resolve(path);
    let e = this.entries.get(resolved);
    if (e?.type === 'hardlink' && e.linkname) {
      resolved = clean(e.linkname);
      e = this.entries.get(resolved);
    }
    if (!e) throw new ImageFsError(`${path} does not exist in the image`);
    if (e.type !== 'file') throw new ImageFsError(`${path} is not a regular file in the image`);
    let found: Buffer | undefined;
    const wanted = resolved;
    let ordinal = -1;
    // The copy the runtime sees: the last one of that path in its layer (its ordinal), not the first.
    await walkTar(this.layers[e.layer]!, (h) => ++ordinal === e!.ordinal || (e!.ordinal === undefined && clean(h.name) === wanted && !found), (_h, data) => { found = data; });
    if (!found) throw new ImageFsError(`${path} could not be read from layer ${e.layer}`);
    return found;
  }
}

export interface EntryBinary {
  /** argv[0] as the config states it. */
  command: string;
  /** The whole command line: ENTRYPOINT + CMD (or the override). */
  argv: string[];
  /** The path that was executed first, resolved in the image. */
  path: string;
  /** Interpreters followed through shebang lines: ["/entrypoint.sh", "/bin/sh"]. */
  chain: string[];
  content: Buffer;
}

/** An image config's environment ("NAME=value" lines) as a map; the first `=` splits name from value. */
export function envMap(env: readonly string[] | null | undefined): Record<string, string> {
  return Object.fromEntries((env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

/** The process the runtime would start: ENTRYPOINT + CMD (or the override), resolved in the image. */
export async function findEntryBinary(
  fs: ImageFilesystem,
  config: { Entrypoint?: string[] | null; Cmd?: string[] | null; WorkingDir?: string; Env?: string[] } | undefined,
  override?: string[],
): Promise<EntryBinary> {
  const argv = override?.length ? [...(config?.Entrypoint ?? []), ...override] : [...(config?.Entrypoint ?? []), ...(config?.Cmd ?? [])];
  if (argv.length === 0) throw new ImageFsError('the image has neither ENTRYPOINT nor CMD');
  const env = envMap(config?.Env);
  const workdir = config?.WorkingDir || '/';
  const locate = (cmd: string): string => {
    if (cmd.includes('/')) return cmd.startsWith('/') ? cmd : posix.join(workdir, cmd);
    for (const dir of (env.PATH ?? DEFAULT_PATH).split(':')) {
      const candidate = posix.join(dir.startsWith('/') ? dir : posix.join(workdir, dir), cmd);
      const e = fs.entry(candidate);
      if (e && e.type !== 'directory') return candidate;
    }
    throw new ImageFsError(`${cmd} is not on the image's PATH (${env.PATH ?? DEFAULT_PATH})`);
  };
  const command = argv[0]!;
  let path = locate(command);
  const chain: string[] = [];
  for (let depth = 0; depth < 5; depth++) {
    if (!fs.entry(path)) throw new ImageFsError(`${path} (from ${JSON.stringify(argv)}) does not exist in the image`);
    const content = await fs.read(path);
    chain.push(path);
    if (content.subarray(0, 2).toString('latin1') !== '#!') return { command, argv, path: chain[0]!, chain, content };
    const line = content.subarray(2, content.indexOf(0x0a) > 0 ? content.indexOf(0x0a) : undefined).toString('utf8').trim();
    const interpreter = line.split(/\s+/)[0];
    if (!interpreter) throw new ImageFsError(`${path} has an empty #! line`);
    path = interpreter;
  }
  throw new ImageFsError(`${command}: too many #! interpreters`);
}
