/**
 * JUnit XML: one <testsuite> per scenario (per bake target in a bake's report, "<scenario>.<target>"),
 * one <testcase> per platform x check (and per step, and per failure of the run as a whole: it
 * verified nothing), valid against schemas/junit.xsd (kept in this repository).
 */
import { hostname } from 'node:os';
import { checkRows, targetGroups, type CheckRow } from './checks.ts';
import type { SessionReport, StepResult, TargetResult } from '../result/index.ts';

export function xmlEscape(s: string): string {
  // Characters XML 1.0 cannot carry at all are dropped; the rest are escaped.
  return s
    .replace(/[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const secs = (ms: number) => (ms / 1000).toFixed(3);

export function renderJUnit(reports: readonly SessionReport[]): string {
  // A failed check of an expected failure (xfail) is reported as skipped, with the known issue as its message.
  const rows = checkRows(reports).map((r) =>
    r.platform.status === 'xfail' && r.result.status === 'fail'
      ? {
          ...r,
          result: {
            status: 'skip' as const,
            message: `expected failure (known issue: ${(r.platform.knownIssues ?? []).join('; ')}): ${r.result.message ?? ''}`,
          },
        }
      : r,
  );
  const steps = reports.flatMap((r) => r.steps ?? []);
  // The run's own failures (it verified nothing): a failed testcase each, so a CI system sees them.
  const runFailures = reports.reduce((n, r) => n + (r.failures?.length ?? 0), 0);
  const count = (s: string) => rows.filter((r) => r.result.status === s).length;
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="multiarch-harness" tests="${rows.length + steps.length + runFailures}" failures="${count('fail') + steps.filter((x) => x.status === 'fail').length + runFailures}" errors="0" skipped="${count('skip')}" time="${secs(reports.reduce((t, r) => t + r.durationMs, 0))}">`,
  ];
  for (const report of reports) {
    const mine = rows.filter((r) => r.report === report);
    const groups = targetGroups(report);
    const mySteps = report.steps ?? [];
    const myFailures = report.failures ?? [];
    // A bake's report: a <testsuite> per target, and one of the scenario's own for its steps and failures, when it has any.
    const suites: Suite[] = groups.some((g) => g.target)
      ? [
          ...(mySteps.length || myFailures.length ? [{ name: report.scenario, rows: [], steps: mySteps, failures: myFailures }] : []),
          ...groups.map((g) => ({
            name: `${report.scenario}.${g.target!.name}`,
            target: g.target!,
            rows: mine.filter((r) => g.platforms.includes(r.platform)),
            steps: [],
            failures: [],
          })),
        ]
      : [{ name: report.scenario, rows: mine, steps: mySteps, failures: myFailures }];
    for (const suite of suites) out.push(...renderSuite(report, suite));
  }
  out.push('</testsuites>', '');
  return out.join('\n');
}

/** One <testsuite>: a scenario's rows, or in a bake's report one target's. */
interface Suite {
  name: string;
  target?: TargetResult;
  rows: CheckRow[];
  steps: StepResult[];
  /** The run's own failures (it verified nothing): a failed testcase each. */
  failures: string[];
}

function renderSuite(report: SessionReport, suite: Suite): string[] {
  const n = (s: string) => suite.rows.filter((r) => r.result.status === s).length;
  const { rows: mine, steps, failures } = suite;
  // A bake target's suite takes the time its image took to build; the scenario's, the whole run's.
  const time = suite.target ? (suite.target.buildMs ?? 0) : report.durationMs;
  const prefix = suite.target ? `${report.scenario}.${suite.target.name}` : report.scenario;
  const out = [
    `  <testsuite name="${xmlEscape(suite.name)}" tests="${mine.length + steps.length + failures.length}" failures="${n('fail') + steps.filter((x) => x.status === 'fail').length + failures.length}" errors="0" skipped="${n('skip')}" ` +
      `time="${secs(time)}" timestamp="${report.startedAt.replace(/\.\d+Z$/, '')}" hostname="${xmlEscape(hostname())}">`,
    '    <properties>',
    ...Object.entries({
      title: report.title,
      engine: report.host.engine,
      native: report.host.native,
      imageStore: report.host.imageStore,
      ...(suite.target ? { target: suite.target.name } : {}),
      image: suite.target ? `${suite.target.ref}${suite.target.digest ? `@${suite.target.digest}` : ''}` : (report.image?.ref ?? ''),
    }).map(([k, v]) => `      <property name="${k}" value="${xmlEscape(v)}"/>`),
    '    </properties>',
  ];
  for (const f of failures) {
    out.push(
      `    <testcase classname="${xmlEscape(`${report.scenario}.run`)}" name="${xmlEscape(`${report.scenario} verified something`)}" time="${secs(report.durationMs)}">`,
      `      <failure message="${xmlEscape(f)}" type="run">${xmlEscape(f)}</failure>`,
      '    </testcase>',
    );
  }
  for (const st of steps) {
    out.push(
      `    <testcase classname="${xmlEscape(`${report.scenario}.steps`)}" name="${xmlEscape(`${st.section} ${st.title}`)}" time="${secs(st.durationMs)}">`,
    );
    if (st.status === 'fail')
      out.push(
        `      <failure message="${xmlEscape(st.failures.join('; ') || 'failed')}" type="step">${xmlEscape(st.commands.join('\n'))}</failure>`,
      );
    if (st.observed.length) out.push(`      <system-out>${xmlEscape(st.observed.join('\n'))}</system-out>`);
    out.push('    </testcase>');
  }
  for (const { platform, check, result, durationMs } of mine) {
    const time = check === 'run' ? secs(platform.durationMs) : secs(durationMs ?? 0);
    out.push(
      `    <testcase classname="${xmlEscape(`${prefix}.${platform.platform}`)}" name="${xmlEscape(`${platform.platform} ${check}`)}" time="${time}">`,
    );
    if (result.status === 'fail') {
      const type = platform.emulatorSuspect && check === 'run' ? 'emulator-suspect' : check.startsWith('test ') ? 'structure-test' : check;
      out.push(
        `      <failure message="${xmlEscape(result.message ?? 'failed')}" type="${type}">${xmlEscape(`mode: ${platform.mode}\nexpected: ${platform.expected}\noutput: ${platform.output}${platform.fix ? `\nfix: ${platform.fix}` : ''}`)}</failure>`,
      );
    } else if (result.status === 'skip') {
      out.push(`      <skipped message="${xmlEscape(result.message ?? 'skipped')}"/>`);
    }
    if (check === 'run' && platform.output) out.push(`      <system-out>${xmlEscape(platform.output)}</system-out>`);
    out.push('    </testcase>');
  }
  out.push('  </testsuite>');
  return out;
}
