/**
 * One pass over a layer: its compressed bytes are inflated as they stream (nothing is written out),
 * its tar headers are kept, and of its regular files only what the checks need is kept, judged by
 * their first bytes as they pass:
 * - an ELF file is read (its bytes held while it streams, at most LayerLimits.maxFileBytes of them,
 *   then dropped): what it was built for (ElfInfo), or why it cannot be read;
 * - a script keeps its #! line;
 * - a file the caller names (`keep`: the loader's configuration) keeps its first bytes;
 * - anything else is read past as it streams, never copied.
 * So a layer costs one inflate and one walk of its tar, whatever the checks ask later, and memory
 * holds at most one file of it.
 *
 * Layers are scanned a few at a time in the whole process (SCANS_AT_ONCE): the CPU-heavy part is
 * the inflate, and each scan may hold one ELF file.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Transform, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import pLimit from 'p-limit';
import tar from 'tar-stream';
import { readElf, type ElfInfo } from './elf.ts';

/** A tar header as the file system index needs it. */
export interface LayerEntry {
  name: string;
  type: string;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  linkname?: string;
}

/** What the checks know of one regular file of a layer, by its place in the layer's tar. */
export type FileFacts =
  | {
      kind: 'elf';
      /** e_type 2 (an executable) or 3 (a shared object or position-independent executable): the ones a loader runs or maps. */
      loadable: boolean;
      elf?: ElfInfo;
      /** Why it cannot be read as an ELF file, when it cannot. */
      error?: string;
      /** It is larger than the harness holds, and was judged by its first LayerLimits.maxFileBytes. */
      truncated: boolean;
    }
  | { kind: 'script'; /** The #! line, without the #! and the newline (at most SCRIPT_LINE_BYTES). */ line: string };

export interface LayerFacts {
  entries: LayerEntry[];
  /** By entry ordinal: ELF files and scripts. */
  files: Map<number, FileFacts>;
  /** By entry ordinal: the first bytes of the files `keep` asked for. */
  kept: Map<number, Buffer>;
}

/** What a scan of a layer shares with the other scans of its image: the inflation budget. */
export interface InflationBudget {
  /** Bytes the image's layers may inflate to together. */
  readonly limit: number;
  inflated: number;
  /** The error for a layer that passes it ("layer 2 of 5"). */
  readonly exceeded: (which: string) => LayerScanError;
}

export interface ScanOptions {
  /** "layer 2 of 5", for the sentences. */
  which: string;
  maxFileBytes: number;
  budget: InflationBudget;
  /** How many bytes of a file to keep by its name in the tar (undefined: not kept). */
  keep?: (name: string) => number | undefined;
}

/** The longest #! line kept: Linux reads 256 bytes of it (BINPRM_BUF_SIZE). */
const SCRIPT_LINE_BYTES = 256;
const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

const SCANS_AT_ONCE = Math.max(2, availableParallelism());
const scans = pLimit(SCANS_AT_ONCE);

/**
 * The buffers ELF files are read into, one per scan running, reused from one file and one scan to
 * the next: memory holds SCANS_AT_ONCE of the largest ELF file read, not every ELF file read until
 * the garbage collector gets to them. One larger than POOLED_BYTES is used once and let go.
 */
const POOLED_BYTES = 64 * 1024 * 1024;
const spareBuffers: Buffer[] = [];

/** A scan's buffer for the file being read: the pooled one when it is large enough. */
interface ScanBuffer {
  buf: Buffer | undefined;
}

function bufferFor(scratch: ScanBuffer, size: number): Buffer {
  if (scratch.buf && scratch.buf.length >= size) return scratch.buf;
  const grown = Buffer.allocUnsafe(size <= POOLED_BYTES ? Math.max(size, 1024 * 1024) : size);
  if (size <= POOLED_BYTES) scratch.buf = grown;
  return grown;
}

export class LayerScanError extends Error {
  override name = 'LayerScanError';
}

