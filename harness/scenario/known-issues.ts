/**
 * Known issues of a scenario: a check expected to fail on a platform, and why. A platform whose only
 * failures are known issues passes, and every report says so.
 */
import type { PlatformResult } from '../result/index.ts';
import type { KnownIssue } from './define.ts';

/**
 * A platform whose only failures are known issues of the scenario is an expected failure (xfail),
 * with the reasons recorded; a platform that passes although a known issue is declared for it is
 * an unexpected pass (xpass): the declaration is out of date. Neither fails the run.
 */
export function applyKnownIssues(r: PlatformResult, issues: readonly KnownIssue[]): PlatformResult {
  const declared = issues.filter((i) => i.platform === r.platform);
  if (declared.length === 0) return r;
  if (r.status === 'pass') {
    const stale = declared.map((i) => `${i.check}: ${i.why}`);
    return {
      ...r,
      status: 'xpass',
      knownIssues: stale,
      message: `passes although the scenario declares a known issue for it (${stale.join('; ')}): the declaration is out of date`,
    };
  }
  if (r.status !== 'fail') return r;
  const failing = Object.entries(r.checks).filter(([, c]) => c.status === 'fail');
  const matched = failing.map(([name, c]) => declared.find((i) => i.check === name && i.matches.test(c.message ?? '')));
  if (matched.some((m) => !m)) return r;
  const why = matched.map((m) => `${m!.check}: ${m!.why}`);
  return { ...r, status: 'xfail', knownIssues: why, message: `expected failure (known issue): ${r.message ?? ''}` };
}

/** The report's notes on the known issues the results showed, or that no longer show. */
export function knownIssueNotes(results: readonly PlatformResult[]): string[] {
  return results.flatMap((r) =>
    (r.knownIssues ?? []).map(
      (w) => `${r.platform}: ${r.status === 'xpass' ? 'known issue no longer seen' : 'known issue (expected failure)'}, ${w}`,
    ),
  );
}
