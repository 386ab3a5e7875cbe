/**
 * `multiarch-harness demo`: every scenario of the reference article, in its order, and
 * reports/demo-article.md, the article section by section as reproduced here. The demo belongs to
 * this repository, not to the library: the CLI loads this module only for the demo command.
 */
import { checkReportDestinations, stdoutReporter } from '../harness/report/write.ts';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { COMMON, parse, reporters } from '../harness/cli/args.ts';
import { printAndWriteReports } from '../harness/cli/output.ts';
import { progressPrinter } from '../harness/cli/progress.ts';
import { packageRoot } from '../harness/cli/version.ts';
import { EnvironmentError } from '../harness/errors.ts';
import type { SessionReport } from '../harness/result/model.ts';
import { loadScenario, privilegedRefusal } from '../harness/scenario/define.ts';
import { runScenario } from '../harness/scenario/run-scenario.ts';
import { qemuToCrossRatio, renderArticleReport, type DemoSummary } from './article-report.ts';

/**
 * The article's scenarios, at the package's root: beside demo/ in a checkout, while this module runs
 * from dist/demo/ once built (in the repository or installed from the package).
 */
const SCENARIO_DIR = join(packageRoot(import.meta.url), 'scenarios');
/** The article's order. */
export const DEMO_ORDER = [
  'buildx-basics',
  'binfmt-install',
  'builder-nodes',
  'builder-lifecycle',
  'hello-go-qemu',
  'hello-go-cross',
  'hello-go-cross-scratch',
  'platform-args',
  'manifest-path',
  'manifest-commands',
];

export async function demoCommand(args: string[]): Promise<number> {
  const { values } = parse(args, {
    reporter: COMMON.reporter,
    json: COMMON.json,
    quiet: COMMON.quiet,
    cached: { type: 'boolean' },
    'allow-privileged': { type: 'boolean' },
  });
  const specs = reporters(values);
  if (!specs.some((s) => s.name === 'json')) specs.push({ name: 'json', file: 'reports/demo.json' });
  await checkReportDestinations([...specs, { name: 'markdown', file: 'reports/demo-article.md' }], 'demo');
  const files = new Set(await readdir(SCENARIO_DIR));
  const reports: SessionReport[] = [];
  const notRun: NonNullable<DemoSummary['notRun']> = [];
  for (const name of DEMO_ORDER) {
    if (!files.has(`${name}.ts`)) throw new EnvironmentError(`the demo scenario ${name}.ts is missing from ${SCENARIO_DIR}.`);
    const scenario = await loadScenario(join(SCENARIO_DIR, `${name}.ts`));
    if (scenario.kind === 'steps' && scenario.privileged && !values['allow-privileged']) {
      notRun.push({ sections: scenario.article?.split(/,\s*/) ?? [], why: privilegedRefusal(scenario) });
      progressPrinter(name)(`not run: ${privilegedRefusal(scenario)}`);
      continue;
    }
    reports.push(
      await runScenario(scenario, {
        noCache: !values.cached,
        allowPrivileged: Boolean(values['allow-privileged']),
        ...(values.quiet ? {} : { onProgress: progressPrinter(name) }),
      }),
    );
  }
  const code = await printAndWriteReports(reports, specs, 'demo', false, Boolean(values.quiet));
  const summary: DemoSummary = {
    notRun,
    ...(values.cached ? {} : { qemuToCross: qemuToCrossRatio(reports, 'hello-go-qemu', 'hello-go-cross') }),
  };
  const article = 'reports/demo-article.md';
  await mkdir(dirname(article), { recursive: true });
  await writeFile(article, renderArticleReport(reports, summary));
  const failed = reports.reduce((n, r) => n + r.summary.failed, 0);
  const ratio = summary.qemuToCross;
  // With a report on stdout (--reporter json=-), stdout carries nothing else.
  const say = stdoutReporter(specs) ? console.error : console.log;
  if (ratio)
    say(
      `build time, QEMU vs cross-compilation (${ratio.platforms.join(', ')}): ${(ratio.qemuMs / 1000).toFixed(1)} s vs ${(ratio.crossMs / 1000).toFixed(1)} s = ${ratio.ratio.toFixed(1)}x`,
    );
  say(
    `demo: ${reports.length} scenarios, ${failed === 0 ? 'all passed' : `${failed} failure(s)`}; the article, section by section: ${article}`,
  );
  return code;
}
