/**
 * `multiarch-harness verify <image> [-- CMD ARGS...]`: the four checks on an existing image, in a
 * registry or local (skopeo's oci:, oci-archive:, docker-archive:).
 */
import { basename, resolve } from 'node:path';
import { checkReportDestinations } from '../report/index.ts';
import { UsageError } from '../base/index.ts';
import type { Expectation } from '../platform/index.ts';
import { parseImageTarget, type ImageTarget } from '../image-source/index.ts';
import { type VerifyScenario, runScenario } from '../scenario/index.ts';
import { parseShard } from '../result/index.ts';
import { COMMON, parse, readableFile, reporters, sessionOptions, unexpectedOperand } from './args.ts';
import { seeHelp } from './usage.ts';
import { publishReports } from './output.ts';

const VERIFY_OPTIONS = {
  ...COMMON,
  'expect-output': { type: 'string' },
  'expect-uname': { type: 'boolean' },
  'ca-file': { type: 'string' },
  command: { type: 'string', multiple: true },
  config: { type: 'string', multiple: true },
  shard: { type: 'string' },
} as const;

export async function verifyCommand(args: string[]): Promise<number> {
  // Everything is checked before the scenario runs, that is before any engine or registry is asked.
  const { values, positionals, afterDashes } = parse(args, VERIFY_OPTIONS, 'verify', { dashes: true });
  if (positionals.length === 0) throw new UsageError(`verify takes one image, and none was given ${seeHelp('verify')}.`);
  if (positionals.length > 1)
    throw unexpectedOperand('verify', positionals[1]!, 'one image, and the command to run after -- (verify IMAGE -- CMD ARGS...)');
  const command = commandOf(values.command, afterDashes);
  if (values['expect-output'] !== undefined && values['expect-uname'])
    throw new UsageError('Use --expect-output or --expect-uname, not both.');
  const specs = reporters(values);
  const options = sessionOptions(values, 'verify');
  const image = positionals[0]!;
  const target = parseImageTarget(image);
  const shard = values.shard !== undefined ? parseShard(values.shard) : undefined;
  if (values['ca-file'] !== undefined && target.kind === 'local')
    throw new UsageError(`--ca-file is a registry's CA certificate, and ${image} is a local image, read from no registry.`);
  const caFile = values['ca-file'] !== undefined ? readableFile(values['ca-file'], 'The CA file') : undefined;
  const expect: Expectation | undefined =
    values['expect-output'] !== undefined
      ? { kind: 'output', template: outputTemplate(values['expect-output']) }
      : values['expect-uname']
        ? { kind: 'uname' }
        : undefined;
  if (values.config) {
    // Read now, so a mistake in a file is one sentence before any work; the YAML reader is loaded only then.
    const { mergeStructureTests, readStructureTests } = await import('../structure-file/index.ts');
    await mergeStructureTests(await Promise.all(values.config.map(readStructureTests)));
  }
  const scenario: VerifyScenario = {
    kind: 'verify',
    name: `verify-${nameOf(target)}`,
    title: `verify ${image}`,
    image,
    ...(expect ? { expect } : {}),
    ...(command ? { command } : {}),
    ...(values.config ? { structureTests: values.config } : {}),
  };
  await checkReportDestinations(specs, scenario.name);
  const report = await runScenario(scenario, {
    ...options,
    ...(caFile ? { caFile } : {}),
    ...(shard ? { shard } : {}),
  });
  return publishReports([report], specs, scenario.name, true, Boolean(values.quiet));
}

/** What names the verify in its reports' files: the repository (library-alpine), or the local file's or folder's name. */
function nameOf(target: ImageTarget): string {
  if (target.kind === 'registry') return target.ref.repository.replaceAll('/', '-');
  return basename(resolve(target.path)).replace(/[^\w.-]+/g, '-') || target.transport;
}

/**
 * The command each platform's container runs instead of the image's CMD: the words after `--`, as
 * `docker run IMAGE CMD ARGS...` takes them, or `--command` once per word; not both.
 */
function commandOf(repeated: string[] | undefined, afterDashes: string[] | undefined): string[] | undefined {
  if (repeated && afterDashes) throw new UsageError('Give the command after -- or with --command, not both.');
  if (afterDashes?.length === 0)
    throw new UsageError(`verify: nothing follows --; the command to run goes there (verify IMAGE -- CMD ARGS...) ${seeHelp('verify')}.`);
  return afterDashes ?? repeated;
}

/** The placeholders a verify fills (it builds nothing, so none of the build platform's). */
const PLACEHOLDERS = ['os', 'arch', 'variant', 'platform', 'goarch'];

/** `--expect-output TEMPLATE`: not empty, and every {placeholder} one that is filled. */
function outputTemplate(template: string): string {
  if (template.trim() === '') throw new UsageError('--expect-output takes a TEMPLATE of what each platform must print; it is empty.');
  const unknown = [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).find((k) => !PLACEHOLDERS.includes(k));
  if (unknown !== undefined)
    throw new UsageError(
      `--expect-output: {${unknown}} is not a placeholder verify fills; these are: ${PLACEHOLDERS.map((k) => `{${k}}`).join(' ')}.`,
    );
  return template;
}
