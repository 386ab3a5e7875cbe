/**
 * The command line: run a scenario, verify an image, run the demo, or ask what the host can do.
 * Exit codes: 0 every platform passed, 1 a check failed, 2 usage or environment error.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { findClassicEngine } from './classic-engine.ts';
import { describeClassicEngine, diagnose, renderDoctor } from './doctor.ts';
import { DockerError } from './docker.ts';
import { EnvironmentError, UsageError } from './errors.ts';
import type { Expectation } from './expectations.ts';
import { probeHost } from './host-probe.ts';
import { parseImageRef } from './image-ref.ts';
import { classify } from './execution-mode.ts';
import { formatPlatform, KNOWN_PLATFORMS, parsePlatformList, PlatformError } from './platform.ts';
import { qemuToCrossRatio, renderArticleReport, type DemoSummary } from './report/article.ts';
import { renderTerminal } from './report/terminal.ts';
import type { RunReport } from './report/types.ts';
import { parseReporter, writeReports, type ReporterSpec } from './report/write.ts';
import { activeRuns, runScenario, type RunOptions } from './runner.ts';
import { loadScenario, privilegedRefusal, type VerifyScenario } from './scenario.ts';

const USAGE = `usage:
  multiarch-harness run <scenario.ts> [--platforms a,b] [--reporter R[=FILE]]... [--allow-skip] [--builder NAME]
                         [--allow-privileged]   (scenarios that run privileged containers run only with it)
                         [--keep-going]   when one platform's build fails, build and verify the others without it
                         [--no-cache]     build every step again (BuildKit's cache would hide how it builds here)
  multiarch-harness verify <image-ref> [--platforms a,b] [--expect-output TEMPLATE | --expect-uname]
                           [--reporter R[=FILE]]... [--allow-skip] [--ca-file PEM] [--command ARG]...
  multiarch-harness demo [--reporter R[=FILE]]... [--cached] [--allow-privileged]   every scenario of the article,
                           in its order, and reports/demo-article.md (builds are cold unless --cached, for honest
                           timings; 1.4.1 runs tonistiigi/binfmt privileged, so only with --allow-privileged)
  multiarch-harness doctor [--brief] [--json] [--fresh] [--require all|a,b]   how this host runs each platform, as
                           observed by running a program of each; --require: exit 2 unless these run
  multiarch-harness report <report.json>... --reporter R[=FILE]...   re-render saved JSON reports
reporters: terminal (default, stdout), json, junit, markdown (appended to $GITHUB_STEP_SUMMARY when set), html
templates: {os} {arch} {variant} {platform} {goarch}`;

const SCENARIO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../scenarios');
/** The article's order. */
const DEMO_ORDER = ['buildx-basics', 'binfmt-install', 'builder-lifecycle', 'hello-go-qemu', 'hello-go-cross', 'hello-go-cross-scratch', 'platform-args', 'manifest-path', 'manifest-commands'];

export async function main(argv: string[]): Promise<number> {
  installSignalHandlers();
  try {
    const [command, ...rest] = argv;
    switch (command) {
      case 'run':
        return await runCommand(rest);
      case 'verify':
        return await verifyCommand(rest);
      case 'demo':
        return await demoCommand(rest);
      case 'doctor':
        return await doctorCommand(rest);
      case 'report':
        return await reportCommand(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`"${command}" is not a command.\n${USAGE}`);
    }
  } catch (err) {
    console.error(`multiarch-harness: ${oneSentence(err)}`);
    return 2;
  }
}

function oneSentence(err: unknown): string {
  if (err instanceof UsageError || err instanceof EnvironmentError || err instanceof PlatformError || err instanceof DockerError) return err.message;
  const message = err instanceof Error ? err.message : String(err);
  return `internal error: ${message.split('\n')[0]} (set MULTIARCH_DEBUG=1 for details)${process.env.MULTIARCH_DEBUG ? `\n${(err as Error).stack}` : ''}`;
}

