/**
 * The `binary` check, read from the layers and never run: every ELF file of the platform's final
 * file system (layers applied in order, whiteouts honoured, the last copy of a path winning as at
 * run time) must fit the platform (ELF class, byte order, machine; ARM attributes and GOARM; GOAMD64
 * and the x86-64 ISA level; Go's GOOS/GOARCH), unless the image declares it foreign on purpose
 * (`allowForeign` globs: emulators, cross toolchains, firmware). The entry program (ENTRYPOINT + CMD,
 * through wrapper scripts' #! lines; also when --command replaces what runs) is named first. Every
 * program's loader and libraries must be in the image and fit (dynamic-deps.ts).
 */
import picomatch from 'picomatch';
import {
  checkBinary,
  checkDependencies,
  readLoaderConfig,
  type DependencyProblem,
  type ElfInfo,
  envMap,
  findEntryBinary,
  ImageFsError,
  sizeText,
  type EntryBinary,
  type ImageFilesystem,
  readImageFilesystem,
} from '../image/index.ts';
import { type PlatformExecution, formatPlatform, type Platform } from '../platform/index.ts';
import type { FetchedManifest, ImageConfig, ImageSource } from '../registry/index.ts';
import { fail, pass, type CheckResult } from '../result/index.ts';

export interface BinaryCheckInput {
  source: ImageSource;
  manifest: FetchedManifest;
  config: ImageConfig;
  exec: PlatformExecution;
  /** The engine's own platform: a binary of it runs natively whatever the image claims. */
  native: Platform;
  /** The command that replaces the image's CMD, when one does: its program is checked too. */
  command?: string[];
  /** A scratch folder for the layers. */
  tmp: string;
  /** The platform's file system when the caller read it already, or why it could not (it is read once per platform). */
  fs?: ImageFilesystem | { problem: string };
  /** Globs of paths whose ELF files are foreign on purpose (`--allow-foreign`). */
  allowForeign?: readonly string[];
}

export interface BinaryCheckOutcome {
  result: CheckResult;
  /** The program a run starts (the --command one when given): the run check's second opinion runs it. */
  binary?: EntryBinary;
  summary?: string;
  /** How many ELF files were read, and how long the check took. */
  elfFiles?: number;
  durationMs?: number;
}

const LISTED = 5;

function listed(items: readonly string[]): string {
  return items.length > LISTED ? `${items.slice(0, LISTED).join('; ')}; and ${items.length - LISTED} more` : items.join('; ');
}

export async function checkEntryBinary(o: BinaryCheckInput): Promise<BinaryCheckOutcome> {
  const platform = o.exec.platform;
  const name = formatPlatform(platform);
  const started = performance.now();
  if (o.fs && 'problem' in o.fs) return { result: fail(o.fs.problem) };
  let fs: ImageFilesystem;
  try {
    fs = o.fs ?? (await readImageFilesystem(o.source, o.manifest, o.tmp));
  } catch (err) {
    return { result: fail(`the file system of ${name} cannot be read: ${(err as Error).message}`) };
  }
  try {
    return await judge(o, fs, name, started);
  } catch (err) {
    // A hostile file system (a path through a symlink loop where none was expected) is this check's failure, in one sentence, not the harness's.
    if (!(err instanceof ImageFsError)) throw err;
    return { result: fail(`the file system of ${name} cannot be read: ${err.message}`) };
  }
}

