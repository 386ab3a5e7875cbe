/** `multiarch-harness verify <image-ref>`: the four checks on an existing image. */
import { checkReportDestinations } from '../report/index.ts';
import { UsageError } from '../base/index.ts';
import type { Expectation } from '../platform/index.ts';
import { parseImageRef } from '../registry/index.ts';
import { type VerifyScenario, runScenario } from '../scenario/index.ts';
import { parseShard } from '../result/index.ts';
import { COMMON, parse, reporters, sessionOptions } from './args.ts';
import { seeHelp } from './usage.ts';
import { publishReports } from './output.ts';

export async function verifyCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      ...COMMON,
      'expect-output': { type: 'string' },
      'expect-uname': { type: 'boolean' },
      'ca-file': { type: 'string' },
      command: { type: 'string', multiple: true },
      config: { type: 'string', multiple: true },
      shard: { type: 'string' },
    },
    'verify',
  );
  if (positionals.length !== 1) throw new UsageError(`verify takes one image reference.\n${seeHelp('verify')}`);
  if (values['expect-output'] && values['expect-uname']) throw new UsageError('Use --expect-output or --expect-uname, not both.');
  const specs = reporters(values);
  const options = sessionOptions(values, 'verify');
  const ref = parseImageRef(positionals[0]!);
  const expect: Expectation | undefined = values['expect-output']
    ? { kind: 'output', template: values['expect-output'] }
    : values['expect-uname']
      ? { kind: 'uname' }
      : undefined;
  // Read now: a mistake in a file is one sentence before any work starts.
  if (values.config) {
    // Read now, so a mistake in a file is one sentence before any work; the YAML reader is loaded only then.
    const { mergeStructureTests, readStructureTests } = await import('../structure-file/index.ts');
    await mergeStructureTests(await Promise.all(values.config.map(readStructureTests)));
  }
  const scenario: VerifyScenario = {
    kind: 'verify',
    name: `verify-${ref.repository.replaceAll('/', '-')}`,
    title: `verify ${positionals[0]}`,
    image: positionals[0]!,
    ...(expect ? { expect } : {}),
    ...(values.command ? { command: values.command } : {}),
    ...(values.config ? { structureTests: values.config } : {}),
  };
  await checkReportDestinations(specs, scenario.name);
  const shard = values.shard ? parseShard(values.shard) : undefined;
  const report = await runScenario(scenario, {
    ...options,
    ...(values['ca-file'] ? { caFile: values['ca-file'] } : {}),
    ...(shard ? { shard } : {}),
  });
  return publishReports([report], specs, scenario.name, true, Boolean(values.quiet));
}
