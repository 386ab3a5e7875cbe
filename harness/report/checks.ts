/**
 * The per-check view every file reporter shares: one row per report x platform x check. Every
 * platform has its four checks (one that was not reached is a skip that says why), so a CI system
 * sees the same test names on every run.
 */
import {
  CHECK_NAMES,
  type CheckName,
  type CheckResult,
  type PlatformResult,
  type SessionReport,
  type StructureTestKind,
  type StructureTestResult,
  type TargetResult,
} from '../result/index.ts';

/** What a step's difference is a difference from: the report's reference by its name ("the guide"), or "the reference". */
export function differsFrom(report: Pick<SessionReport, 'reference'>): string {
  return report.reference?.name ?? 'the reference';
}

export interface CheckRow {
  report: SessionReport;
  platform: PlatformResult;
  /** One of the four checks, or "test <name>" for a container-structure-test file's test. */
  check: CheckName | `test ${string}`;
  result: CheckResult;
  /** A command test's time, in ms. */
  durationMs?: number;
}

/** The four checks of every platform, then its container-structure-test tests, if any. */
export function checkRows(reports: readonly SessionReport[]): CheckRow[] {
  return reports.flatMap((report) =>
    report.platforms.flatMap((platform) => [
      ...CHECK_NAMES.map((check): CheckRow => ({ report, platform, check, result: platform.checks[check] })),
      ...(platform.structureTests ?? []).map((t): CheckRow => ({
        report,
        platform,
        check: `test ${t.name}`,
        result: { status: t.status, ...(t.message ? { message: t.message } : {}) },
        ...(t.durationMs !== undefined ? { durationMs: t.durationMs } : {}),
      })),
    ]),
  );
}

/**
 * A container-structure-test file's results as a matrix: one row per test, one column per
 * platform. Undefined when no platform ran such a file.
 */
export interface TestMatrix {
  tests: { name: string; kind: StructureTestKind }[];
  platforms: string[];
  cell(test: string, platform: string): StructureTestResult | undefined;
}

export function testMatrix(report: SessionReport): TestMatrix | undefined {
  const withTests = report.platforms.filter((p) => p.structureTests?.length);
  if (!withTests.length) return undefined;
  const tests = new Map<string, StructureTestKind>();
  for (const p of withTests) for (const t of p.structureTests!) if (!tests.has(t.name)) tests.set(t.name, t.kind);
  return {
    tests: [...tests].map(([name, kind]) => ({ name, kind })),
    platforms: report.platforms.map((p) => p.platform),
    cell: (test, platform) => report.platforms.find((p) => p.platform === platform)?.structureTests?.find((t) => t.name === test),
  };
}

/** A platform's name in a matrix header: "arm/v7" for "linux/arm/v7". */
export const shortPlatform = (p: string) => p.replace(/^linux\//, '');

/**
 * What a reader must be told about a platform beside its matrix row: why it failed or was skipped,
 * or, for one that passed on a second opinion, that the first emulator crashed or hung.
 */
export function noteOf(p: PlatformResult): string | undefined {
  if (p.message) return p.message;
  if (p.secondOpinion) return `passed on a second opinion: ${p.checks?.run.message ?? p.secondOpinion.message}`;
  return undefined;
}

/** A report's platform rows under one bake target, or all of them when the report has no targets. */
export interface TargetGroup {
  /** The target, when the report is a bake's; undefined for every other report (one group, no heading). */
  target?: TargetResult;
  platforms: PlatformResult[];
}

/**
 * A report's platforms grouped by bake target, in the order of its `targets` (a target no platform
 * names still has its group, empty; a platform whose target is not listed comes after, in the order
 * seen). A report without targets is one group of every platform, as before targets existed.
 */
export function targetGroups(report: Pick<SessionReport, 'targets' | 'platforms'>): TargetGroup[] {
  if (!report.targets?.length && !report.platforms.some((p) => p.target !== undefined)) return [{ platforms: report.platforms }];
  const groups = new Map<string, TargetGroup>();
  for (const t of report.targets ?? []) groups.set(t.name, { target: t, platforms: [] });
  for (const p of report.platforms) {
    const name = p.target ?? '';
    if (!groups.has(name)) groups.set(name, { target: { name, ref: '' }, platforms: [] });
    groups.get(name)!.platforms.push(p);
  }
  return [...groups.values()];
}

/** How a note names a platform's row: with its target in front in a bake's report ("hello linux/arm64"). */
export function rowName(p: Pick<PlatformResult, 'platform' | 'target'>): string {
  return p.target ? `${p.target} ${p.platform}` : p.platform;
}

/** A target's heading: its name, and the image it pushed (pinned by its digest when it was built). */
export function targetHeading(t: TargetResult): string {
  const image = t.ref ? ` ${t.ref}${t.digest ? `@${t.digest}` : ''}` : '';
  return `target ${t.name}${image}${t.digest ? '' : t.ref ? ' (not built)' : ''}`;
}
