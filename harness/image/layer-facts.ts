/**
 * What a scan found in a layer (layer-scan.ts), and its store: kept on disk by the layer's digest and the harness's
 * code, so a layer read once is not downloaded or read again by a later run: a base layer judged
 * for one image is judged for every image that has it. The facts are the layer's own (its entries,
 * its ELF files' readings, its scripts' #! lines, the loader's configuration); nothing about the host
 * is kept. Like the verdicts (checks/binary-check-cache.ts): MULTIARCH_CHECK_CACHE=off turns it
 * off, facts unused for two weeks are removed, and the least recently used go past 256 MiB.
 */
import { createHash } from 'node:crypto';
import { readFile, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { harnessCodeId, pruneStateFolder, stateDir, writeStateFile } from '../base/index.ts';
import type { ElfInfo } from './elf.ts';

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
  /** Whether the layer file is gzip-compressed (a later read of one file inflates it again). */
  gzip: boolean;
  entries: LayerEntry[];
  /** By entry ordinal: ELF files and scripts. */
  files: Map<number, FileFacts>;
  /** By entry ordinal: the first bytes of the files `keep` asked for. */
  kept: Map<number, Buffer>;
}

const MAX_IDLE_MS = 14 * 24 * 3600_000;
const MAX_BYTES = 256 * 1024 * 1024;

export interface LayerFactsKey {
  digest: string;
  /** What a scan with other bounds or other kept files would have found differently. */
  maxFileBytes: number;
  keep: boolean;
}

interface Stored {
  gzip: boolean;
  entries: LayerFacts['entries'];
  files: Array<[number, FileFacts]>;
  kept: Array<[number, string]>;
}

function enabled(): boolean {
  return process.env.MULTIARCH_CHECK_CACHE !== 'off';
}

function storeDir(): string {
  return join(stateDir(), 'layer-facts');
}

async function fileOf(k: LayerFactsKey): Promise<string> {
  const identity = JSON.stringify({ code: await harnessCodeId(), ...k });
  return join(storeDir(), `${createHash('sha256').update(identity).digest('hex').slice(0, 32)}.json`);
}

/** The facts a scan of this layer found before, with this code and these bounds; undefined when there are none. */
export async function keptLayerFacts(k: LayerFactsKey): Promise<LayerFacts | undefined> {
  if (!enabled() || !/^sha256:[0-9a-f]{64}$/.test(k.digest)) return undefined;
  const file = await fileOf(k);
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const s = JSON.parse(text) as Stored;
    const now = new Date();
    await utimes(file, now, now).catch(() => undefined);
    return {
      gzip: s.gzip,
      entries: s.entries,
      files: new Map(s.files),
      kept: new Map(s.kept.map(([ordinal, b64]) => [ordinal, Buffer.from(b64, 'base64')])),
    };
  } catch {
    // Not whole (a disk that filled up): read again, and written anew.
    return undefined;
  }
}

/** Keeps a scan's facts for next time; a read-only state folder costs a scan next time, nothing more. */
export async function keepLayerFacts(k: LayerFactsKey, facts: LayerFacts): Promise<void> {
  if (!enabled() || !/^sha256:[0-9a-f]{64}$/.test(k.digest)) return;
  const stored: Stored = {
    gzip: facts.gzip,
    entries: facts.entries,
    files: [...facts.files],
    kept: [...facts.kept].map(([ordinal, b]) => [ordinal, b.toString('base64')]),
  };
  try {
    await writeStateFile(await fileOf(k), JSON.stringify(stored));
    await pruneOnce();
  } catch {
    // As above.
  }
}

let pruned = false;

/** Facts unused for two weeks go, then the least recently used past MAX_BYTES; at most once per process. */
async function pruneOnce(): Promise<void> {
  if (pruned) return;
  pruned = true;
  await pruneStateFolder(storeDir(), { idleMs: MAX_IDLE_MS, maxBytes: MAX_BYTES });
}
