/**
 * An image's file system, read from its layers without running anything: layers are applied in
 * order with whiteouts (.wh.name) and opaque directories (.wh..wh..opq), paths are resolved as the
 * kernel would (symlinks in every component, relative to the link), and the entry binary is found
 * as the runtime would (ENTRYPOINT + CMD, WORKDIR for relative paths, PATH from the config,
 * shebang interpreters).
 *
 * A layer may be hostile, and is read as such:
 * - Nothing of it is ever written out as a file of this machine: its entries are an index in
 *   memory, and the only files are the layer itself and, for a compressed one, its tar, both in
 *   the caller's scratch folder. An entry's name is a path inside the image's root, whatever it
 *   says ("../../etc/x" and "/etc/x" are both the image's /etc/x); a symlink or a hard link names
 *   another entry of the image, never a file of this machine; at most 40 symlinks are followed in
 *   one lookup (the kernel's ELOOP), so a loop is one sentence.
 * - What it may make the harness hold or do is bounded (LayerLimits): what its compressed bytes
 *   may inflate to (a decompression bomb is stopped there, with one sentence), how much of one
 *   file is held in memory (the bytes of files that cannot matter are read past as they stream,
 *   never kept), how many entries and how many bytes of names the index holds. Removing a
 *   directory's tree (a whiteout, a file over a directory) visits that tree, never the whole index,
 *   so the time a layer takes grows with its size, not with its size squared.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
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

/** What an image's layers may make the harness hold or do (DEFAULT_LAYER_LIMITS says why each is what it is). */
export interface LayerLimits {
  /**
   * The compressed layers together may inflate to this many times their compressed size (or to
   * minInflatedBytes, whichever is more); past it, reading stops with one sentence.
   */
  maxInflation: number;
  minInflatedBytes: number;
  /** The most of one file held in memory: an ELF file, the entry program, a file a test reads. */
  maxFileBytes: number;
  /** Entries of all layers together. */
  maxEntries: number;
  /** The longest entry name, or link target, in bytes. */
  maxNameBytes: number;
  /** Names and link targets of all entries together, in bytes. */
  maxNameBytesTotal: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

export const DEFAULT_LAYER_LIMITS: Readonly<LayerLimits> = {
  // What a build's layers inflate to is a few times their compressed size (text and code: 2 to 10,
  // tar headers of many small files: up to a few dozen). A layer that inflates a thousand times
  // (gzip's most, for zeros) is a decompression bomb or a zero-filled file; 100 times, or 1 GiB for
  // a small layer holding such a file, lets every image a build makes through and costs a bomb at
  // most 1 GiB of the scratch folder and seconds of gunzip (MULTIARCH_LAYER_MAX_INFLATION and
  // MULTIARCH_LAYER_MIN_INFLATED_MIB raise them for an image that really holds that much).
  maxInflation: 100,
  minInflatedBytes: 1 * GiB,
  // Larger ELF files exist (CUDA's and PyTorch's libraries pass 1 GiB): they are judged by their
  // first 512 MiB, which hold their headers, loader, dynamic section and build notes where a
  // linker puts them. A file a test reads whole is refused past it, with one sentence.
  maxFileBytes: 512 * MiB,
  // The largest images hold a few hundred thousand files; an entry costs the index a few hundred bytes.
  maxEntries: 1_000_000,
  // PATH_MAX: no program of the image could open a longer path in one call.
  maxNameBytes: 4096,
  maxNameBytesTotal: 256 * MiB,
};

/** The limits, with the two a user may raise from the environment (whole numbers; anything else is the default). */
export function layerLimits(env: NodeJS.ProcessEnv = process.env): LayerLimits {
  const whole = (v: string | undefined): number | undefined =>
    v !== undefined && /^\s*\d+\s*$/.test(v) && Number(v) > 0 ? Number(v) : undefined;
  return {
    ...DEFAULT_LAYER_LIMITS,
    maxInflation: whole(env.MULTIARCH_LAYER_MAX_INFLATION) ?? DEFAULT_LAYER_LIMITS.maxInflation,
    minInflatedBytes: (whole(env.MULTIARCH_LAYER_MIN_INFLATED_MIB) ?? DEFAULT_LAYER_LIMITS.minInflatedBytes / MiB) * MiB,
  };
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

/** "1.5 GiB", "64 MiB", "100 bytes". */
export function sizeText(n: number): string {
  for (const [unit, f] of [
    ['GiB', GiB],
    ['MiB', MiB],
    ['KiB', KiB],
  ] as const) {
    if (n >= f) return `${Number.isInteger(n / f) ? n / f : (n / f).toFixed(1)} ${unit}`;
  }
  return `${n} bytes`;
}

/** One entry of a tar as tar-stream hands it: its header, and its content as a stream. */
type TarEntry = tar.ExtractEvents['entry'][1];

async function isGzip(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const b = Buffer.alloc(4);
    await fh.read(b, 0, 4, 0);
    if (b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd)
      throw new ImageFsError('zstd-compressed layers are not supported yet');
    return b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/**
 * A tar file's entries, one at a time; each must be read or resumed before the next comes. Leaving
 * the loop early, or an error (the file's too), closes the file: nothing reads on behind it.
 */
async function* tarEntries(file: string): AsyncGenerator<TarEntry> {
  const extract = tar.extract();
  const input = createReadStream(file);
  input.once('error', (err) => extract.destroy(err));
  input.pipe(extract);
  try {
    yield* extract;
  } finally {
    input.destroy();
    extract.destroy();
  }
}

/**
 * An entry's content, at most `max` bytes of it: the rest is read past as it streams, never kept,
 * and what is kept is one buffer of its final size (no chunks and a copy of them). With `magic`,
 * undefined as soon as its first bytes differ, and nothing of it is kept.
 */
async function content(entry: TarEntry, max: number, magic?: Buffer): Promise<Buffer | undefined> {
  const size = entry.header.size ?? 0;
  let out: Buffer | undefined;
  let kept = 0;
  let start: Buffer[] = [];
  let startLength = 0;
  let other = false;
  for await (const c of entry) {
    let chunk = c as Buffer;
    if (other || (out && kept >= out.length)) continue;
    if (!out) {
      if (magic) {
        start.push(chunk);
        startLength += chunk.length;
        if (startLength < magic.length) continue;
        chunk = start.length === 1 ? chunk : Buffer.concat(start);
        start = [];
        if (!chunk.subarray(0, magic.length).equals(magic)) {
          other = true;
          continue;
        }
      }
      // The tar header's size is what the entry holds: tar-stream hands exactly that many bytes, or fails.
      out = Buffer.allocUnsafe(Math.min(size, max));
    }
    const n = Math.min(chunk.length, out.length - kept);
    chunk.copy(out, kept, 0, n);
    kept += n;
  }
  if (other || (magic && !out)) return undefined;
  return out ? out.subarray(0, kept) : Buffer.alloc(0);
}

export class ImageFilesystem {
  private readonly entries = new Map<string, FsEntry>();
  /**
   * The paths under each path, by full path, directories that have no entry of their own
   * included: a path is listed under its parent exactly while it has an entry or something under
   * it. Removing a tree visits that tree; listing a directory reads its own list.
   */
  private readonly children = new Map<string, Set<string>>();
  /** The current layer's removals: a path whose lower layers' tree went already, and directories made opaque already. */
  private readonly cleared = new Set<string>();
  private readonly opaqued = new Set<string>();
  /** Entries, and bytes of names and link targets, the layers brought in all. */
  private seen = { entries: 0, nameBytes: 0 };

  private constructor(
    private readonly layers: readonly string[],
    readonly limits: Readonly<LayerLimits>,
  ) {}

  /**
   * Indexes layer files (tar or tar+gzip), lowest first. A compressed layer is decompressed once,
   * next to its file (`<file>.tar`): every later read (the entry, every ELF file) reads the tar.
   * The same file twice (a layer listed twice) is decompressed once. What the layers inflate to is
   * bounded (LayerLimits.maxInflation): a decompression bomb stops there with one sentence, its
   * partial tar removed.
   */
  static async fromLayerFiles(layers: readonly string[], options: { limits?: Partial<LayerLimits> } = {}): Promise<ImageFilesystem> {
    const limits: LayerLimits = { ...layerLimits(), ...options.limits };
    const distinct = [...new Set(layers)];
    const compressed = new Map<string, number>();
    for (const file of distinct) if (await isGzip(file)) compressed.set(file, (await stat(file)).size);
    const compressedBytes = [...compressed.values()].reduce((a, b) => a + b, 0);
    const budget = Math.max(limits.minInflatedBytes, limits.maxInflation * compressedBytes);
    let inflated = 0;
    const tars = new Map<string, string>();
    for (const file of distinct) {
      if (!compressed.has(file)) {
        tars.set(file, file);
        continue;
      }
      const which = `layer ${layers.indexOf(file) + 1} of ${layers.length}`;
      const tarFile = `${file}.tar`;
      const bomb = () =>
        new ImageFsError(
          `${which} inflates past ${sizeText(budget)}, the most the harness lets ${sizeText(compressedBytes)} of compressed layers become ` +
            `(${limits.maxInflation} times, or ${sizeText(limits.minInflatedBytes)}): a decompression bomb, stopped there ` +
            '(MULTIARCH_LAYER_MAX_INFLATION or MULTIARCH_LAYER_MIN_INFLATED_MIB raise the bound for an image that really holds that much)',
        );
      // Counted as it streams: the gunzip stops, and nothing more is written, once the bound is passed.
      const count = new Transform({
        transform(chunk: Buffer, _enc, done) {
          inflated += chunk.length;
          if (inflated > budget) done(bomb());
          else done(null, chunk);
        },
      });
      try {
        await pipeline(createReadStream(file), createGunzip(), count, createWriteStream(tarFile));
      } catch (err) {
        await rm(tarFile, { force: true });
        if (err instanceof ImageFsError) throw err;
        const e = err as NodeJS.ErrnoException;
        throw new ImageFsError(`${which} cannot be decompressed (${e.code ? `${e.code}: ` : ''}${e.message})`);
      }
      tars.set(file, tarFile);
    }
    const fs = new ImageFilesystem(
      layers.map((f) => tars.get(f)!),
      limits,
    );
    for (let i = 0; i < layers.length; i++) await fs.apply(i);
    return fs;
  }

  private which(layer: number): string {
    return `layer ${layer + 1} of ${this.layers.length}`;
  }

  private async apply(layer: number): Promise<void> {
    this.cleared.clear();
    this.opaqued.clear();
    let ordinal = -1;
    try {
      for await (const entry of tarEntries(this.layers[layer]!)) {
        // No content matters here: read past as it streams.
        entry.resume();
        this.index(entry.header, layer, ++ordinal);
      }
    } catch (err) {
      if (err instanceof ImageFsError) throw err;
      throw new ImageFsError(`${this.which(layer)} is not a whole tar archive (${(err as Error).message})`);
    }
  }

  private index(h: tar.Header, layer: number, ordinal: number): void {
    const name = h.name ?? '';
    const linkname = h.linkname ?? '';
    for (const [what, text] of [
      ['name', name],
      ['link target', linkname],
    ] as const) {
      const bytes = Buffer.byteLength(text);
      this.seen.nameBytes += bytes;
      if (bytes > this.limits.maxNameBytes) {
        throw new ImageFsError(
          `${this.which(layer)} has an entry whose ${what} is ${bytes} bytes long, more than the ${this.limits.maxNameBytes} a path may have (PATH_MAX): refused`,
        );
      }
    }
    if (++this.seen.entries > this.limits.maxEntries) {
      throw new ImageFsError(
        `the layers hold more than ${this.limits.maxEntries} entries, the most the harness indexes (${this.which(layer)} passed it): refused`,
      );
    }
    if (this.seen.nameBytes > this.limits.maxNameBytesTotal) {
      throw new ImageFsError(
        `the layers' entry names come to more than ${sizeText(this.limits.maxNameBytesTotal)}, the most the harness indexes (${this.which(layer)} passed it): refused`,
      );
    }
    // As containerd applies a layer: symlinks in the parent components are followed (within the
    // root), so "lib/x" under a "lib -> usr/lib" link lands at /usr/lib/x.
    const path = this.underResolvedParent(clean(name));
    const base = posix.basename(path);
    const dir = posix.dirname(path);
    if (base === '.wh..wh..opq') {
      this.removeLowerChildren(dir, layer);
      return;
    }
    if (base.startsWith('.wh.')) {
      const hidden = base.slice(4);
      // A whiteout of "." or ".." names no entry of the directory: nothing goes.
      if (hidden !== '' && hidden !== '.' && hidden !== '..') this.removeLower(posix.join(dir, hidden), layer);
      return;
    }
    const type =
      h.type === 'file' || h.type === 'contiguous-file'
        ? 'file'
        : h.type === 'symlink'
          ? 'symlink'
          : h.type === 'link'
            ? 'hardlink'
            : h.type === 'directory'
              ? 'directory'
              : 'other';
    // A file replaces a lower directory, and what was under it.
    if (type !== 'directory' && this.children.has(path)) this.removeLower(path, layer);
    this.put(path, {
      type,
      layer,
      ordinal,
      size: h.size ?? 0,
      mode: h.mode ?? 0,
      uid: h.uid ?? 0,
      gid: h.gid ?? 0,
      tarType: h.type ?? 'file',
      ...(linkname ? { linkname } : {}),
    });
  }

  private put(path: string, e: FsEntry): void {
    this.entries.set(path, e);
    for (let p = path; p !== '/';) {
      const parent = posix.dirname(p);
      let kids = this.children.get(parent);
      if (!kids) this.children.set(parent, (kids = new Set()));
      if (kids.has(p)) break;
      kids.add(p);
      p = parent;
    }
  }

  /** Whether the lower layers' tree at this path, or at one above it, went already in this layer: nothing of theirs is left under it. */
  private clearedAt(path: string): boolean {
    if (this.cleared.size === 0) return false;
    for (let p = path; ; p = posix.dirname(p)) {
      if (this.cleared.has(p)) return true;
      if (p === '/') return false;
    }
  }

  /** The lower layers' entries at `path` and under it go (a whiteout, a file replacing a directory); this layer's own stay. */
  private removeLower(path: string, layer: number): void {
    if (this.clearedAt(path)) return;
    this.cleared.add(path);
    // Parents before their children; then taken in reverse, children before their parents.
    const order: string[] = [];
    const stack = [path];
    while (stack.length) {
      const p = stack.pop()!;
      if (p !== path && this.cleared.has(p)) continue;
      order.push(p);
      for (const k of this.children.get(p) ?? []) stack.push(k);
    }
    for (let i = order.length - 1; i >= 0; i--) {
      const p = order[i]!;
      const e = this.entries.get(p);
      if (e && e.layer < layer) this.entries.delete(p);
      if (this.children.get(p)?.size === 0) this.children.delete(p);
      if (p !== path && !this.entries.has(p) && !this.children.has(p)) this.children.get(posix.dirname(p))?.delete(p);
    }
    // The path, and parents left with nothing under them, leave their parents' lists.
    for (let p = path; p !== '/';) {
      if (this.entries.has(p) || this.children.get(p)?.size) break;
      this.children.delete(p);
      const parent = posix.dirname(p);
      this.children.get(parent)?.delete(p);
      p = parent;
    }
  }

  /** The lower layers' entries under a directory go (an opaque directory); the directory itself stays. */
  private removeLowerChildren(dir: string, layer: number): void {
    if (this.opaqued.has(dir) || this.clearedAt(dir)) return;
    this.opaqued.add(dir);
    for (const kid of [...(this.children.get(dir) ?? [])]) this.removeLower(kid, layer);
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

  /**
   * Resolves symlinks in every component, inside the image: ".." stops at its root, an absolute
   * target starts from it. Returns the final path (which may not exist); more than 40 symlinks
   * followed is an ImageFsError (a loop), as the kernel's ELOOP.
   */
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
   * `onFile` before the next is read (so memory holds one file at a time). A file larger than
   * `limits.maxFileBytes` is handed its first that many bytes (content.length < entry.size).
   */
  async forEachFileStartingWith(
    magic: Buffer,
    onFile: (path: string, entry: FsEntry, content: Buffer) => void | Promise<void>,
  ): Promise<void> {
    const byLayer = new Map<number, Map<number, string>>();
    for (const [path, e] of this.entries) {
      if (e.type !== 'file' || e.size < magic.length || e.ordinal === undefined) continue;
      const m = byLayer.get(e.layer) ?? new Map<number, string>();
      m.set(e.ordinal, path);
      byLayer.set(e.layer, m);
    }
    for (const [layer, wanted] of [...byLayer].sort((a, b) => a[0] - b[0])) {
      let ordinal = -1;
      let left = wanted.size;
      for await (const entry of tarEntries(this.layers[layer]!)) {
        const path = wanted.get(++ordinal);
        if (path === undefined) {
          entry.resume();
          continue;
        }
        const found = await content(entry, this.limits.maxFileBytes, magic);
        if (found) await onFile(path, this.entries.get(path)!, found);
        // The rest of the layer holds nothing wanted: not read.
        if (--left === 0) break;
      }
    }
  }

  /**
   * The names in a directory (symlinks in its path followed), sorted; none for a path that cannot
   * be resolved (a symlink loop), as a directory that cannot be opened.
   */
  list(dir: string): string[] {
    let d: string;
    try {
      d = this.resolve(dir);
    } catch {
      return [];
    }
    return [...(this.children.get(d) ?? [])].map((p) => posix.basename(p)).sort();
  }

  /** The root exists even when no layer has an entry for it. */
  isRoot(path: string): boolean {
    return this.resolve(path) === '/';
  }

  /**
   * Reads a regular file (following symlinks, and a hard link to the entry it names). A file larger
   * than `limits.maxFileBytes` is refused with one sentence, unless `head` asks for its first bytes
   * only; the rest is read past, never kept.
   */
  async read(path: string, options: { head?: number } = {}): Promise<Buffer> {
    let resolved = this.resolve(path);
    let e = this.entries.get(resolved);
    // A hard link names another entry of the image, by its path in the image: never a file of this machine.
    if (e?.type === 'hardlink' && e.linkname !== undefined) {
      resolved = this.resolve(e.linkname);
      e = this.entries.get(resolved);
    }
    if (!e) throw new ImageFsError(`${path} does not exist in the image`);
    if (e.type !== 'file') throw new ImageFsError(`${path} is not a regular file in the image`);
    const max = options.head ?? this.limits.maxFileBytes;
    if (options.head === undefined && e.size > max) {
      throw new ImageFsError(`${path} is ${sizeText(e.size)}, more than the ${sizeText(max)} the harness reads of one file`);
    }
    const entry = e;
    let ordinal = -1;
    // The copy the runtime sees: the last one of that path in its layer (its ordinal), not the first.
    for await (const t of tarEntries(this.layers[entry.layer]!)) {
      const hit = entry.ordinal !== undefined ? ++ordinal === entry.ordinal : clean(t.header.name) === resolved;
      if (!hit) {
        t.resume();
        continue;
      }
      return (await content(t, max))!;
    }
    throw new ImageFsError(`${path} could not be read from layer ${entry.layer}`);
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
    // Its first bytes tell a #! line or an ELF file; a program larger than the harness holds is judged by them.
    const content = await fs.read(path, { head: fs.limits.maxFileBytes });
    chain.push(path);
    if (content.subarray(0, 2).toString('latin1') !== '#!') return { command, argv, path: chain[0]!, chain, content };
    const line = content
      .subarray(2, content.indexOf(0x0a) > 0 ? content.indexOf(0x0a) : undefined)
      .toString('utf8')
      .trim();
    const interpreter = line.split(/\s+/)[0];
    if (!interpreter) throw new ImageFsError(`${path} has an empty #! line`);
    path = interpreter;
  }
  throw new ImageFsError(`${command}: too many #! interpreters`);
}
