/**
 * HTML: one self-contained file (no scripts, no external assets) with a matrix per scenario and a
 * per-platform timing chart (build and run time) drawn as inline SVG; in a bake's report, a heading,
 * a matrix and a chart per target.
 */
import { differsFrom, noteOf, rowName, shortPlatform, targetGroups, testMatrix } from './checks.ts';
import { xmlEscape as esc } from './junit.ts';
import { CHECK_NAMES, type PlatformResult, type SessionReport, type TargetResult } from '../result/index.ts';

const STYLE = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1f2328;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 4px}h3{font-size:14px;margin:16px 0 4px}p.meta{color:#59636e;margin:0 0 12px}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #d1d9e0;padding:4px 10px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.pass{background:#dafbe1;color:#116329;text-align:center}td.fail{background:#ffebe9;color:#a40e26;text-align:center;font-weight:600}
td.skip{background:#f6f8fa;color:#59636e;text-align:center}code{font-family:ui-monospace,monospace;font-size:12px}
ul.problems{color:#a40e26}svg text{font:12px system-ui,sans-serif;fill:#1f2328}.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}`;

function chart(rows: readonly PlatformResult[]): string {
  const max = Math.max(1, ...rows.map((p) => (p.buildMs ?? 0) + p.durationMs));
  const labelW = 130;
  const barW = 460;
  const rowH = 22;
  const h = rows.length * rowH + 10;
  const bars = rows.map((p, i) => {
    const y = i * rowH + 4;
    const b = ((p.buildMs ?? 0) / max) * barW;
    const run = (p.durationMs / max) * barW;
    const total = ((p.buildMs ?? 0) + p.durationMs) / 1000;
    return (
      `<text x="0" y="${y + 13}">${esc(p.platform)}</text>` +
      `<rect x="${labelW}" y="${y}" width="${b.toFixed(1)}" height="16" fill="#54aeff"><title>build ${((p.buildMs ?? 0) / 1000).toFixed(1)} s</title></rect>` +
      `<rect x="${(labelW + b).toFixed(1)}" y="${y}" width="${Math.max(run, 1).toFixed(1)}" height="16" fill="#fb8500"><title>run ${(p.durationMs / 1000).toFixed(1)} s</title></rect>` +
      `<text x="${(labelW + b + Math.max(run, 1) + 6).toFixed(1)}" y="${y + 13}">${total.toFixed(1)} s${p.mode === 'qemu' ? ' (qemu)' : ''}</text>`
    );
  });
  return (
    `<p class="legend">Time per platform<span style="background:#54aeff"></span>build<span style="background:#fb8500"></span>run</p>` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + barW + 120}" height="${h}" role="img" aria-label="time per platform">${bars.join('')}</svg>`
  );
}

/** "target <code>hello</code> <code>127.0.0.1:5000/mah-1/hello:latest@sha256:…</code>", or "(not built)". */
function targetTitle(t: TargetResult): string {
  const image = t.ref ? ` <code>${esc(t.ref)}${t.digest ? `@${esc(t.digest)}` : ''}</code>` : '';
  return `target <code>${esc(t.name)}</code>${image}${t.digest || !t.ref ? '' : ' (not built)'}`;
}

export function renderHtml(reports: readonly SessionReport[]): string {
  const sections = reports.map((r) => {
    const { passed, failed, skipped } = r.summary;
    const head = `<tr><th>platform</th><th>mode</th><th>result</th>${CHECK_NAMES.map((c) => `<th>${c}</th>`).join('')}<th>expected</th><th>output</th></tr>`;
    const rowOf = (p: PlatformResult): string => {
      const checks = p.checks;
      const mode = p.emulator
        ? `qemu<br><code>${esc(p.emulator.handler)} ${esc(p.emulator.flags)}${p.emulator.qemuVersion ? ` ${esc(p.emulator.qemuVersion)}` : ''}</code>`
        : esc(p.mode);
      return (
        `<tr><td><code>${esc(p.platform)}</code></td><td>${mode}</td><td class="${p.status}">${p.status.toUpperCase()}</td>` +
        CHECK_NAMES.map(
          (c) =>
            `<td class="${checks[c].status}" title="${esc(checks[c].message ?? '')}">${checks[c].status === 'pass' ? '✓' : checks[c].status === 'fail' ? '✗' : '–'}</td>`,
        ).join('') +
        `<td><code>${esc(p.expected)}</code></td><td><code>${esc(p.output.split('\n')[0] ?? '')}</code></td></tr>`
      );
    };
    // A bake's report: a heading, a table and a chart per target.
    const groups = targetGroups(r);
    const byTarget = groups.some((g) => g.target);
    const tables = groups.map(
      (g) =>
        `${g.target ? `<h3>${targetTitle(g.target)}</h3>` : ''}<table>${head}\n${g.platforms.map(rowOf).join('\n')}</table>` +
        (byTarget && g.platforms.length ? chart(g.platforms) : ''),
    );
    const problems = r.platforms
      .filter((p) => noteOf(p))
      .map(
        (p) =>
          `<li><code>${esc(rowName(p))}</code>: ${esc(noteOf(p)!)}${p.emulatorSuspect ? ' <strong>(emulator-suspect)</strong>' : ''}${p.fix ? `<br>fix: ${esc(p.fix)}` : ''}</li>`,
      );
    const steps = (r.steps ?? [])
      .map(
        (st) =>
          `<tr><td>${esc(st.section)}</td><td class="${st.status}">${st.status.toUpperCase()}</td><td>${esc(st.title)}` +
          `${st.commands.length ? `<br><code>${st.commands.map((c) => `$ ${esc(c)}`).join('<br>')}</code>` : ''}` +
          `${st.differences.map((d) => `<br><em>differs from ${esc(differsFrom(r))}:</em> ${esc(d)}`).join('')}` +
          `${st.failures.map((f) => `<br><strong>${esc(f)}</strong>`).join('')}</td></tr>`,
      )
      .join('\n');
    const stepsTable = steps ? `<table><tr><th>section</th><th>result</th><th>step</th></tr>\n${steps}</table>` : '';
    const tm = testMatrix(r);
    const testsTable = tm
      ? `<table><tr><th>test</th>${tm.platforms.map((p) => `<th><code>${esc(shortPlatform(p))}</code></th>`).join('')}</tr>\n` +
        tm.tests
          .map(
            (t) =>
              `<tr><td>${esc(t.name)} <em>(${t.kind})</em></td>${tm.platforms
                .map((p) => {
                  const c = tm.cell(t.name, p);
                  return c
                    ? `<td class="${c.status}" title="${esc(c.message ?? '')}">${c.status === 'pass' ? '✓' : c.status === 'fail' ? '✗' : '–'}</td>`
                    : '<td>–</td>';
                })
                .join('')}</tr>`,
          )
          .join('\n') +
        '</table>'
      : '';
    const failures = r.failures?.length
      ? `<ul class="problems">${r.failures.map((f) => `<li><strong>${esc(f)}</strong></li>`).join('')}</ul>`
      : '';
    const matrix = r.platforms.length
      ? `${tables.join('')}${testsTable}${problems.length ? `<ul class="problems">${problems.join('')}</ul>` : ''}${byTarget ? '' : chart(r.platforms)}`
      : '';
    return (
      `<section><h2>${esc(r.title)} <code>${esc(r.scenario)}</code></h2>` +
      `<p class="meta">${passed} passed, ${failed} failed, ${skipped} skipped in ${(r.durationMs / 1000).toFixed(1)} s &middot; engine ${esc(r.host.engine)} on ${esc(r.host.native)}, ${esc(r.host.imageStore)} image store${r.image ? ` &middot; <code>${esc(r.image.ref)}</code>` : ''}</p>` +
      `${failures}${stepsTable}${matrix}</section>`
    );
  });
  const failed = reports.reduce((n, r) => n + r.summary.failed, 0);
  return (
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>multiarch-harness report</title><style>${STYLE}</style></head>` +
    `<body><h1>multiarch-harness ${failed ? '&#10007; failures' : '&#10003; all platforms passed'}</h1>` +
    `<p class="meta">${reports.length} scenario(s), generated ${esc(new Date().toISOString())}</p>${sections.join('\n')}</body></html>\n`
  );
}
