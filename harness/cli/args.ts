/**
 * The command line's words: option parsing (one sentence on a mistake, and where the usage is), and
 * the options several commands share. The usage texts are in usage.ts.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../base/index.ts';
import { printProgress } from './progress.ts';
import { seeHelp, type CommandName } from './usage.ts';
import { parsePlatformList, type Platform } from '../platform/index.ts';
import { checkPlacement, parseNodeOption } from '../engine/index.ts';
import { networkName } from '../run-check/index.ts';
import { parseReporter, stdoutReporter, type ReporterSpec } from '../report/index.ts';
import type { SessionOptions } from '../scenario/index.ts';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
type Parsed<O extends OptionsConfig> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>>;

/** Parses a command's options; a mistake is one sentence and a pointer to the command's --help. */
export function parse<O extends OptionsConfig>(args: string[], options: O, command?: CommandName): Parsed<O> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${seeHelp(command)}`);
  }
}

export const COMMON = {
  // --platform is buildx's, docker run's and container-structure-test's spelling; repeatable, as in buildx.
  platform: { type: 'string', multiple: true },
  platforms: { type: 'string' },
  reporter: { type: 'string', multiple: true },
  json: { type: 'string' },
  'allow-skip': { type: 'boolean' },
  node: { type: 'string', multiple: true },
  'allow-foreign': { type: 'string', multiple: true },
  concurrency: { type: 'string' },
  network: { type: 'string' },
  quiet: { type: 'boolean' },
} as const;

/** The reporters asked for; more than one writing to stdout (`-`) is refused here, before any work. */
export function reporters(values: { reporter?: string[] | undefined; json?: string | undefined }): ReporterSpec[] {
  const specs = (values.reporter ?? []).map(parseReporter);
  if (values.json) specs.push({ name: 'json', file: values.json });
  stdoutReporter(specs);
  return specs;
}

/** --platform (repeatable) or --platforms, the same comma-separated list; not both. */
export function platformsOption(values: { platform?: string[] | undefined; platforms?: string | undefined }): Platform[] | undefined {
  if (values.platform !== undefined && values.platforms !== undefined) throw new UsageError('Use --platform or --platforms, not both.');
  const text = values.platforms ?? values.platform?.join(',');
  return text ? parsePlatformList(text) : undefined;
}

export function sessionOptions(
  values: {
    platform?: string[] | undefined;
    platforms?: string | undefined;
    'allow-skip'?: boolean | undefined;
    quiet?: boolean | undefined;
    node?: string[] | undefined;
    'allow-foreign'?: string[] | undefined;
    concurrency?: string | undefined;
    network?: string | undefined;
  },
  name: string,
): SessionOptions {
  const platforms = platformsOption(values);
  const nodes = (values.node ?? []).map(parseNodeOption);
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1))
    throw new UsageError(`--concurrency takes a whole number of platforms at once, 1 or more; got "${values.concurrency}".`);
  checkPlacement(nodes);
  return {
    ...(platforms ? { platforms } : {}),
    ...(nodes.length ? { nodes } : {}),
    ...(concurrency ? { concurrency } : {}),
    ...(values['allow-foreign']?.length ? { allowForeign: values['allow-foreign'] } : {}),
    ...(values.network !== undefined ? { network: networkName(values.network) } : {}),
    allowSkip: Boolean(values['allow-skip']),
    ...(values.quiet ? {} : { onProgress: printProgress(name) }),
  };
}
