/** `multiarch-harness run <scenario.ts>`: one scenario, its reports. */
import { checkReportDestinations } from '../report/index.ts';
import { UsageError } from '../base/index.ts';
import { loadScenario, runScenario } from '../scenario/index.ts';
import { COMMON, parse, registryImageOption, reporters, sessionOptions, unexpectedOperand } from './args.ts';
import { printProgress } from './progress.ts';
import { seeHelp } from './usage.ts';
import { publishReports } from './output.ts';

const RUN_OPTIONS = {
  ...COMMON,
  builder: { type: 'string' },
  'allow-privileged': { type: 'boolean' },
  'keep-going': { type: 'boolean' },
  'no-cache': { type: 'boolean' },
  'registry-image': { type: 'string' },
} as const;

export async function runCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, RUN_OPTIONS, 'run');
  if (positionals.length === 0) throw new UsageError(`run takes one scenario file, and none was given ${seeHelp('run')}.`);
  if (positionals.length > 1) throw unexpectedOperand('run', positionals[1]!, 'one scenario file');
  const specs = reporters(values);
  // Every option is checked before the scenario loads (and long before any engine is asked).
  const options = { ...sessionOptions({ ...values, quiet: true }, 'run'), ...registryImageOption(values['registry-image']) };
  if (values.builder !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(values.builder))
    throw new UsageError(`--builder takes the name of a buildx builder (docker buildx ls lists them); got "${values.builder}".`);
  const scenario = await loadScenario(positionals[0]!);
  await checkReportDestinations(specs, scenario.name);
  const report = await runScenario(scenario, {
    ...options,
    ...(values.quiet ? {} : { onProgress: printProgress(scenario.name) }),
    allowPrivileged: Boolean(values['allow-privileged']),
    keepGoing: Boolean(values['keep-going']),
    noCache: Boolean(values['no-cache']),
    ...(values.builder !== undefined ? { builder: values.builder } : {}),
  });
  return publishReports([report], specs, scenario.name, true, Boolean(values.quiet));
}