function parse<O extends NonNullable<Parameters<typeof parseArgs>[0]>['options']>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${USAGE}`);
  }
}

const COMMON = {
  platforms: { type: 'string' },
  reporter: { type: 'string', multiple: true },
  json: { type: 'string' },
  'allow-skip': { type: 'boolean' },
  quiet: { type: 'boolean' },
} as const;

function reporters(values: { reporter?: string[] | undefined; json?: string | undefined }): ReporterSpec[] {
  const specs = (values.reporter ?? []).map(parseReporter);
  if (values.json) specs.push({ name: 'json', file: values.json });
  return specs;
}

function runOptions(values: { platforms?: string | undefined; 'allow-skip'?: boolean | undefined; quiet?: boolean | undefined }, name: string): RunOptions {
  const platforms = values.platforms ? parsePlatformList(values.platforms) : undefined;
  return {
    ...(platforms ? { platforms } : {}),
    allowSkip: Boolean(values['allow-skip']),
    ...(values.quiet ? {} : { onProgress: (m: string) => console.error(`[${name}] ${m}`) }),
  };
}

async function finish(reports: RunReport[], specs: ReporterSpec[], base: string, single: boolean, quiet = false): Promise<number> {
  for (const r of reports) console.log(`${renderTerminal(r)}\n`);
  const files = await writeReports(reports, specs, base, single);
  if (files.length && !quiet) console.error(`reports: ${files.join(', ')}`);
  return reports.some((r) => r.summary.failed > 0) ? 1 : 0;
}

async function runCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...COMMON, builder: { type: 'string' }, 'allow-privileged': { type: 'boolean' }, 'keep-going': { type: 'boolean' }, 'no-cache': { type: 'boolean' } });
  if (positionals.length !== 1) throw new UsageError(`run takes one scenario file.\n${USAGE}`);
  const specs = reporters(values);
  const scenario = await loadScenario(positionals[0]!);
  const report = await runScenario(scenario, {
    ...runOptions(values, scenario.name), allowPrivileged: Boolean(values['allow-privileged']), keepGoing: Boolean(values['keep-going']), noCache: Boolean(values['no-cache']),
    ...(values.builder ? { builder: values.builder } : {}),
  });
  return finish([report], specs, scenario.name, true, Boolean(values.quiet));
}

async function verifyCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    ...COMMON,
    'expect-output': { type: 'string' },
    'expect-uname': { type: 'boolean' },
    'ca-file': { type: 'string' },
    command: { type: 'string', multiple: true },
  });
  if (positionals.length !== 1) throw new UsageError(`verify takes one image reference.\n${USAGE}`);
  if (values['expect-output'] && values['expect-uname']) throw new UsageError('Use --expect-output or --expect-uname, not both.');
  const specs = reporters(values);
  const ref = parseImageRef(positionals[0]!);
  const expect: Expectation | undefined = values['expect-output'] ? { kind: 'output', template: values['expect-output'] } : values['expect-uname'] ? { kind: 'uname' } : undefined;
  const scenario: VerifyScenario = {
    kind: 'verify', name: `verify-${ref.repository.replaceAll('/', '-')}`, title: `verify ${positionals[0]}`, image: positionals[0]!,
    ...(expect ? { expect } : {}), ...(values.command ? { command: values.command } : {}),
  };
  const report = await runScenario(scenario, { ...runOptions(values, 'verify'), ...(values['ca-file'] ? { caFile: values['ca-file'] } : {}) });
  return finish([report], specs, scenario.name, true, Boolean(values.quiet));
}

async function demoCommand(args: string[]): Promise<number> {
  const { values } = parse(args, { reporter: COMMON.reporter, json: COMMON.json, quiet: COMMON.quiet, cached: { type: 'boolean' }, 'allow-privileged': { type: 'boolean' } });
  const specs = reporters(values);
  if (!specs.some((s) => s.name === 'json')) specs.push({ name: 'json', file: 'reports/demo.json' });
  const files = new Set(await readdir(SCENARIO_DIR));
  const reports: RunReport[] = [];
  const notRun: NonNullable<DemoSummary['notRun']> = [];
  for (const name of DEMO_ORDER) {
    if (!files.has(`${name}.ts`)) throw new EnvironmentError(`the demo scenario ${name}.ts is missing from ${SCENARIO_DIR}.`);
    const scenario = await loadScenario(join(SCENARIO_DIR, `${name}.ts`));
    if (scenario.kind === 'steps' && scenario.privileged && !values['allow-privileged']) {
      notRun.push({ sections: scenario.article?.split(/,\s*/) ?? [], why: privilegedRefusal(scenario) });
      console.error(`[${name}] not run: ${privilegedRefusal(scenario)}`);
      continue;
    }
    reports.push(await runScenario(scenario, {
      noCache: !values.cached, allowPrivileged: Boolean(values['allow-privileged']), ...(values.quiet ? {} : { onProgress: (m) => console.error(`[${name}] ${m}`) }),
    }));
  }
  const code = await finish(reports, specs, 'demo', false, Boolean(values.quiet));
  const summary: DemoSummary = { notRun, ...(values.cached ? {} : { qemuToCross: qemuToCrossRatio(reports, 'hello-go-qemu', 'hello-go-cross') }) };
  const article = 'reports/demo-article.md';
  await mkdir(dirname(article), { recursive: true });
  await writeFile(article, renderArticleReport(reports, summary));
  const failed = reports.reduce((n, r) => n + r.summary.failed, 0);
  const ratio = summary.qemuToCross;
  if (ratio) console.log(`build time, QEMU vs cross-compilation (${ratio.platforms.join(', ')}): ${(ratio.qemuMs / 1000).toFixed(1)} s vs ${(ratio.crossMs / 1000).toFixed(1)} s = ${ratio.ratio.toFixed(1)}x`);
  console.log(`demo: ${reports.length} scenarios, ${failed === 0 ? 'all passed' : `${failed} failure(s)`}; the article, section by section: ${article}`);
  return code;
}

async function reportCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { reporter: COMMON.reporter, quiet: COMMON.quiet });
  if (positionals.length === 0) throw new UsageError(`report takes one or more JSON report files.\n${USAGE}`);
  const reports: RunReport[] = [];
  for (const file of positionals) {
    const text = await readFile(file, 'utf8').catch(() => { throw new UsageError(`The report ${file} cannot be read.`); });
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw new UsageError(`${file} is not JSON.`);
    }
    for (const r of Array.isArray(data) ? data : [data]) {
      if ((r as RunReport)?.schemaVersion !== 1 || !Array.isArray((r as RunReport).platforms)) throw new UsageError(`${file} is not a multiarch-harness report (schemaVersion 1).`);
      reports.push(r as RunReport);
    }
  }
  return finish(reports, reporters(values), 'report', reports.length === 1, Boolean(values.quiet));
}

async function doctorCommand(args: string[]): Promise<number> {
  const { values } = parse(args, { brief: { type: 'boolean' }, json: { type: 'boolean' }, fresh: { type: 'boolean' }, require: { type: 'string' } });
  const required = values.require === undefined ? [] : values.require === 'all' ? KNOWN_PLATFORMS : parsePlatformList(values.require);
  const probe = await probeHost({ ...(values.fresh ? { freshObservations: true } : {}) });
  const rows = diagnose(probe);
  const classic = await findClassicEngine();
  if (values.json) console.log(JSON.stringify({ host: probe, platforms: rows, classicEngine: classic }, null, 2));
  else console.log(`${renderDoctor(probe, rows, Boolean(values.brief))}\n${describeClassicEngine(classic)}`);
  const missing = required.map((p) => classify(p, probe)).filter((r) => r.mode === 'unavailable' || !r.observed);
  for (const r of missing) {
    console.error(`multiarch-harness: ${formatPlatform(r.platform)} does not run here: ${r.observed ? r.reason : 'it could not be observed'} Fix: ${r.fix ?? 'see doctor'}.`);
  }
  return missing.length ? 2 : 0;
}

let handlersInstalled = false;
function installSignalHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  // process.on, not once: tsx's loader also listens and exits at once when it sees no other
  // listener, which would cut the cleanup short. A second signal exits without waiting.
  let cleaning = false;
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.on(signal, () => {
      if (cleaning) process.exit(code);
      cleaning = true;
      console.error(`multiarch-harness: ${signal}: cleaning up ${activeRuns.size} run(s)`);
      void Promise.allSettled([...activeRuns].map((r) => r.cleanup())).then((results) => {
        for (const r of results) {
          const problems = r.status === 'fulfilled' ? r.value : [String(r.reason)];
          for (const p of problems) console.error(`multiarch-harness: cleanup: ${p}`);
        }
        process.exit(code);
      });
    });
  }
}
