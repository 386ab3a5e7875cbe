/**
 * The GitHub reporter: an `::error` annotation per failed check (GitHub shows them on the run's
 * summary and on the pull request). Pure: the CLI decides when (GITHUB_ACTIONS=true) and where to print.
 */
import { annotation } from '../base/index.ts';
import { CHECK_NAMES, type SessionReport } from '../result/index.ts';
import { rowName } from './checks.ts';

const errorAnnotation = (title: string, message: string) => annotation('error', title, message);

/**
 * One `::error title=<scenario>::<sentence>` line per failure of the run as a whole (it verified
 * nothing), one `::error title=<scenario> <platform> <check>::<message>` line per failed check of a
 * failed platform (`<scenario> <target> <platform> <check>` in a bake's report), and one per failed step (`<scenario> <section> <step>`). A failed platform with no
 * failed check (not expected: its run check carries the verdict) still gets one line, so no failure
 * goes unannotated. A platform that passes on known issues gets a `::warning` per known issue.
 */
export function renderAnnotations(reports: readonly SessionReport[]): string[] {
  const lines: string[] = [];
  for (const report of reports) {
    for (const f of report.failures ?? []) lines.push(errorAnnotation(report.scenario, f));
    for (const st of report.steps ?? []) {
      if (st.status === 'fail')
        lines.push(errorAnnotation(`${report.scenario} ${st.section} ${st.title}`, st.failures.join('\n') || 'failed'));
    }
    for (const p of report.platforms) {
      // In a bake's report, the target comes before the platform: "<scenario> <target> <platform> <check>".
      const name = rowName(p);
      // A known issue fails its check but not the platform (nor the job): a warning, not an error.
      for (const k of p.knownIssues ?? [])
        lines.push(annotation('warning', `${report.scenario} ${name}`, `known issue, accepted by the scenario: ${k}`));
      if (p.status !== 'fail') continue;
      const failed = CHECK_NAMES.filter((c) => p.checks?.[c]?.status === 'fail');
      const fix = p.fix ? `\nFix: ${p.fix}` : '';
      for (const check of failed) {
        lines.push(
          errorAnnotation(
            `${report.scenario} ${name} ${check}`,
            `${p.checks[check].message ?? p.message ?? 'failed'}${check === 'run' ? fix : ''}`,
          ),
        );
      }
      const failedTests = (p.structureTests ?? []).filter((t) => t.status === 'fail');
      for (const t of failedTests) lines.push(errorAnnotation(`${report.scenario} ${name} test ${t.name}`, t.message ?? 'failed'));
      if (failed.length === 0 && failedTests.length === 0)
        lines.push(errorAnnotation(`${report.scenario} ${name}`, `${p.message ?? 'failed'}${fix}`));
    }
  }
  return lines;
}