/** Whether a layer file is gzip-compressed (zstd is refused with one sentence; anything else is a plain tar). */
export async function isGzipFile(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const b = Buffer.alloc(4);
    await fh.read(b, 0, 4, 0);
    if (b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd)
      throw new LayerScanError('zstd-compressed layers are not supported yet');
    return b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/** The layer's tar, inflated as it streams when it is compressed, its inflated bytes counted against the budget. */
export function layerTarStream(file: string, gzip: boolean, budget?: InflationBudget, which = 'the layer'): Readable {
  const input = createReadStream(file, { highWaterMark: 256 * 1024 });
  if (!gzip) return input;
  const gunzip = createGunzip({ chunkSize: 128 * 1024 });
  input.once('error', (err) => gunzip.destroy(err));
  const inflated = input.pipe(gunzip);
  if (!budget) return inflated;
  // Counted as it streams: the gunzip stops once the bound is passed.
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      budget.inflated += chunk.length;
      if (budget.inflated > budget.limit) done(budget.exceeded(which));
      else done(null, chunk);
    },
  });
  inflated.once('error', (err) => count.destroy(err));
  return inflated.pipe(count);
}

/**
 * A tar stream's entries, one at a time; each must be read or resumed before the next comes.
 * Leaving the loop early, or an error (the input's too), stops the input: nothing reads on behind it.
 */