async function judge(o: BinaryCheckInput, fs: ImageFilesystem, name: string, started: number): Promise<BinaryCheckOutcome> {
  const platform = o.exec.platform;
  const problems: string[] = [];

  // The image's own program, and the --command one: both named, both must be ELF files that fit.
  const entries: Array<{ role: string; binary: EntryBinary }> = [];
  const own = await findEntryBinary(fs, o.config.config, undefined).catch((err: Error) => err);
  if (own instanceof Error) {
    if (!o.command?.length) problems.push(`the entry program cannot be found: ${own.message}`);
  } else {
    entries.push({ role: 'entry', binary: own });
  }
  // What the run starts: the --command line when one is given, even where its program is the image's
  // own (checked once, but a second opinion must run the same command line, not the image's CMD).
  let runs: EntryBinary | undefined = own instanceof Error ? undefined : own;
  if (o.command?.length) {
    const cmd = await findEntryBinary(fs, o.config.config, o.command).catch((err: Error) => err);
    if (cmd instanceof Error) {
      problems.push(`the command ${JSON.stringify(o.command)} cannot be found in the image: ${cmd.message}`);
      runs = undefined;
    } else {
      runs = cmd;
      if (!entries.some((e) => e.binary.chain.at(-1) === cmd.chain.at(-1))) entries.push({ role: 'command', binary: cmd });
    }
  }

  // Every ELF file, each read once.
  const isAllowed = o.allowForeign?.length ? picomatch([...o.allowForeign], { dot: true }) : () => false;
  const elfs = new Map<string, ElfInfo>();
  const misfits: string[] = [];
  const allowed: string[] = [];
  const unreadable: string[] = [];
  // ELF files larger than the harness holds in memory, judged by their first bytes (LayerLimits.maxFileBytes).
  let heads = 0;
  for (const [path, , facts] of fs.elfFiles()) {
    if (!facts.loadable) continue;
    if (facts.truncated) heads++;
    if (!facts.elf) {
      unreadable.push(`${path}: ${facts.error ?? 'not readable'}`);
      continue;
    }
    elfs.set(path, facts.elf);
    const verdict = checkBinary(facts.elf, platform);
    if (verdict.pass) continue;
    if (isAllowed(path)) allowed.push(path);
    else misfits.push(`${path}: ${verdict.problems.join('; ')} (${verdict.summary})`);
  }

  // The named programs first, with what they are.
  const summaries: string[] = [];
  for (const { role, binary } of entries) {
    const path = binary.chain.at(-1)!;
    const via = binary.chain.length > 1 ? ` (via ${binary.chain.join(' -> ')})` : '';
    const elf = elfs.get(fs.resolve(path)) ?? binary.elf;
    if (!elf) {
      problems.unshift(`the ${role} program ${path}${via} is not an ELF file`);
      continue;
    }
    const verdict = checkBinary(elf, platform);
    summaries.push(`${role === 'entry' ? '' : 'command '}${path}${via}: ${verdict.summary}`);
    if (!verdict.pass) {
      // A binary of the host's own machine runs natively whatever the platform claims: the run check cannot catch that, only this one can.
      const native =
        o.exec.mode === 'qemu' && checkBinary(elf, o.native).pass
          ? `; it runs natively on this ${formatPlatform(o.native)} host, not under ${o.exec.emulator?.handler ?? 'QEMU'}, so running it proves nothing`
          : '';
      problems.unshift(`the ${role} program ${path}${via}: ${verdict.problems.join('; ')} (${verdict.summary})${native}`);
    }
  }
  const entryPaths = new Set(entries.map((e) => fs.resolve(e.binary.chain.at(-1)!)));
  const others = misfits.filter((m) => !entryPaths.has(m.slice(0, m.indexOf(': '))));
  if (others.length) problems.push(`${others.length} of ${elfs.size} ELF files do not fit ${name}: ${listed(others)}`);
  if (unreadable.length) problems.push(`${unreadable.length} ELF file(s) cannot be read: ${listed(unreadable)}`);

  // Programs' loaders and libraries: the named ones, and every executable ELF file of the image.
  const loader = await readLoaderConfig(fs);
  const env = envMap(o.config.config?.Env);
  const executable = (p: string) => {
    try {
      return ((fs.entry(p)?.mode ?? 0) & 0o111) !== 0;
    } catch {
      return false; // a symlink loop on its way: nothing can start it
    }
  };
  const programs = new Set([...entryPaths, ...[...elfs].filter(([p, e]) => e.interpreter && executable(p)).map(([p]) => p)]);
  const deps: DependencyProblem[] = [];
  for (const program of programs) {
    if (isAllowed(program)) continue;
    deps.push(...checkDependencies({ fs, elfs, env, loader, fits: (e) => checkBinary(e as ElfInfo, platform).pass }, program));
  }
  const depMessages = [...new Set(deps.map((d) => d.message))];
  if (depMessages.length) problems.push(`${depMessages.length} loader or library problem(s): ${listed(depMessages)}`);

  const durationMs = Math.round(performance.now() - started);
  const headNote = heads
    ? `; ${heads} ELF file(s) larger than ${sizeText(fs.limits.maxFileBytes)} judged by their first ${sizeText(fs.limits.maxFileBytes)}`
    : '';
  const allowedNote = `${allowed.length ? `; ${allowed.length} foreign ELF file(s) allowed by --allow-foreign (${listed(allowed)})` : ''}${headNote}`;
  const summary = summaries.join('; ') || undefined;
  const scope = `${elfs.size} ELF file(s) checked in ${(durationMs / 1000).toFixed(1)} s`;
  const outcome = { ...(runs ? { binary: runs } : {}), ...(summary ? { summary } : {}), elfFiles: elfs.size, durationMs };
  // The named programs come first in either case: what they are, then what is wrong.
  if (problems.length)
    return { result: fail(`${summary ? `${summary}; ` : ''}${problems.join('; ')} (${scope}${allowedNote})`), ...outcome };
  return { result: pass(`${summary ?? 'no entry program'}; ${scope}, all fit ${name}${allowedNote}`), ...outcome };
}
