/**
 * Markdown: a matrix per scenario (per target, under its heading, in a bake's report), for a pull
 * request comment or GitHub's step summary.
 */
import { noteOf, rowName, shortPlatform, targetGroups, testMatrix } from './checks.ts';
import { CHECK_NAMES, type SessionReport, type TargetResult } from '../result/index.ts';

const ICON = { pass: '✅', fail: '❌', skip: '⏭️' } as const;

/** Text for one Markdown table cell or list item: pipes escaped, one line, at most max characters. */
export function markdownCell(s: string, max = Infinity): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ').slice(0, max);
}

const cell = (s: string) => markdownCell(s, 200);

/** "target `hello`: `127.0.0.1:5000/mah-1/hello:latest` (`sha256:…`)", or "(not built)". */
function targetTitle(t: TargetResult): string {
  const image = t.ref ? `: \`${t.ref}\`` : '';
  return `target \`${markdownCell(t.name)}\`${image}${t.digest ? ` (\`${t.digest}\`)` : t.ref ? ' (not built)' : ''}`;
}

export function renderMarkdown(reports: readonly SessionReport[]): string {
  const out: string[] = [];
  for (const r of reports) {
    const { passed, failed, skipped } = r.summary;
    out.push(`### ${failed ? '❌' : '✅'} ${cell(r.title)} (\`${r.scenario}\`)`, '');
    out.push(
      `${passed} passed, ${failed} failed, ${skipped} skipped on engine ${r.host.engine} (${r.host.native}, ${r.host.imageStore} store)${r.image ? `; image \`${r.image.ref}\`` : ''}`,
      '',
    );
    if (r.failures?.length) out.push(...r.failures.map((f) => `- ${ICON.fail} **${cell(f)}**`), '');
    for (const st of r.steps ?? []) {
      out.push(
        `- ${ICON[st.status]} **${cell(st.section)}** ${cell(st.title)}${st.failures.length ? `: ${cell(st.failures.join('; '))}` : ''}`,
      );
    }
    if (r.steps?.length) out.push('');
    if (r.platforms.length === 0) continue;
    const byNode = new Set(r.platforms.map((p) => p.node ?? 'default')).size > 1;
    const head = [
      `| platform | mode |${byNode ? ' node |' : ''} ${CHECK_NAMES.join(' | ')} | output |`,
      `|---|---|${byNode ? '---|' : ''}${CHECK_NAMES.map(() => ':-:').join('|')}|---|`,
    ];
    // A bake's report: a heading and a table per target.
    for (const [i, g] of targetGroups(r).entries()) {
      if (g.target) out.push(...(i ? [''] : []), `#### ${targetTitle(g.target)}`, '');
      out.push(...head);
      for (const p of g.platforms) {
        const checks = p.checks;
        out.push(
          `| \`${p.platform}\` | ${p.mode}${p.emulator?.qemuVersion ? ` (QEMU ${p.emulator.qemuVersion})` : ''} |${byNode ? ` ${cell(p.node ?? 'default')} |` : ''} ${CHECK_NAMES.map((c) => ICON[checks[c].status]).join(' | ')} | ${cell(p.output.split('\n')[0] ?? '')} |`,
        );
      }
    }
    const tests = testMatrix(r);
    if (tests) {
      out.push(
        '',
        `| test | ${tests.platforms.map((p) => `\`${shortPlatform(p)}\``).join(' | ')} |`,
        `|---|${tests.platforms.map(() => ':-:').join('|')}|`,
      );
      for (const t of tests.tests)
        out.push(
          `| ${cell(t.name)} (${t.kind}) | ${tests.platforms
            .map((p) => {
              const c = tests.cell(t.name, p);
              return c ? ICON[c.status] : '–';
            })
            .join(' | ')} |`,
        );
    }
    const problems = r.platforms.filter((p) => noteOf(p));
    if (problems.length) {
      out.push('');
      for (const p of problems)
        out.push(
          `- \`${rowName(p)}\`: ${cell(noteOf(p)!)}${p.emulatorSuspect ? ' **(emulator-suspect)**' : ''}${p.fix ? ` Fix: ${cell(p.fix)}` : ''}`,
        );
    }
    out.push('');
  }
  return out.join('\n');
}
