/**
 * The demo's Markdown report, in the order of the reference article: for each of its sections,
 * the commands run here, what the article showed, what happened here, pass or fail, and where
 * and why this engine differs. A section no scenario covers is listed as not reproduced.
 */
import type { SessionReport } from 'multiarch-harness';

/** The article's sections that show a command or an output (and 1.4.2, which it only describes), with their titles. */
export const ARTICLE_SECTIONS: ReadonlyArray<[string, string]> = [
  ['1.2', '安装 (install): docker buildx version'],
  ['1.4.1', '在内核中使用 QEMU 仿真支持 (QEMU in the kernel): tonistiigi/binfmt --install all'],
  [
    '1.4.2',
    '使用相同的构建器实例在多个本机节点上构建 (one builder, a native node per platform): described only; reproduced with a node per engine',
  ],
  ['1.5', '创建 builder (create a builder): buildx ls, buildx create'],
  ['1.6', '启动 builder (start it): buildx inspect --bootstrap'],
  ['1.7', '使用 builder 构建跨平台镜像 (build with the builder): buildx build --platform, --load, --push, imagetools inspect, run'],
  ['1.8', '使用交叉编译 (cross-compilation): FROM --platform=$BUILDPLATFORM'],
  ['1.9', '平台相关的全局变量 (the platform ARGs)'],
  ['1.10', '删除 builder (remove the builder): buildx rm'],
  ['1.11', '功能清单 (buildx --help)'],
  ['2.5', "构建 arm64 平台镜像 (build the host platform's image)"],
  ['2.6', '构建 amd64 平台镜像 (build another platform with --platform)'],
  ['2.7', '使用 manifest 合并多平台镜像 (docker manifest create, push)'],
  ['2.8', 'manifest 功能清单 (docker manifest --help)'],
  ['2.9', 'create'],
  ['2.10', 'push'],
  ['2.11', 'inspect'],
  ['2.12', 'annotate'],
  ['2.13', 'rm'],
];

/** Which article sections a report covers: its steps' sections, or the part of the article its scenario names. */
function sectionsOf(r: SessionReport): string[] {
  if (r.steps?.length) return [...new Set(r.steps.map((s) => s.section))];
  return r.reference?.part ? r.reference.part.split(/,\s*/) : [];
}

/** Text for a Markdown table cell or list item: no pipe ends a cell, no newline ends the line. */
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export interface DemoSummary {
  /** Sum of QEMU build times over the sum of cross-compiled build times, same emulated platforms. */
  qemuToCross?: { ratio: number; qemuMs: number; crossMs: number; platforms: string[]; shared: string[] };
  /** Scenarios the demo did not run, and why (a privileged one nobody allowed). */
  notRun?: Array<{ sections: string[]; why: string }>;
}

/**
 * A platform whose cross-compiled build took under a second did not compile: its step was identical
 * to another platform's (the article's recipe builds arm/v6 and arm/v7 alike, with no GOARM), and
 * BuildKit ran it once under the other's name. Such platforms are left out of the ratio.
 */
const SHARED_STEP_MS = 1000;

export function qemuToCrossRatio(
  reports: readonly SessionReport[],
  qemuScenario: string,
  crossScenario: string,
): DemoSummary['qemuToCross'] {
  const q = reports.find((r) => r.scenario === qemuScenario);
  const c = reports.find((r) => r.scenario === crossScenario);
  if (!q || !c) return undefined;
  const emulated = q.platforms.filter((p) => p.mode === 'qemu' && p.buildMs).map((p) => p.platform);
  const crossMs = (platform: string) => c.platforms.find((x) => x.platform === platform)?.buildMs;
  const both = emulated.filter((p) => crossMs(p) !== undefined);
  const shared = both.filter((p) => crossMs(p)! < SHARED_STEP_MS);
  const platforms = both.filter((p) => !shared.includes(p));
  if (platforms.length === 0) return undefined;
  const sum = (r: SessionReport) => r.platforms.filter((p) => platforms.includes(p.platform)).reduce((n, p) => n + (p.buildMs ?? 0), 0);
  const [qemu, cross] = [sum(q), sum(c)];
  return { ratio: qemu / cross, qemuMs: qemu, crossMs: cross, platforms, shared };
}

