/**
 * What every command that ran scenarios does at the end: print the matrices, write the reports
 * asked for, choose the exit code. The matrix goes to stdout, or to stderr when a reporter writes to
 * stdout (`--reporter json=-`), so that stdout is only the machine-readable report; its colour is
 * decided for the stream it goes to. Under GitHub Actions the annotations follow the matrix.
 */
import { colorEnabled } from './color.ts';
import { endProgressGroup } from './progress.ts';
import { isGitHubActions, renderAnnotations } from '../report/github.ts';
import { renderTerminal } from '../report/terminal.ts';
import { stdoutReporter, writeReports, type ReporterSpec } from '../report/write.ts';
import type { SessionReport } from '../result/model.ts';

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
