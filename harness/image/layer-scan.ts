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
 * Layers are fetched and scanned a few at a time in the whole process (SCANS_AT_ONCE): the
 * CPU-heavy part is the inflate, and each scan holds the parts of one ELF file (elf-parts.ts), or,
 * for the few whose parts are not enough, the whole file.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Transform, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import pLimit from 'p-limit';
import tar from 'tar-stream';
import { ElfPartsCollector } from './elf-parts.ts';
import { keepLayerFacts, keptLayerFacts, type FileFacts, type LayerFacts } from './layer-facts.ts';
import { PartNotKeptError, readElf, type ElfBytes } from './elf.ts';

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
  const input = createReadStream(file, { highWaterMark: 64 * 1024 });
  if (!gzip) return input;
  const gunzip = createGunzip({ chunkSize: 64 * 1024 });
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
 * share (a base layer) is read once. The most recently used layers are kept while they hold at
 * most MEMO_ENTRIES entries together (about 150 bytes each: a few MiB); a scan that failed is not.
 */
const MEMO_ENTRIES = 50_000;
const memo = new Map<string, { facts: Promise<LayerFacts>; entries: number }>();

function trimMemo(): void {
  let total = 0;
  for (const m of memo.values()) total += m.entries;
  for (const [key, m] of memo) {
    if (total <= MEMO_ENTRIES) break;
    memo.delete(key);
    total -= m.entries;
  }
}

/**
 * Scans one layer file (tar, or tar+gzip) once; see the module's comment. With its digest, a layer
 * this process scanned already (for another platform or image) is not read again.
 */
export function scanLayer(
  file: string,
  o: ScanOptions & {
    digest?: string;
    /** Brings the layer file into being (a download), in the scan's turn: a layer scanned already is never fetched. */
    fetch?: () => Promise<void>;
  },
): Promise<LayerFacts> {
  const key = o.digest && `${o.digest} ${o.maxFileBytes} ${o.keep ? 'keep' : ''}`;
  const known = key ? memo.get(key) : undefined;
  if (key && known) {
    // The most recently used go last, the first to stay.
    memo.delete(key);
    memo.set(key, known);
    return known.facts;
  }
  const facts = (async () => {
    // Kept by an earlier run (layer-facts-store.ts): neither downloaded nor read.
    const stored = o.digest ? { digest: o.digest, maxFileBytes: o.maxFileBytes, keep: Boolean(o.keep) } : undefined;
    const kept = stored && (await keptLayerFacts(stored));
    if (kept) return kept;
    const found = await scans(async () => {
      await o.fetch?.();
      return scan(file, o);
    });
    if (stored) await keepLayerFacts(stored, found);
    return found;
  })();
  if (key) {
    const m = { facts, entries: 0 };
    memo.set(key, m);
    void facts.then(
      (f) => {
        m.entries = f.entries.length;
        trimMemo();
      },
      () => memo.delete(key),
    );
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
  const facts: LayerFacts = { gzip, entries: [], files: new Map(), kept: new Map() };
  const pending = new Set<number>();
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
      await readFile(entry, h.size, ordinal, facts, o.keep?.(h.name ?? ''), o.maxFileBytes, pending);
    }
    // The ELF files whose parts were not enough: read whole, one at a time, in a second pass over the layer.
    if (pending.size) await readWhole(file, gzip, pending, facts, o.maxFileBytes, scratch);
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
  pending: Set<number>,
): Promise<void> {
  let kind: 'elf' | 'script' | 'data' | 'other' | undefined;
  let out: Buffer | undefined;
  let elf: ElfPartsCollector | undefined;
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
      if (kind === 'elf') elf = new ElfPartsCollector(Math.min(size, maxFileBytes));
      const want = Math.max(kind === 'script' ? 2 + SCRIPT_LINE_BYTES : 0, keep ?? 0);
      if (want > 0) out = Buffer.allocUnsafe(Math.min(size, want));
      else if (!elf) {
        kind = 'other';
        continue;
      }
    }
    elf?.push(chunk);
    if (!out || kept >= out.length) continue;
    const n = Math.min(chunk.length, out.length - kept);
    chunk.copy(out, kept, 0, n);
    kept += n;
  }
  // A file shorter than 4 bytes: its bytes are all there is.
  if (kind === undefined && start && keep !== undefined) {
    out = start.subarray(0, keep);
    kept = out.length;
  }
  if (out && keep !== undefined) facts.kept.set(ordinal, out.subarray(0, Math.min(kept, keep)));
  if (kind === 'script' && out) facts.files.set(ordinal, { kind: 'script', line: shebangLine(out.subarray(0, kept)) });
  if (elf) {
    const view = elf.view();
    const read = elfFacts(view, size);
    if (read) facts.files.set(ordinal, read);
    else pending.add(ordinal);
  }
}

/**
 * The ELF files of a layer whose parts were not enough (elf-parts.ts), each read whole (at most
 * LayerLimits.maxFileBytes of it) into the scan's buffer, in one more pass over the layer.
 */
async function readWhole(
  file: string,
  gzip: boolean,
  pending: Set<number>,
  facts: LayerFacts,
  maxFileBytes: number,
  scratch: ScanBuffer,
): Promise<void> {
  let ordinal = -1;
  let left = pending.size;
  for await (const entry of tarEntries(layerTarStream(file, gzip))) {
    if (!pending.has(++ordinal)) {
      entry.resume();
      continue;
    }
    const size = entry.header.size ?? 0;
    const room = Math.min(size, maxFileBytes);
    const out = bufferFor(scratch, room);
    let kept = 0;
    for await (const c of entry) {
      const chunk = c as Buffer;
      if (kept >= room) continue;
      const n = Math.min(chunk.length, room - kept);
      chunk.copy(out, kept, 0, n);
      kept += n;
    }
    facts.files.set(ordinal, elfFacts(out.subarray(0, kept), size)!);
    if (--left === 0) break;
  }
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
function elfFacts(bytes: Buffer | ElfBytes, size: number): FileFacts | undefined {
  const head = Buffer.isBuffer(bytes) ? bytes.subarray(0, 18) : bytes.slice(0, 18);
  const loadable = head.length >= 18 && [2, 3].includes(head[5] === 2 ? head.readUInt16BE(16) : head.readUInt16LE(16));
  const truncated = bytes.length < size;
  try {
    return { kind: 'elf', loadable, elf: readElf(bytes), truncated };
  } catch (err) {
    // Parts were not enough: undefined, and the caller reads the file whole.
    if (err instanceof PartNotKeptError) return undefined;
    return { kind: 'elf', loadable, error: (err as Error).message, truncated };
  }
}
