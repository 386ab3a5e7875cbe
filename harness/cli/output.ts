/** What every command that ran scenarios does at the end: print the matrices, write the reports asked for, choose the exit code. */
import { renderTerminal } from '../report/terminal.ts';
import { writeReports, type ReporterSpec } from '../report/write.ts';
import type { RunReport } from '../result/model.ts';

/** 0 when nothing failed, 1 otherwise. */
export async function printAndWriteReports(reports: RunReport[], specs: ReporterSpec[], base: string, single: boolean, quiet = false): Promise<number> {
  for (const r of reports) console.log(`${renderTerminal(r)}\n`);
  const files = await writeReports(reports, specs, base, single);
  if (files.length && !quiet) console.error(`reports: ${files.join(', ')}`);
  return reports.some((r) => r.summary.failed > 0) ? 1 : 0;
}
