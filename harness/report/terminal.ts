/**
 * The terminal matrix: one row per platform, one column per check, readable at a glance; in a
 * bake's report, the rows of each target under a heading that names it and its image. Pure: with
 * `color` (off unless asked for; the CLI decides per stream, see cli/output.ts) PASS, FAIL and SKIP
 * are coloured with picocolors' escape codes.
 */
import pc from 'picocolors';
import { differsFrom, noteOf, rowName, shortPlatform, targetGroups, targetHeading, testMatrix } from './checks.ts';
import type { CheckResult, SessionReport } from '../result/index.ts';

export interface TerminalOptions {
  /** ANSI colour for PASS/FAIL/SKIP and the check marks; default false. */
  color?: boolean;
}

type Paint = (s: string) => string;

const MARK = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP', xfail: 'XFAIL', xpass: 'XPASS' } as const;
const CHECK_MARK = { pass: 'ok', fail: 'FAIL', skip: '-' } as const;

function seconds(ms: number | undefined): string {
  return ms === undefined ? '-' : `${(ms / 1000).toFixed(1)}s`;
}

/** Columns padded to the widest cell; `paint` colours a cell's text after its width is measured. */
function table(rows: string[][], paint: (text: string, row: number, col: number) => string): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r, ri) =>
      r
        .map((c, i) => `${paint(c, ri, i)}${' '.repeat(widths[i]! - c.length)}`)
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

interface Palette {
  /** A mark in its colour (a known issue's "*" keeps its mark's colour). */
  (mark: string): string;
  /** Any text in the colour of a mark. */
  as(mark: string, text: string): string;
}

function palette(color: boolean): Palette {
  const c = pc.createColors(color);
  const by: Record<string, Paint> = {
    PASS: c.green,
    ok: c.green,
    FAIL: (s) => c.bold(c.red(s)),
    SKIP: c.yellow,
    XFAIL: c.yellow,
    XPASS: c.magenta,
    '-': c.dim,
  };
  const as = (mark: string, text: string) => (by[mark.replace(/\*$/, '')] ?? String)(text);
  return Object.assign((mark: string) => as(mark, mark), { as });
}

function mark(c: CheckResult | undefined): string {
  return c ? CHECK_MARK[c.status] : '-';
}

function renderSteps(report: SessionReport, paint: Palette): string[] {
  const lines: string[] = [];
  for (const st of report.steps ?? []) {
    lines.push(`${paint(st.status === 'pass' ? 'PASS' : 'FAIL')}  ${st.section.padEnd(6)} ${st.title} (${seconds(st.durationMs)})`);
    for (const c of st.commands) lines.push(`        $ ${c.length > 150 ? `${c.slice(0, 147)}...` : c}`);
    for (const o of st.observed) lines.push(`        = ${o}`);
    for (const d of st.differences) lines.push(`        ~ differs from ${differsFrom(report)}: ${d}`);
    for (const f of st.failures) lines.push(`        ! ${f}`);
  }
  return lines;
}

/** Columns of the matrix that hold a mark: RESULT and the four checks. */
const MARK_COLUMNS = new Set([2, 3, 4, 5, 6]);

export function renderTerminal(report: SessionReport, options: TerminalOptions = {}): string {
  const paint = palette(Boolean(options.color));
  // With platforms placed on several engines (--node), a column says which engine ran each.
  const nodes = new Set(report.platforms.map((p) => p.node ?? 'default'));
  const byNode = nodes.size > 1;
  const groups = targetGroups(report);
  const rows = [['PLATFORM', 'MODE', 'RESULT', 'INDEX', 'CONFIG', 'BINARY', 'RUN', 'BUILD', 'TIME', ...(byNode ? ['NODE'] : []), 'GOT']];
  for (const p of groups.flatMap((g) => g.platforms)) {
    const mode = p.emulator ? `qemu (${p.emulator.handler}${p.emulator.qemuVersion ? ` ${p.emulator.qemuVersion}` : ''})` : p.mode;
    const c = p.checks;
    rows.push([
      p.platform,
      mode,
      `${MARK[p.status]}${p.knownIssues ? '*' : ''}`,
      mark(c?.index),
      mark(c?.config),
      mark(c?.binary),
      mark(c?.run),
      seconds(p.buildMs),
      seconds(p.durationMs),
      ...(byNode ? [`${p.node ?? 'default'}${p.builtOn ? ` (built on ${p.builtOn})` : ''}`] : []),
      p.output.split('\n')[0] ?? '',
    ]);
  }
  // One table, so the columns line up; a bake's report gives each target a heading and the table's header.
  const [header, ...body] = table(rows, (text, row, col) => (row > 0 && MARK_COLUMNS.has(col) ? paint(text) : text)).split('\n');
  const matrix: string[] = [];
  for (const g of groups) {
    const mine = body.splice(0, g.platforms.length);
    if (g.target) matrix.push(...(matrix.length ? [''] : []), targetHeading(g.target), header!, ...mine);
    else if (mine.length) matrix.push(header!, ...mine);
  }
  const lines = [
    `${report.title} [${report.scenario}]${report.reference ? ` (${[report.reference.name, report.reference.part].filter(Boolean).join(' ')})` : ''}`,
    `engine ${report.host.engine} on ${report.host.native}, ${report.host.imageStore} image store, buildx ${report.host.buildx ?? 'none'}${report.registryImage ? `, registry ${report.registryImage}` : ''}`,
    '',
    ...(report.steps?.length ? [...renderSteps(report, paint), ''] : []),
    ...matrix,
  ];
  const tests = testMatrix(report);
  if (tests) {
    // The container-structure-test file: a row per test, a column per platform.
    const trows = [['TEST', 'KIND', ...tests.platforms.map(shortPlatform)]];
    for (const t of tests.tests) trows.push([t.name, t.kind, ...tests.platforms.map((p) => mark(tests.cell(t.name, p)))]);
    lines.push(
      '',
      table(trows, (text, row, col) => (row > 0 && col > 1 ? paint(text) : text)),
    );
  }
  const problems = report.platforms.filter((p) => noteOf(p));
  const known = report.platforms.filter((p) => p.knownIssues);
  if (known.length) {
    lines.push('');
    for (const p of known) for (const k of p.knownIssues!) lines.push(`${rowName(p)}: * known issue, accepted by the scenario: ${k}`);
  }
  if (problems.length) {
    lines.push('');
    for (const p of problems) {
      lines.push(`${rowName(p)}: ${noteOf(p)}${p.emulatorSuspect ? ' [emulator-suspect]' : ''}`);
      if (p.fix) lines.push(`  fix: ${p.fix}`);
    }
  }
  // What failed the run as a whole (it verified nothing): said last, above the counts.
  if (report.failures?.length) lines.push('', ...report.failures.map((f) => `${paint('FAIL')}  ${f}`));
  const { passed, failed, skipped } = report.summary;
  const count = (n: number, what: string, mark: string) => (n ? paint.as(mark, `${n} ${what}`) : `${n} ${what}`);
  const expected = `${report.summary.xfailed ? `, ${count(report.summary.xfailed, 'xfailed', 'XFAIL')}` : ''}${report.summary.xpassed ? `, ${count(report.summary.xpassed, 'xpassed', 'XPASS')}` : ''}`;
  lines.push(
    '',
    `${count(passed, 'passed', 'PASS')}, ${count(failed, 'failed', 'FAIL')}, ${count(skipped, 'skipped', 'SKIP')}${expected} in ${seconds(report.durationMs)}`,
  );
  return lines.join('\n');
}
