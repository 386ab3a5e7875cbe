/**
 * Writes the reports a user asked for with --reporter NAME[=FILE] (repeatable). The terminal
 * matrix goes to stdout, or to stderr when one reporter writes to stdout (FILE `-`: only one may);
 * markdown is appended to $GITHUB_STEP_SUMMARY when that is set and no FILE is given.
 */
import { constants } from 'node:fs';
import { access, appendFile, mkdir, realpath, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { BOUNDS, boundMs, formatBound, UsageError } from '../base/index.ts';
import type { SessionReport } from '../result/index.ts';

const REPORTERS = ['terminal', 'json', 'junit', 'markdown', 'html'] as const;
type ReporterName = (typeof REPORTERS)[number];

export interface ReporterSpec {
  name: ReporterName;
  file?: string;
}

/** The FILE that means stdout: `--reporter json=-`. */
const STDOUT = '-';

export function parseReporter(text: string): ReporterSpec {
  const [name, file] = text.split(/=(.*)/s, 2) as [string, string | undefined];
  if (!(REPORTERS as readonly string[]).includes(name)) throw new UsageError(`"${name}" is not a reporter: use ${REPORTERS.join(', ')}.`);
  return { name: name as ReporterName, ...(file ? { file } : {}) };
}

const DEFAULT_FILE: Record<Exclude<ReporterName, 'terminal'>, (base: string) => string> = {
  json: (b) => `reports/${b}.json`,
  junit: (b) => `reports/${b}.junit.xml`,
  markdown: (b) => `reports/${b}.md`,
  html: (b) => `reports/${b}.html`,
};

/** Kernel and device file systems: a report is a file in a normal folder, and writes there may block for ever. */
const SPECIAL_TREES = ['/proc', '/sys', '/dev'];

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EEXIST: 'a file stands where a folder is needed',
  ENOTDIR: 'a file stands where a folder is needed',
  EISDIR: 'it is a folder',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space is left on the device',
  ENAMETOOLONG: 'the name is too long',
};

function cannotWrite(file: string, err: unknown): UsageError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return new UsageError(
    `The report ${file} cannot be written: ${REASONS[code] ?? (err as Error).message}; choose another path (--reporter NAME=FILE, or --json FILE).`,
  );
}

/**
 * The reporter that writes to stdout (FILE `-`), if one does; more than one would interleave two
 * formats on one stream, so that is a usage error. The terminal's FILE is ignored, `-` included.
 */
export function stdoutReporter(specs: readonly ReporterSpec[]): ReporterSpec | undefined {
  const toStdout = specs.filter((s) => s.name !== 'terminal' && s.file === STDOUT);
  if (toStdout.length > 1) {
    const names = toStdout.map((s) => `${s.name}=${STDOUT}`);
    throw new UsageError(
      `Only one reporter can write to stdout, but ${names.slice(0, -1).join(', ')} and ${names.at(-1)} ask for it: give the others a file with --reporter NAME=FILE.`,
    );
  }
  return toStdout[0];
}

/** The files the requested reporters will write (the terminal writes none, nor a reporter writing to stdout). */
export function reportFiles(specs: readonly ReporterSpec[], base: string): string[] {
  return specs.flatMap((spec) => {
    if (spec.name === 'terminal' || spec.file === STDOUT) return [];
    if (spec.name === 'markdown' && process.env.GITHUB_STEP_SUMMARY && !spec.file) return [process.env.GITHUB_STEP_SUMMARY];
    return [spec.file ?? DEFAULT_FILE[spec.name](base)];
  });
}

/**
 * Checks, before anything runs, that every report can be written where it was asked for: not in a
 * kernel or device file system, its folder creatable, the path not a folder. A run's work is not
 * thrown away at the end for a report path that was never going to work.
 */
