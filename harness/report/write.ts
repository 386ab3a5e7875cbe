/**
 * Writes the reports a user asked for with --reporter NAME[=FILE] (repeatable). The terminal
 * matrix always goes to stdout; markdown is appended to $GITHUB_STEP_SUMMARY when that is set.
 */
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UsageError } from '../errors.ts';
import { renderHtml } from './html.ts';
import { renderJUnit } from './junit.ts';
import { renderMarkdown } from './markdown.ts';
import type { RunReport } from '../result/model.ts';

export const REPORTERS = ['terminal', 'json', 'junit', 'markdown', 'html'] as const;
export type ReporterName = (typeof REPORTERS)[number];

export interface ReporterSpec {
  name: ReporterName;
  file?: string;
}

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

async function write(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, text);
}

/** Writes every requested file report; returns the files written. */
export async function writeReports(reports: RunReport[], specs: readonly ReporterSpec[], base: string, single: boolean): Promise<string[]> {
  const written: string[] = [];
  for (const spec of specs) {
    if (spec.name === 'terminal') continue;
    const file = spec.file ?? DEFAULT_FILE[spec.name](base);
    if (spec.name === 'json') await write(file, `${JSON.stringify(single ? reports[0] : reports, null, 2)}\n`);
    if (spec.name === 'junit') await write(file, renderJUnit(reports));
    if (spec.name === 'html') await write(file, renderHtml(reports));
    if (spec.name === 'markdown') {
      const md = renderMarkdown(reports);
      if (process.env.GITHUB_STEP_SUMMARY && !spec.file) {
        await appendFile(process.env.GITHUB_STEP_SUMMARY, `${md}\n`);
        written.push(process.env.GITHUB_STEP_SUMMARY);
        continue;
      }
      await write(file, md);
    }
    written.push(file);
  }
  return written;
}
