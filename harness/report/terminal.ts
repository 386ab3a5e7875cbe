/**
 * The terminal matrix: one row per platform, one column per check, readable at a glance.
 */
import { noteOf } from './checks.ts';
import type { CheckResult, RunReport } from '../result/model.ts';

const MARK = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' } as const;
const CHECK_MARK = { pass: 'ok', fail: 'FAIL', skip: '-' } as const;

function seconds(ms: number | undefined): string {
  return ms === undefined ? '-' : `${(ms / 1000).toFixed(1)}s`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

function mark(c: CheckResult | undefined): string {
  return c ? CHECK_MARK[c.status] : '-';
}

function renderSteps(report: RunReport): string[] {
  const lines: string[] = [];
  for (const st of report.steps ?? []) {
    lines.push(`${st.status === 'pass' ? 'PASS' : 'FAIL'}  ${st.section.padEnd(6)} ${st.title} (${seconds(st.durationMs)})`);
    for (const c of st.commands) lines.push(`        $ ${c.length > 150 ? `${c.slice(0, 147)}...` : c}`);
    for (const o of st.observed) lines.push(`        = ${o}`);
    for (const d of st.differences) lines.push(`        ~ differs from the article: ${d}`);
    for (const f of st.failures) lines.push(`        ! ${f}`);
  }
  return lines;
}

export function renderTerminal(report: RunReport): string {
  const rows = [['PLATFORM', 'MODE', 'RESULT', 'INDEX', 'CONFIG', 'BINARY', 'RUN', 'BUILD', 'TIME', 'GOT']];
  for (const p of report.platforms) {
    const mode = p.emulator ? `qemu (${p.emulator.handler}${p.emulator.qemuVersion ? ` ${p.emulator.qemuVersion}` : ''})` : p.mode;
    const c = p.checks;
    rows.push([p.platform, mode, `${MARK[p.status]}${p.knownIssues ? '*' : ''}`, mark(c?.index), mark(c?.config), mark(c?.binary), mark(c?.run),
      seconds(p.buildMs), seconds(p.durationMs), p.output.split('\n')[0] ?? '']);
  }
  const lines = [
    `${report.title} [${report.scenario}]${report.article ? ` (article ${report.article})` : ''}`,
    `engine ${report.host.engine} on ${report.host.native}, ${report.host.imageStore} image store, buildx ${report.host.buildx ?? 'none'}`,
    '',
    ...(report.steps?.length ? [...renderSteps(report), ''] : []),
    ...(report.platforms.length ? [table(rows)] : []),
  ];
  const problems = report.platforms.filter((p) => noteOf(p));
  const known = report.platforms.filter((p) => p.knownIssues);
  if (known.length) {
    lines.push('');
    for (const p of known) for (const k of p.knownIssues!) lines.push(`${p.platform}: * known issue, accepted by the scenario: ${k}`);
  }
  if (problems.length) {
    lines.push('');
    for (const p of problems) {
      lines.push(`${p.platform}: ${noteOf(p)}${p.emulatorSuspect ? ' [emulator-suspect]' : ''}`);
      if (p.fix) lines.push(`  fix: ${p.fix}`);
    }
  }
  const { passed, failed, skipped } = report.summary;
  lines.push('', `${passed} passed, ${failed} failed, ${skipped} skipped in ${seconds(report.durationMs)}`);
  return lines.join('\n');
}