export async function checkReportDestinations(specs: readonly ReporterSpec[], base: string): Promise<void> {
  stdoutReporter(specs);
  // A malformed MULTIARCH_HARNESS_REPORT_WRITE_TIMEOUT_MS is said now, not after the run.
  boundMs('reportWrite');
  for (const file of reportFiles(specs, base)) {
    const abs = await realTarget(resolve(file));
    const tree = SPECIAL_TREES.find((t) => abs === t || abs.startsWith(`${t}/`));
    if (tree)
      throw new UsageError(
        `The report ${file} would be written into ${tree}, a kernel or device file system: choose a path in a normal folder with --reporter NAME=FILE.`,
      );
    try {
      await mkdir(dirname(abs), { recursive: true });
      await access(dirname(abs), constants.W_OK);
    } catch (err) {
      throw cannotWrite(file, err);
    }
    const existing = await stat(abs).catch(() => undefined);
    if (existing?.isDirectory()) throw cannotWrite(file, Object.assign(new Error('is a folder'), { code: 'EISDIR' }));
    if (existing && !existing.isFile())
      throw new UsageError(
        `The report ${file} is not a regular file (a pipe or a device): choose a path in a normal folder with --reporter NAME=FILE.`,
      );
    if (existing)
      await access(abs, constants.W_OK).catch((err: unknown) => {
        throw cannotWrite(file, err);
      });
  }
}

/** The path with every symbolic link in its existing part followed: a link into /proc is /proc. */
async function realTarget(abs: string): Promise<string> {
  let existing = abs;
  const rest: string[] = [];
  for (;;) {
    const real = await realpath(existing).catch(() => undefined);
    if (real) return join(real, ...rest);
    const parent = dirname(existing);
    if (parent === existing) return abs;
    rest.unshift(basename(existing));
    existing = parent;
  }
}

/** Writes a report's text to its file, within the report-write bound; a failure is one sentence. */
export async function writeReportFile(file: string, text: string, append = false): Promise<void> {
  // Longer than this (30 s, or MULTIARCH_HARNESS_REPORT_WRITE_TIMEOUT_MS: bounds.ts) is a stuck file system, not a slow disk.
  const bound = boundMs('reportWrite');
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    const sentence = `The report ${file} could not be written within ${formatBound(bound)}: its file system does not answer (${BOUNDS.reportWrite.variable} sets that bound).`;
    timer = setTimeout(() => reject(new UsageError(sentence)), bound);
    timer.unref();
  });
  const work = (async () => {
    await mkdir(dirname(file), { recursive: true });
    await (append ? appendFile(file, text) : writeFile(file, text));
  })().catch((err: unknown) => {
    throw cannotWrite(file, err);
  });
  try {
    await Promise.race([work, stuck]);
  } finally {
    clearTimeout(timer);
  }
}

function writeStdout(text: string): Promise<void> {
  return new Promise((ok, reject) => {
    process.stdout.write(text, (err) =>
      err ? reject(new UsageError(`The report could not be written to stdout: ${err.message}.`)) : ok(),
    );
  });
}

/** A report's text; each format's module is loaded only when that report is asked for. */
async function render(name: Exclude<ReporterName, 'terminal'>, reports: SessionReport[], single: boolean): Promise<string> {
  switch (name) {
    case 'json':
      return `${JSON.stringify(single ? reports[0] : reports, null, 2)}\n`;
    case 'junit':
      return (await import('./junit.ts')).renderJUnit(reports);
    case 'html':
      return (await import('./html.ts')).renderHtml(reports);
    case 'markdown':
      return (await import('./markdown.ts')).renderMarkdown(reports);
  }
}

/** Writes every requested report; returns where each went (a file, or "stdout"). */
export async function writeReports(
  reports: SessionReport[],
  specs: readonly ReporterSpec[],
  base: string,
  single: boolean,
): Promise<string[]> {
  stdoutReporter(specs);
  const written: string[] = [];
  for (const spec of specs) {
    if (spec.name === 'terminal') continue;
    const text = await render(spec.name, reports, single);
    if (spec.file === STDOUT) {
      await writeStdout(text);
      written.push('stdout');
      continue;
    }
    if (spec.name === 'markdown' && process.env.GITHUB_STEP_SUMMARY && !spec.file) {
      await writeReportFile(process.env.GITHUB_STEP_SUMMARY, `${text}\n`, true);
      written.push(process.env.GITHUB_STEP_SUMMARY);
      continue;
    }
    const file = spec.file ?? DEFAULT_FILE[spec.name](base);
    await writeReportFile(file, text);
    written.push(file);
  }
  return written;
}
