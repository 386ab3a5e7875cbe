/**
 * The per-check view every file reporter shares: one row per report x platform x check.
 * A platform that never reached the checks (it cannot run here, or its build failed) still gets
 * its four rows, so a CI system sees the same test names on every run.
 */
import type { CheckName, CheckResult, PlatformResult, RunReport } from './types.ts';

export const CHECK_NAMES: readonly CheckName[] = ['index', 'config', 'binary', 'run'];

export function checksOf(p: PlatformResult): Record<CheckName, CheckResult> {
  if (p.checks) return p.checks;
  const result: CheckResult = { status: p.status, ...(p.message ? { message: p.message } : {}) };
  return Object.fromEntries(CHECK_NAMES.map((c) => [c, result])) as Record<CheckName, CheckResult>;
}

export interface CheckRow {
  report: RunReport;
  platform: PlatformResult;
  check: CheckName;
  result: CheckResult;
}

export function checkRows(reports: readonly RunReport[]): CheckRow[] {
  return reports.flatMap((report) =>
    report.platforms.flatMap((platform) => CHECK_NAMES.map((check) => ({ report, platform, check, result: checksOf(platform)[check] }))),
  );
}

/**
 * What a reader must be told about a platform beside its matrix row: why it failed or was skipped,
 * or, for one that passed on a second opinion, that the first emulator crashed or hung.
 */
export function noteOf(p: PlatformResult): string | undefined {
  if (p.message) return p.message;
  if (p.secondOpinion) return `passed on a second opinion: ${p.checks?.run.message ?? p.secondOpinion.message}`;
  return undefined;
}
