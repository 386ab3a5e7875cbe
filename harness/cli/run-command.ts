/** `multiarch-harness run <scenario.ts>`: one scenario, its reports. */
import { checkReportDestinations } from '../report/index.ts';
import { UsageError } from '../base/index.ts';
import { loadScenario, runScenario } from '../scenario/index.ts';
import { COMMON, parse, platformsOption, reporters, sessionOptions } from './args.ts';
import { seeHelp } from './usage.ts';
import { publishReports } from './output.ts';

const RUN_OPTIONS = {
  ...COMMON,
  builder: { type: 'string' },
  'allow-privileged': { type: 'boolean' },
  'keep-going': { type: 'boolean' },
  'no-cache': { type: 'boolean' },
} as const;

export async function runCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, RUN_OPTIONS, 'run');
  if (positionals.length !== 1) throw new UsageError(`run takes one scenario file.\n${seeHelp('run')}`);
  const specs = reporters(values);
  platformsOption(values); // a malformed or doubled platform option is refused before the scenario loads
  const scenario = await loadScenario(positionals[0]!);
  await checkReportDestinations(specs, scenario.name);
  const report = await runScenario(scenario, {
    ...sessionOptions(values, scenario.name),
    allowPrivileged: Boolean(values['allow-privileged']),
    keepGoing: Boolean(values['keep-going']),
    noCache: Boolean(values['no-cache']),
    ...(values.builder ? { builder: values.builder } : {}),
  });
  return publishReports([report], specs, scenario.name, true, Boolean(values.quiet));
}
