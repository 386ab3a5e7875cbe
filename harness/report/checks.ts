/**
 * The per-check view every file reporter shares: one row per report x platform x check. Every
 * platform has its four checks (one that was not reached is a skip that says why), so a CI system
 * sees the same test names on every run.
 */
import { CHECK_NAMES, type CheckName, type CheckResult, type PlatformResult, type RunReport } from '../result/model.ts';

export interface CheckRow {
  report: RunReport;
  platform: PlatformResult;
  check: CheckName;
  result: CheckResult;
}

export function checkRows(reports: readonly RunReport[]): CheckRow[] {
  return reports.flatMap((report) =>
    report.platforms.flatMap((platform) => CHECK_NAMES.map((check) => ({ report, platform, check, result: platform.checks[check] }))),
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