export async function* tarEntries(input: Readable): AsyncGenerator<tar.ExtractEvents['entry'][1]> {
  const extract = tar.extract();
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
 * What scans of this process found, by layer digest: a layer that several platforms or images
 * share (a base layer) is read once. The most recent MEMO_LAYERS are kept (a layer's facts are
 * about 100 bytes per entry); a scan that failed is not.
 */
const MEMO_LAYERS = 64;
const memo = new Map<string, Promise<LayerFacts>>();

/**
 * Scans one layer file (tar, or tar+gzip) once; see the module's comment. With its digest, a layer
 * this process scanned already (for another platform or image) is not read again.
 */
export function scanLayer(file: string, o: ScanOptions & { digest?: string }): Promise<LayerFacts> {
  const key = o.digest && `${o.digest} ${o.maxFileBytes} ${o.keep ? 'keep' : ''}`;
  const known = key ? memo.get(key) : undefined;
  if (key && known) {
    memo.delete(key);
    memo.set(key, known);
    return known;
  }
  const facts = scans(() => scan(file, o));
  if (key) {
    memo.set(key, facts);
    facts.catch(() => memo.delete(key));
    for (const old of memo.keys()) {
      if (memo.size <= MEMO_LAYERS) break;
      memo.delete(old);
    }
  }
  return facts;
}

async function scan(file: string, o: ScanOptions): Promise<LayerFacts> {
  const scratch: ScanBuffer = { buf: spareBuffers.pop() };
  try {
    return await scanWith(file, o, scratch);
  } finally {
    if (scratch.buf) spareBuffers.push(scratch.buf);
  }
}

async function scanWith(file: string, o: ScanOptions, scratch: ScanBuffer): Promise<LayerFacts> {
  const gzip = await isGzipFile(file);
  const facts: LayerFacts = { entries: [], files: new Map(), kept: new Map() };
  let ordinal = -1;
  try {
    for await (const entry of tarEntries(layerTarStream(file, gzip, o.budget, o.which))) {
      const h = entry.header;
      ordinal++;
      facts.entries.push({
        name: h.name ?? '',
        type: h.type ?? 'file',
        size: h.size ?? 0,
        mode: h.mode ?? 0,
        uid: h.uid ?? 0,
        gid: h.gid ?? 0,
        ...(h.linkname ? { linkname: h.linkname } : {}),
      });
      if ((h.type !== 'file' && h.type !== 'contiguous-file') || !h.size) {
        entry.resume();
        continue;
      }
      await readFile(entry, h.size, ordinal, facts, o.keep?.(h.name ?? ''), o.maxFileBytes, scratch);
    }
  } catch (err) {
    if (err instanceof LayerScanError) throw err;
    const e = err as NodeJS.ErrnoException;
    if (e.code?.startsWith('Z_')) throw new LayerScanError(`${o.which} cannot be decompressed (${e.code}: ${e.message})`);
    throw new LayerScanError(`${o.which} is not a whole tar archive (${e.message})`);
  }
  return facts;
}

/**
 * Reads one regular file as it streams: its first bytes decide what is kept (see the module's
 * comment); the rest of a file that cannot matter is read past, never copied.
 */
async function readFile(
  entry: tar.ExtractEvents['entry'][1],
  size: number,
  ordinal: number,
  facts: LayerFacts,
  keep: number | undefined,
  maxFileBytes: number,
  scratch: ScanBuffer,
): Promise<void> {
  let kind: 'elf' | 'script' | 'data' | 'other' | undefined;
  let out: Buffer | undefined;
  /** How much of the file is kept: out may be a larger buffer of the scan's. */
  let room = 0;
  let kept = 0;
  let start: Buffer | undefined;
  for await (const c of entry) {
    let chunk = c as Buffer;
    if (kind === 'other') continue;
    if (kind === undefined) {
      // The first 4 bytes decide; a file may come in chunks smaller than that.
      start = start ? Buffer.concat([start, chunk]) : chunk;
      if (start.length < Math.min(4, size)) continue;
      chunk = start;
      start = undefined;
      kind = chunk.subarray(0, 4).equals(ELF_MAGIC) ? 'elf' : chunk[0] === 0x23 && chunk[1] === 0x21 ? 'script' : 'data';
      const want = Math.max(kind === 'elf' ? maxFileBytes : kind === 'script' ? 2 + SCRIPT_LINE_BYTES : 0, keep ?? 0);
      if (want === 0) {
        kind = 'other';
        continue;
      }
      // An ELF file is read into the scan's own buffer (read, then let go); what is kept gets a buffer of its own.
      room = Math.min(size, want);
      out = kind === 'elf' && keep === undefined ? bufferFor(scratch, room) : Buffer.allocUnsafe(room);
    }
    if (!out || kept >= room) continue;
    const n = Math.min(chunk.length, room - kept);
    chunk.copy(out, kept, 0, n);
    kept += n;
  }
  // A file shorter than 4 bytes: its bytes are all there is.
  if (kind === undefined && start) {
    kind = keep !== undefined ? 'data' : 'other';
    out = start.subarray(0, keep ?? 0);
    kept = out.length;
  }
  if (!out || kind === 'other' || kind === undefined) return;
  const bytes = out.subarray(0, kept);
  if (keep !== undefined) facts.kept.set(ordinal, bytes.subarray(0, keep));
  if (kind === 'script') facts.files.set(ordinal, { kind: 'script', line: shebangLine(bytes) });
  else if (kind === 'elf') facts.files.set(ordinal, elfFacts(bytes, size));
}

function shebangLine(bytes: Buffer): string {
  const nl = bytes.indexOf(0x0a);
  return bytes
    .subarray(2, nl > 0 ? nl : Math.min(bytes.length, 2 + SCRIPT_LINE_BYTES))
    .toString('utf8')
    .trim();
}

/**
 * e_type: 2 an executable, 3 a shared object or position-independent executable; 1 (relocatable
 * objects: .o, Go's .syso) and 4 (core dumps) are never run or loaded.
 */
function elfFacts(bytes: Buffer, size: number): FileFacts {
  const loadable = bytes.length >= 18 && [2, 3].includes(bytes[5] === 2 ? bytes.readUInt16BE(16) : bytes.readUInt16LE(16));
  const truncated = bytes.length < size;
  try {
    return { kind: 'elf', loadable, elf: readElf(bytes), truncated };
  } catch (err) {
    return { kind: 'elf', loadable, error: (err as Error).message, truncated };
  }
}
