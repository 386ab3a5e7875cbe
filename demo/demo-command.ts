/**
 * The demo: every scenario of the reference article, in its order, and reports/demo-article.md,
 * the article section by section as reproduced here. It belongs to this repository, not to the
 * library, and uses the package only through its public API, as any user's program would
 * (main.ts is its command line).
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  checkReportDestinations,
  EnvironmentError,
  loadScenario,
  printProgress,
  privilegedRefusal,
  publishReports,
  runScenario,
  stdoutReporter,
  type ReporterSpec,
  type SessionReport,
} from 'multiarch-harness';
import { qemuToCrossRatio, renderArticleReport, type DemoSummary } from './article-report.ts';

/**
 * The article's scenarios, at the package's root: beside demo/ in a checkout, while this module runs
 * from dist/demo/ once built (in the repository or installed from the package).
 */
const SCENARIO_DIR = fileURLToPath(new URL('scenarios/', import.meta.resolve('multiarch-harness/package.json')));
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

export interface DemoOptions {
  /** The reports to write besides the JSON report (reports/demo.json unless one is asked for) and the article's. */
  reporters: ReporterSpec[];
  /** Let BuildKit use its cache (builds are cold otherwise, for honest timings). */
  cached: boolean;
  allowPrivileged: boolean;
  quiet: boolean;
}

/** Runs the demo; its exit code (0 every scenario passed, 1 otherwise). */
export async function runDemo(options: DemoOptions): Promise<number> {
  const specs = [...options.reporters];
  if (!specs.some((s) => s.name === 'json')) specs.push({ name: 'json', file: 'reports/demo.json' });
  await checkReportDestinations([...specs, { name: 'markdown', file: 'reports/demo-article.md' }], 'demo');
  const files = new Set(await readdir(SCENARIO_DIR));
  const reports: SessionReport[] = [];
  const notRun: NonNullable<DemoSummary['notRun']> = [];
  for (const name of DEMO_ORDER) {
    if (!files.has(`${name}.ts`)) throw new EnvironmentError(`the demo scenario ${name}.ts is missing from ${SCENARIO_DIR}.`);
    const scenario = await loadScenario(join(SCENARIO_DIR, `${name}.ts`));
    if (scenario.kind === 'steps' && scenario.privileged && !options.allowPrivileged) {
      notRun.push({ sections: scenario.reference?.part?.split(/,\s*/) ?? [], why: privilegedRefusal(scenario) });
      printProgress(name)(`not run: ${privilegedRefusal(scenario)}`);
      continue;
    }
    reports.push(
      await runScenario(scenario, {
        noCache: !options.cached,
        allowPrivileged: options.allowPrivileged,
        ...(options.quiet ? {} : { onProgress: printProgress(name) }),
      }),
    );
  }
  const code = await publishReports(reports, specs, 'demo', false, options.quiet);
  const summary: DemoSummary = {
    notRun,
    ...(options.cached ? {} : { qemuToCross: qemuToCrossRatio(reports, 'hello-go-qemu', 'hello-go-cross') }),
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
