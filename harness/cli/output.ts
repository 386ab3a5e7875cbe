/**
 * What every command that ran scenarios does at the end: print the matrices, write the reports
 * asked for, choose the exit code. The matrix goes to stdout, or to stderr when a reporter writes to
 * stdout (`--reporter json=-`), so that stdout is only the machine-readable report; its colour is
 * decided for the stream it goes to. Under GitHub Actions the annotations follow the matrix.
 */
import { endProgressGroup } from './progress.ts';
import { isGitHubActions } from '../base/index.ts';
import { renderAnnotations, renderTerminal, stdoutReporter, writeReports, type ReporterSpec } from '../report/index.ts';
import type { SessionReport } from '../result/index.ts';

/**
 * Prints each report's matrix and writes the reports `specs` ask for (a file named after `base`
 * where a reporter is given none; `single`: the JSON report is the one report, not an array of
 * them; `quiet`: no line naming the files written). 0 when nothing failed, 1 otherwise.
 */
export async function publishReports(
  reports: SessionReport[],
  specs: ReporterSpec[],
  base: string,
  single: boolean,
  quiet = false,
): Promise<number> {
  endProgressGroup();
  const matrixToStderr = stdoutReporter(specs) !== undefined;
  const print = (text: string) => (matrixToStderr ? console.error(text) : console.log(text));
  const color = colorEnabled(matrixToStderr ? process.stderr : process.stdout);
  for (const r of reports) print(`${renderTerminal(r, { color })}\n`);
  if (isGitHubActions()) for (const line of renderAnnotations(reports)) print(line);
  const files = await writeReports(reports, specs, base, single);
  if (files.length && !quiet) console.error(`reports: ${files.join(', ')}`);
  return reports.some((r) => r.summary.failed > 0) ? 1 : 0;
}

/**
 * Whether the terminal matrix gets colour, decided for the stream it is written to (stdout, or
 * stderr when a reporter writes to stdout): NO_COLOR (set, whatever its value) turns it off;
 * FORCE_COLOR turns it on even without a terminal (FORCE_COLOR=0 or false turns it off, as Node
 * reads it); otherwise only a terminal (a TTY, TERM not "dumb") gets colour. These are picocolors'
 * own rules, applied to the right stream (picocolors looks at stdout) and without its "CI means
 * colour" guess: a CI log that wants colour says FORCE_COLOR=1.
 */
export interface ColorTarget {
  isTTY?: boolean;
}

export function colorEnabled(stream: ColorTarget, env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  if (env.NO_COLOR !== undefined) return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return !['0', 'false'].includes(force.trim().toLowerCase());
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}
