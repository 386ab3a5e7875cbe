/**
 * Known issues of a scenario: a check expected to fail on a platform, and why. A platform whose only
 * failures are known issues passes, and every report says so.
 */
import type { PlatformResult } from '../result/model.ts';
import type { KnownIssue } from './define.ts';

/** A platform whose only failures are known issues of the scenario passes, with the reason recorded. */
export function applyKnownIssues(r: PlatformResult, issues: readonly KnownIssue[]): PlatformResult {
  if (r.status !== 'fail') return r;
  const failing = Object.entries(r.checks).filter(([, c]) => c.status === 'fail');
  const matched = failing.map(([name, c]) => issues.find((i) => i.platform === r.platform && i.check === name && i.matches.test(c.message ?? '')));
  if (matched.some((m) => !m)) return r;
  const why = matched.map((m) => `${m!.check}: ${m!.why}`);
  const { message: _message, ...rest } = r;
  return { ...rest, status: 'pass', knownIssues: why };
}

/** The report's notes on the known issues the results showed. */
export function knownIssueNotes(results: readonly PlatformResult[]): string[] {
  return results.flatMap((r) => (r.knownIssues ?? []).map((w) => `${r.platform}: known issue, ${w}`));
}
