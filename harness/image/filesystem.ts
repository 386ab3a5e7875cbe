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
import { access, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import type tar from 'tar-stream';
import type { ElfInfo } from './elf.ts';
import { isGzipFile, layerTarStream, LayerScanError, scanLayer, tarEntries, type InflationBudget } from './layer-scan.ts';
import type { FileFacts, LayerEntry, LayerFacts } from './layer-facts.ts';

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

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

/** One entry of a tar as tar-stream hands it: its header, and its content as a stream. */
type TarEntry = tar.ExtractEvents['entry'][1];

/**
 * An entry's content, at most `max` bytes of it: the rest is read past as it streams, never kept,
 * and what is kept is one buffer of its final size (no chunks and a copy of them).
 */
async function content(entry: TarEntry, max: number): Promise<Buffer> {
  // The tar header's size is what the entry holds: tar-stream hands exactly that many bytes, or fails.
  const out = Buffer.allocUnsafe(Math.min(entry.header.size ?? 0, max));
  let kept = 0;
  for await (const c of entry) {
    const chunk = c as Buffer;
    if (kept >= out.length) continue;
    const n = Math.min(chunk.length, out.length - kept);
    chunk.copy(out, kept, 0, n);
    kept += n;
  }
  return out.subarray(0, kept);
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
  /** Layer files being fetched for a read (each once). */
  private readonly fetching = new Map<string, Promise<void>>();
  /** Entries, and bytes of names and link targets, the layers brought in all. */
  private seen = { entries: 0, nameBytes: 0 };

  private constructor(
    /** The layer files as given (tar or tar+gzip), lowest first, and what brings one into being when it is not there yet. */
    private readonly layers: ReadonlyArray<{ file: string; fetch: ((file: string) => Promise<void>) | undefined }>,
    /** What one pass over each layer kept (layer-scan.ts), by the layer's place. */
    private readonly facts: readonly LayerFacts[],
    readonly limits: Readonly<LayerLimits>,
  ) {}

  /**
   * Indexes layer files (tar or tar+gzip), lowest first, each read once as it streams (a layer
   * listed twice is read once): its headers, its ELF files' facts, its scripts' #! lines and the
   * first bytes of the files `keep` names (layer-scan.ts). Nothing is written out. What the layers
   * inflate to is bounded (LayerLimits.maxInflation): a decompression bomb stops there with one
   * sentence.
   */
  static async fromLayerFiles(
    layers: readonly string[],
    options: {
      limits?: Partial<LayerLimits>;
      /** How many bytes of a file to keep by its name in the tar (the loader's configuration). */
      keep?: (name: string) => number | undefined;
      /** The layers' digests, in the same order: a layer this process read already is not read again. */
      digests?: readonly string[];
      /**
       * The layers' sizes as their descriptors give them, in the same order, and what brings a layer
       * file into being (a download), called in its scan's turn: without them the files are there.
       */
      sizes?: readonly number[];
      fetch?: (file: string) => Promise<void>;
    } = {},
  ): Promise<ImageFilesystem> {
    const limits: LayerLimits = { ...layerLimits(), ...options.limits };
    const distinct = [...new Set(layers)];
    let compressedBytes = 0;
    try {
      for (const file of distinct) {
        const size = options.sizes?.[layers.indexOf(file)];
        if (size !== undefined) compressedBytes += size;
        else if (await isGzipFile(file)) compressedBytes += (await stat(file)).size;
      }
    } catch (err) {
      throw err instanceof LayerScanError ? new ImageFsError(err.message) : err;
    }
    const limit = Math.max(limits.minInflatedBytes, limits.maxInflation * compressedBytes);
    const budget: InflationBudget = {
      limit,
      inflated: 0,
      exceeded: (which) =>
        new LayerScanError(
          `${which} inflates past ${sizeText(limit)}, the most the harness lets ${sizeText(compressedBytes)} of compressed layers become ` +
            `(${limits.maxInflation} times, or ${sizeText(limits.minInflatedBytes)}): a decompression bomb, stopped there ` +
            '(MULTIARCH_LAYER_MAX_INFLATION or MULTIARCH_LAYER_MIN_INFLATED_MIB raise the bound for an image that really holds that much)',
        ),
    };
    const scanned = distinct.map((file) => {
      const at = layers.indexOf(file);
      const digest = options.digests?.[at];
      const fetch = options.fetch;
      return scanLayer(file, {
        which: `layer ${at + 1} of ${layers.length}`,
        maxFileBytes: limits.maxFileBytes,
        budget,
        ...(options.keep ? { keep: options.keep } : {}),
        ...(digest ? { digest } : {}),
        ...(fetch ? { fetch: () => fetch(file) } : {}),
      });
    });
    // Every scan ends (or fails) before this returns: none is left reading behind a failure.
    const settled = await Promise.allSettled(scanned);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) {
      const err = failed.reason as Error;
      throw err instanceof LayerScanError ? new ImageFsError(err.message) : err;
    }
    const facts = new Map(distinct.map((f, i) => [f, (settled[i] as PromiseFulfilledResult<LayerFacts>).value]));
    const fs = new ImageFilesystem(
      layers.map((file) => ({ file, fetch: options.fetch })),
      layers.map((file) => facts.get(file)!),
      limits,
    );
    for (let i = 0; i < layers.length; i++) fs.apply(i);
    return fs;
  }

  private which(layer: number): string {
    return `layer ${layer + 1} of ${this.layers.length}`;
  }

  private apply(layer: number): void {
    this.cleared.clear();
    this.opaqued.clear();
    const entries = this.facts[layer]!.entries;
    for (let ordinal = 0; ordinal < entries.length; ordinal++) this.index(entries[ordinal]!, layer, ordinal);
  }

  private index(h: LayerEntry, layer: number, ordinal: number): void {
    const name = h.name;
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
      size: h.size,
      mode: h.mode,
      uid: h.uid,
      gid: h.gid,
      tarType: h.type,
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
   * Every ELF file of the final file system (after whiteouts; the last copy of a path wins), with
   * what its layer's scan read of it: no layer is read again.
   */
  *elfFiles(): Generator<[path: string, entry: FsEntry, facts: Extract<FileFacts, { kind: 'elf' }>]> {
    for (const [path, e] of this.entries) {
      if (e.type !== 'file' || e.ordinal === undefined) continue;
      const f = this.facts[e.layer]!.files.get(e.ordinal);
      if (f?.kind === 'elf') yield [path, e, f];
    }
  }

  /**
   * What the scan of its layer knows of a regular file (following symlinks, and a hard link to the
   * entry it names): an ELF file's facts, a script's #! line; undefined for any other file.
   */
  fileFacts(path: string): FileFacts | undefined {
    const e = this.regularFile(path);
    return e.ordinal === undefined ? undefined : this.facts[e.layer]!.files.get(e.ordinal);
  }

  private regularFile(path: string): FsEntry {
    let resolved = this.resolve(path);
    let e = this.entries.get(resolved);
    // A hard link names another entry of the image, by its path in the image: never a file of this machine.
    if (e?.type === 'hardlink' && e.linkname !== undefined) {
      resolved = this.resolve(e.linkname);
      e = this.entries.get(resolved);
    }
    if (!e) throw new ImageFsError(`${path} does not exist in the image`);
    if (e.type !== 'file') throw new ImageFsError(`${path} is not a regular file in the image`);
    return e;
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
    const entry = this.regularFile(path);
    const max = options.head ?? this.limits.maxFileBytes;
    if (options.head === undefined && entry.size > max) {
      throw new ImageFsError(`${path} is ${sizeText(entry.size)}, more than the ${sizeText(max)} the harness reads of one file`);
    }
    // Kept by the scan (the loader's configuration): no pass over the layer.
    const kept = entry.ordinal === undefined ? undefined : this.facts[entry.layer]!.kept.get(entry.ordinal);
    if (kept && (kept.length === entry.size || kept.length >= max)) return kept.subarray(0, max);
    const { file, fetch } = this.layers[entry.layer]!;
    const { gzip } = this.facts[entry.layer]!;
    // A layer whose facts this process had already (another platform or image read it) was never fetched for this one.
    if (fetch && !(await exists(file))) {
      if (!this.fetching.has(file)) this.fetching.set(file, fetch(file));
      await this.fetching.get(file);
    }
    let ordinal = -1;
    // The copy the runtime sees: the last one of that path in its layer (its ordinal), not the first.
    try {
      for await (const t of tarEntries(layerTarStream(file, gzip))) {
        if (++ordinal !== entry.ordinal) {
          t.resume();
          continue;
        }
        return await content(t, max);
      }
    } catch (err) {
      throw new ImageFsError(`${path} could not be read from ${this.which(entry.layer)} (${(err as Error).message})`);
    }
    throw new ImageFsError(`${path} could not be read from ${this.which(entry.layer)}`);
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
  /** What the last of the chain is, when it is an ELF file (read by its layer's scan). */
  elf?: ElfInfo;
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
    // Its first bytes tell a #! line or an ELF file, as its layer's scan read them.
    const facts = fs.fileFacts(path);
    chain.push(path);
    if (facts?.kind !== 'script') return { command, argv, path: chain[0]!, chain, ...(facts?.elf ? { elf: facts.elf } : {}) };
    const interpreter = facts.line.split(/\s+/)[0];
    if (!interpreter) throw new ImageFsError(`${path} has an empty #! line`);
    path = interpreter;
  }
  throw new ImageFsError(`${command}: too many #! interpreters`);
}