export function renderArticleReport(reports: readonly SessionReport[], summary: DemoSummary): string {
  const out = [
    '# The article, reproduced',
    '',
    'Reference: "Docker buildx 构建跨平台镜像" (docker buildx and docker manifest). Every section that shows a command or its output, in the article\'s order: the commands run here, what the article showed, what happened here, and where this engine differs and why.',
    '',
  ];
  const host = reports[0]?.host;
  if (host)
    out.push(
      `Engine ${host.engine} on ${host.native} (kernel ${host.kernel}), ${host.imageStore} image store, buildx ${host.buildx ?? 'none'}. The article used Docker Desktop 4.15 (engine 20.10.21) on an Apple M2.`,
      '',
    );
  if (summary.qemuToCross) {
    const { ratio, qemuMs, crossMs, platforms, shared } = summary.qemuToCross;
    out.push(
      `**Build time, QEMU emulation vs cross-compilation** (the Go sample, cold, same ${platforms.length} emulated platforms ${platforms.join(', ')}): ${(qemuMs / 1000).toFixed(1)} s vs ${(crossMs / 1000).toFixed(1)} s, a ratio of **${ratio.toFixed(1)}x**. Times are per-platform BuildKit step time from the rawjson progress stream of one multi-platform build each (platforms build concurrently on 2 cores).${shared.length ? ` Left out: ${shared.join(', ')}, whose cross-compile step was identical to another platform's, so BuildKit ran it once under the other's name.` : ''}`,
      '',
    );
  }
  for (const [section, title] of ARTICLE_SECTIONS) {
    const covering = reports.filter(
      (r) => sectionsOf(r).includes(section) || sectionsOf(r).some((s) => s.includes('-') && inRange(section, s)),
    );
    out.push(`## ${section} ${title}`, '');
    if (covering.length === 0) {
      const why = summary.notRun?.find((n) => n.sections.includes(section))?.why;
      out.push(why ? `**NOT RUN**: ${cell(why)}` : '**NOT REPRODUCED** here yet.', '');
      continue;
    }
    for (const r of covering) {
      const steps = (r.steps ?? []).filter((s) => s.section === section);
      if (steps.length) {
        for (const st of steps) {
          out.push(`### ${st.status === 'pass' ? '✅ PASS' : '❌ FAIL'}: ${cell(st.title)} (\`${r.scenario}\`)`, '');
          if (st.commands.length) out.push('```sh', ...st.commands.map((c) => `$ ${c}`), '```');
          if (st.reference) out.push(`- The article showed: ${cell(st.reference)}`);
          for (const o of st.observed) out.push(`- Here: ${cell(o)}`);
          for (const d of st.differences) out.push(`- **Differs from the article:** ${cell(d)}`);
          for (const f of st.failures) out.push(`- **Failed:** ${cell(f)}`);
          out.push('');
        }
      } else {
        const failed = r.summary.failed > 0;
        out.push(`### ${failed ? '❌ FAIL' : '✅ PASS'}: ${cell(r.title)} (\`${r.scenario}\`)`, '');
        if (r.image)
          out.push(
            '```sh',
            `$ docker buildx build --platform ${r.platforms.map((p) => p.platform).join(',')} -t ${r.image.ref} --push .`,
            ...r.platforms.map(
              (p) => `$ docker run --rm --platform ${p.platform} ${r.image!.ref.replace(/:[^:/]+$/, '')}@${p.digest ?? '?'}`,
            ),
            '```',
          );
        out.push('', '| platform | mode | checks | build | output |', '|---|---|---|---|---|');
        for (const p of r.platforms) {
          const checks = p.checks
            ? Object.entries(p.checks)
                .map(([k, c]) => `${k} ${c.status === 'pass' ? '✓' : c.status === 'fail' ? '✗' : '–'}`)
                .join(' ')
            : p.status;
          out.push(
            `| \`${p.platform}\` | ${p.mode} | ${checks} | ${p.buildMs !== undefined ? `${(p.buildMs / 1000).toFixed(1)} s` : '-'} | ${cell(p.output.split('\n')[0] ?? '')} |`,
          );
        }
        out.push('');
        for (const p of r.platforms.filter((x) => x.knownIssues))
          for (const k of p.knownIssues!) out.push(`- **Differs from the article:** \`${p.platform}\`: ${cell(k)}`);
        for (const p of r.platforms.filter((x) => x.message)) {
          const what =
            p.status === 'xfail'
              ? 'Expected failure (XFAIL)'
              : p.status === 'xpass'
                ? 'Unexpected pass (XPASS)'
                : p.status === 'skip'
                  ? 'Skipped'
                  : 'Failed';
          out.push(`- **${what}:** \`${p.platform}\`: ${cell(p.message!)}`);
        }
        for (const f of r.failures ?? []) out.push(`- **Failed:** ${cell(f)}`);
        for (const n of r.notes) out.push(`- Note: ${cell(n)}`);
        out.push('');
      }
    }
  }
  return out.join('\n');
}

function inRange(section: string, range: string): boolean {
  const [a, b] = range.split('-');
  const key = (s: string) =>
    s
      .split('.')
      .map((n) => n.padStart(3, '0'))
      .join('.');
  return key(section) >= key(a!) && key(section) <= key(b!);
}
