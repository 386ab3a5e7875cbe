/**
 * The command line: run a scenario, run the demo, or ask what the host can do.
 * Exit codes: 0 every platform passed, 1 a check failed, 2 usage or environment error.
 */
import { readdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { diagnose, renderDoctor } from './doctor.ts';
import { DockerError } from './docker.ts';
import { EnvironmentError, UsageError } from './errors.ts';
import { probeHost } from './host-probe.ts';
import { parsePlatformList, PlatformError } from './platform.ts';
import { writeJsonReport } from './report/json.ts';
import { renderTerminal } from './report/terminal.ts';
import type { RunReport } from './report/types.ts';
import { activeRuns, runScenario } from './runner.ts';
import { loadScenario } from './scenario.ts';

const USAGE = `usage:
  multiarch-harness run <scenario.ts> [--platforms a,b] [--json FILE] [--allow-skip] [--builder NAME]
  multiarch-harness demo [--json FILE]        run every scenario of the article, in its order
  multiarch-harness doctor [--brief] [--json]  what this host can run, per platform`;

const SCENARIO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../scenarios');
/** The article's order. */
const DEMO_ORDER = ['hello-go-qemu'];

export async function main(argv: string[]): Promise<number> {
  installSignalHandlers();
  try {
    const [command, ...rest] = argv;
    switch (command) {
      case 'run':
        return await runCommand(rest);
      case 'demo':
        return await demoCommand(rest);
      case 'doctor':
        return await doctorCommand(rest);
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

const RUN_OPTIONS = {
  platforms: { type: 'string' },
  json: { type: 'string' },
  'allow-skip': { type: 'boolean' },
  builder: { type: 'string' },
  quiet: { type: 'boolean' },
} as const;

async function runCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, RUN_OPTIONS);
  if (positionals.length !== 1) throw new UsageError(`run takes one scenario file.\n${USAGE}`);
  const platforms = typeof values.platforms === 'string' ? parsePlatformList(values.platforms) : undefined;
  const scenario = await loadScenario(positionals[0]!);
  const report = await runScenario(scenario, {
    ...(platforms ? { platforms } : {}),
    allowSkip: Boolean(values['allow-skip']),
    ...(typeof values.builder === 'string' ? { builder: values.builder } : {}),
    onProgress: values.quiet ? undefined : (m) => console.error(`[${scenario.name}] ${m}`),
  });
  console.log(renderTerminal(report));
  if (typeof values.json === 'string') await writeJsonReport(values.json, report);
  return report.summary.failed > 0 ? 1 : 0;
}

async function demoCommand(args: string[]): Promise<number> {
  const { values } = parse(args, { json: { type: 'string' }, quiet: { type: 'boolean' } });
  const files = new Set(await readdir(SCENARIO_DIR));
  const reports: RunReport[] = [];
  for (const name of DEMO_ORDER) {
    if (!files.has(`${name}.ts`)) throw new EnvironmentError(`the demo scenario ${name}.ts is missing from ${SCENARIO_DIR}.`);
    const scenario = await loadScenario(join(SCENARIO_DIR, `${name}.ts`));
    const report = await runScenario(scenario, { onProgress: values.quiet ? undefined : (m) => console.error(`[${name}] ${m}`) });
    console.log(`${renderTerminal(report)}\n`);
    reports.push(report);
  }
  await writeJsonReport(typeof values.json === 'string' ? values.json : 'reports/demo.json', reports);
  const failed = reports.reduce((n, r) => n + r.summary.failed, 0);
  console.log(`demo: ${reports.length} scenario(s), ${failed === 0 ? 'all passed' : `${failed} platform failure(s)`}`);
  return failed > 0 ? 1 : 0;
}

async function doctorCommand(args: string[]): Promise<number> {
  const { values } = parse(args, { brief: { type: 'boolean' }, json: { type: 'boolean' } });
  const probe = await probeHost();
  const rows = diagnose(probe);
  if (values.json) console.log(JSON.stringify({ host: probe, platforms: rows }, null, 2));
  else console.log(renderDoctor(probe, rows, Boolean(values.brief)));
  return 0;
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
