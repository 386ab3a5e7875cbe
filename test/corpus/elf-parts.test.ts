/**
 * The ELF reader on the parts a layer's scan keeps (harness/image/elf-parts.ts) against the reader
 * on the whole file, over every ELF file of the corpus nobody here wrote (Go, Rust and C programs
 * and libraries of every platform, from npm, Debian and Go's own releases), each fed in chunks of
 * random sizes as a layer's stream would hand them: the parts give exactly what the whole file
 * gives, or say that they cannot (and the scan then reads that file whole). Also cut to its first
 * 1 MiB, as a file larger than LayerLimits.maxFileBytes is judged.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { ElfPartsCollector } from '../../harness/image/elf-parts.ts';
import { PartNotKeptError, readElf, type ElfInfo } from '../../harness/image/elf.ts';
import { corpusDir } from '../support/corpus-cache.ts';
import { debianDynamicCorpus, goCorpus, rustCorpus } from '../support/corpus.ts';
import { helloForEveryPlatform } from '../support/real-binaries.ts';

let files: string[] = [];

beforeAll(async () => {
  // Fetched or built once into the state folder (the set-up does it; here when missing).
  await Promise.all([goCorpus(), rustCorpus(), debianDynamicCorpus(), helloForEveryPlatform()]);
  const all = (await readdir(corpusDir(), { recursive: true, withFileTypes: true })).filter((d) => d.isFile());
  files = all.map((d) => join(d.parentPath, d.name)).filter((f) => !/\/(tmp|locks)\//.test(f));
}, 600_000);

/** mulberry32: the chunk sizes, the same on every run. */
function chunkSizes(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const r = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    // Now and then a chunk smaller than a needle, to cross every seam.
    return 1 + Math.floor(r < 0.2 ? r * 100 : r * 256 * 1024);
  };
}

function fromParts(bytes: Buffer, seed: number): ElfInfo | 'not kept' | Error {
  const collector = new ElfPartsCollector(bytes.length);
  const next = chunkSizes(seed);
  for (let at = 0; at < bytes.length;) {
    const n = next();
    collector.push(bytes.subarray(at, at + n));
    at += n;
  }
  try {
    return readElf(collector.view());
  } catch (err) {
    return err instanceof PartNotKeptError ? 'not kept' : (err as Error);
  }
}

function whole(bytes: Buffer): ElfInfo | Error {
  try {
    return readElf(bytes);
  } catch (err) {
    return err as Error;
  }
}

describe('the parts of an ELF file a scan keeps', () => {
  test('read as the whole file reads, or say they cannot; Go binaries with the linker build info never need the whole', async () => {
    let elfs = 0;
    let same = 0;
    const notKept: string[] = [];
    const differ: string[] = [];
    for (const [i, file] of files.entries()) {
      const bytes = await readFile(file);
      if (bytes.length < 4 || bytes.readUInt32BE(0) !== 0x7f454c46) continue;
      elfs++;
      for (const cut of [bytes, bytes.subarray(0, Math.min(bytes.length, 1024 * 1024))]) {
        const want = whole(cut);
        const got = fromParts(cut, i + 1);
        if (got === 'not kept') {
          if (cut === bytes) notKept.push(file);
          // A Go binary whose linker wrote the build info blob (Go 1.18 and later) is read from its parts.
          if (cut === bytes && !(want instanceof Error) && want.go?.source === 'buildinfo' && !/^go1\.1[0-7]\b/.test(want.go.version))
            differ.push(`${file}: a Go ${want.go.version} binary with build info needed its whole file`);
          continue;
        }
        if (want instanceof Error || got instanceof Error) {
          if (!(want instanceof Error && got instanceof Error && want.message === got.message))
            differ.push(`${file} (${cut.length} bytes): ${String(want)} / ${String(got)}`);
          continue;
        }
        if (JSON.stringify(got) === JSON.stringify(want)) same++;
        else differ.push(`${file} (${cut.length} bytes): ${JSON.stringify(want)} / ${JSON.stringify(got)}`);
      }
    }
    expect(differ).toEqual([]);
    // The corpus holds hundreds of ELF files; most are read from their parts alone.
    expect(elfs).toBeGreaterThan(300);
    expect(notKept.length, notKept.join('\n')).toBeLessThan(elfs / 10);
    expect(same).toBeGreaterThan(elfs);
  });
});
