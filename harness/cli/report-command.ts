/** `multiarch-harness report <report.json>...`: re-render saved JSON reports with any reporter. */
import { checkReportDestinations, mergeReports } from '../report/index.ts';
import { readFile } from 'node:fs/promises';
import { UsageError } from '../base/index.ts';
import { CHECK_NAMES, type CheckName, type CheckResult, type SessionReport } from '../result/index.ts';
import { COMMON, parse, reporters } from './args.ts';
import { seeHelp } from './usage.ts';
import { publishReports } from './output.ts';

export async function reportCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { reporter: COMMON.reporter, json: COMMON.json, quiet: COMMON.quiet }, 'report');
  const merge = positionals[0] === 'merge';
  const files = merge ? positionals.slice(1) : positionals;
  if (files.length === 0)
    throw new UsageError(`report ${merge ? 'merge ' : ''}takes one or more JSON report files, and none was given ${seeHelp('report')}.`);
  const specs = reporters(values);
  const reports: SessionReport[] = [];
  const names: string[] = [];
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch(() => {
      throw new UsageError(`The report ${file} cannot be read.`);
    });
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw new UsageError(`${file} is not JSON.`);
    }
    for (const r of Array.isArray(data) ? data : [data]) {
      reports.push(withEveryCheck(saved(r, file)));
      names.push(file);
    }
  }
  await checkReportDestinations(specs, 'report');
  // merge: shard reports of one image become one report, every platform exactly once.
  const out = merge ? [mergeReports(reports, names)] : reports;
  return publishReports(out, specs, 'report', out.length === 1, Boolean(values.quiet));
}

/** A report of schemaVersion 1 (written before `reference`): what it held under its first name. */
type SavedV1 = Omit<SessionReport, 'schemaVersion' | 'reference' | 'steps'> & {
  schemaVersion: 1;
  /** The section of "the article" (the only reference reports had then) the scenario covered. */
  article?: string;
  steps?: Array<Omit<NonNullable<SessionReport['steps']>[number], 'reference'> & { article?: string }>;
};

/**
 * A saved report as this version writes it. Version 1 reports (`report merge` of shards written by
 * an older harness) are read too: their `article` section is `reference: { name: 'the article',
 * part }`, and a step's `article` is its `reference`, so they render as they did.
 */
function saved(data: unknown, file: string): SessionReport {
  const r = data as SessionReport | SavedV1 | undefined;
  if ((r?.schemaVersion !== 1 && r?.schemaVersion !== 2) || !Array.isArray(r.platforms))
    throw new UsageError(`${file} is not a multiarch-harness report (schemaVersion 1 or 2).`);
  if (r.schemaVersion === 2) return r;
  const { article, steps, ...rest } = r;
  return {
    ...rest,
    schemaVersion: 2,
    ...(article ? { reference: { name: 'the article', part: article } } : {}),
    ...(steps ? { steps: steps.map(({ article: shown, ...step }) => ({ ...step, ...(shown ? { reference: shown } : {}) })) } : {}),
  };
}

/**
 * Reports saved by versions before every platform carried its four checks: a platform without them
 * gets each check with the platform's own status and message, so every reporter can read it.
 */
function withEveryCheck(r: SessionReport): SessionReport {
  const platforms = r.platforms.map((p) => {
    if (p.checks) return p;
    const result: CheckResult = {
      status: p.status === 'xfail' ? 'fail' : p.status === 'xpass' ? 'pass' : p.status,
      ...(p.message ? { message: p.message } : {}),
    };
    return { ...p, checks: Object.fromEntries(CHECK_NAMES.map((c) => [c, result])) as Record<CheckName, CheckResult> };
  });
  return { ...r, platforms };
}
