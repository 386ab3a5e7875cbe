/**
 * The `binary` check: the entry binary, read from the layers and never run, fits the platform
 * (ELF class, byte order, machine; ARM attributes and GOARM; GOAMD64; Go's GOOS/GOARCH).
 */
import { checkBinary } from '../image/binary-rules.ts';
import { isElf, readElf } from '../image/elf.ts';
import type { PlatformExecution } from '../platform/execution-mode.ts';
import { findEntryBinary, type EntryBinary, type ImageFilesystem } from '../image/filesystem.ts';
import { readImageFilesystem } from '../image/layers.ts';
import { formatPlatform, type Platform } from '../platform/platform.ts';
import type { FetchedManifest, ImageConfig, ImageSource } from '../registry/client.ts';
import { fail, pass, type CheckResult } from '../result/model.ts';

export interface BinaryCheckInput {
  source: ImageSource;
  manifest: FetchedManifest;
  config: ImageConfig;
  exec: PlatformExecution;
  /** The engine's own platform: a binary of it runs natively whatever the image claims. */
  native: Platform;
  /** The command that replaces the image's CMD, when one does. */
  command?: string[];
  /** A scratch folder for the layers. */
  tmp: string;
  /** The platform's file system when the caller read it already (it is read once per platform). */
  fs?: ImageFilesystem;
}

export async function checkEntryBinary(o: BinaryCheckInput): Promise<{ result: CheckResult; binary?: EntryBinary; summary?: string }> {
  const platform = o.exec.platform;
  try {
    const fs = o.fs ?? await readImageFilesystem(o.source, o.manifest, o.tmp);
    const binary = await findEntryBinary(fs, o.config.config, o.command);
    const via = binary.chain.length > 1 ? ` (via ${binary.chain.join(' -> ')})` : '';
    const where = `${binary.chain.at(-1)}${via}`;
    if (!isElf(binary.content)) return { result: fail(`the entry binary ${where} is not an ELF file`), binary };
    const elf = readElf(binary.content);
    const verdict = checkBinary(elf, platform);
    const summary = `${where}: ${verdict.summary}`;
    if (verdict.pass) return { result: pass(summary), binary, summary };
    // A binary of the host's own machine runs natively whatever the platform claims: the run
    // check cannot catch that, only this one can.
    const native = o.exec.mode === 'qemu' && checkBinary(elf, o.native).pass
      ? `; it runs natively on this ${formatPlatform(o.native)} host, not under ${o.exec.emulator?.handler ?? 'QEMU'}, so running it proves nothing`
      : '';
    return { result: fail(`${where}: ${verdict.problems.join('; ')} (${verdict.summary})${native}`), binary, summary };
  } catch (err) {
    return { result: fail(`the entry binary of ${formatPlatform(platform)} cannot be read: ${(err as Error).message}`) };
  }
}
