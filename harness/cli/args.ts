/**
 * The command line's words: option parsing (one sentence on a mistake: an unknown option with the
 * nearest one it may have meant, a missing value, an operand too many), and the options several
 * commands share, each checked here, before any command contacts an engine. The usage texts are in
 * usage.ts.
 */
import { accessSync, constants } from 'node:fs';
import { UsageError } from '../base/index.ts';
import { printProgress } from './progress.ts';
import { seeHelp, type CommandName } from './usage.ts';
import { parseKnownPlatformList, type Platform } from '../platform/index.ts';
import { checkPlacement, parseNodeOption, resolveNode } from '../engine/index.ts';
import { networkName } from '../run-check/index.ts';
import { parseReporter, stdoutReporter, type ReporterSpec } from '../report/index.ts';
import { parseImageRef } from '../registry/index.ts';
import type { SessionOptions } from '../scenario/index.ts';

interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
}
type OptionsConfig = Readonly<Record<string, OptionSpec>>;
type ValueOf<S extends OptionSpec> = S['type'] extends 'string' ? string : boolean;
type Values<O extends OptionsConfig> = {
  -readonly [K in keyof O]?: O[K] extends { multiple: true } ? ValueOf<O[K]>[] : ValueOf<O[K]>;
};

export interface Parsed<O extends OptionsConfig> {
  values: Values<O>;
  /** The operands, those after a `--` among them unless `dashes` asked for those apart. */
  positionals: string[];
  /** With `dashes`: the words after the first `--` (a command to run), undefined when there is no `--`. */
  afterDashes?: string[];
}

/**
 * Parses a command's options as `--name VALUE`, `--name=VALUE` and `--flag`. A word after an option
 * that takes a value is its value unless it starts with a dash (`-` alone, stdout, is a value);
 * `--name=-x` gives one that does. A mistake is one sentence that names the command.
 */
export function parse<O extends OptionsConfig>(
  args: readonly string[],
  options: O,
  command: CommandName,
  { dashes = false }: { dashes?: boolean } = {},
): Parsed<O> {
  const values: Record<string, string | boolean | Array<string | boolean>> = {};
  const positionals: string[] = [];
  let afterDashes: string[] | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      if (dashes) afterDashes = args.slice(i + 1);
      else positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg === '-' || !arg.startsWith('-')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') ? arg.slice(2, eq < 0 ? undefined : eq) : undefined;
    const spec = name !== undefined && Object.hasOwn(options, name) ? options[name] : undefined;
    if (name === undefined || spec === undefined) throw unknownOption(command, eq < 0 ? arg : arg.slice(0, eq), Object.keys(options));
    let value: string | boolean;
    if (spec.type === 'boolean') {
      if (eq >= 0) throw new UsageError(`${command}: --${name} takes no value, yet ${arg} gives it one ${seeHelp(command)}.`);
      value = true;
    } else if (eq >= 0) {
      value = arg.slice(eq + 1);
    } else {
      const next = args[i + 1];
      if (next === undefined || next === '--' || (next.startsWith('-') && next !== '-'))
        throw new UsageError(
          `${command}: --${name} needs a value${next === undefined ? ', and nothing follows it' : `, and ${next} follows it`} (${name === 'json' ? '--json - writes the JSON to stdout' : `--${name}=VALUE gives one that starts with a dash`}) ${seeHelp(command)}.`,
        );
      value = next;
      i++;
    }
    if (spec.multiple) ((values[name] ??= []) as Array<string | boolean>).push(value);
    else values[name] = value;
  }
  return { values: values as Values<O>, positionals, ...(afterDashes ? { afterDashes } : {}) };
}

/** One operand too many: one sentence that names it and what the command takes. */
export function unexpectedOperand(command: CommandName, word: string, takes: string): UsageError {
  return new UsageError(`${command}: unexpected argument "${word}"; ${command} takes ${takes} ${seeHelp(command)}.`);
}

/** `verify: unknown option --platfrom; did you mean --platform? (multiarch-harness verify --help lists them)` */
function unknownOption(command: CommandName, given: string, names: readonly string[]): UsageError {
  const near = nearestOption(given.replace(/^-+/, ''), [...names, 'help']);
  return new UsageError(
    `${command}: unknown option ${given}${near ? `; did you mean --${near}?` : ''} (multiarch-harness ${command} --help lists them)`,
  );
}

/**
 * The option a mistyped name most likely meant: the nearest by Damerau-Levenshtein distance (a
 * transposition is one edit) within 2, or one the name begins; undefined when none is that close.
 */
export function nearestOption(given: string, names: readonly string[]): string | undefined {
  const word = given.toLowerCase();
  if (word === '') return undefined;
  let best: { name: string; score: number } | undefined;
  for (const name of names) {
    const d = editDistance(word, name);
    const score = d <= Math.min(2, Math.max(1, word.length - 2)) ? d : name.startsWith(word) && word.length >= 2 ? 3 : Infinity;
    if (score < (best?.score ?? Infinity)) best = { name, score };
  }
  return best?.name;
}

/** The optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  return d[a.length]![b.length]!;
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
  if (values.json !== undefined) specs.push({ name: 'json', file: jsonFile(values.json) });
  stdoutReporter(specs);
  return specs;
}

/** `--json FILE` on every command: the file, or `-` for stdout; an empty one is refused. */
export function jsonFile(file: string): string {
  if (file === '') throw new UsageError('--json takes a FILE to write the JSON to, or - for stdout.');
  return file;
}

/** --platform (repeatable) or --platforms, the same comma-separated list; not both. */
export function platformsOption(values: { platform?: string[] | undefined; platforms?: string | undefined }): Platform[] | undefined {
  if (values.platform !== undefined && values.platforms !== undefined) throw new UsageError('Use --platform or --platforms, not both.');
  const text = values.platforms ?? values.platform?.join(',');
  return text !== undefined ? parseKnownPlatformList(text) : undefined;
}

/** A file the command reads: it must be there and readable now, not when the work reaches it. */
export function readableFile(file: string, what: string): string {
  try {
    accessSync(file, constants.R_OK);
  } catch {
    throw new UsageError(`${what} ${file} cannot be read.`);
  }
  return file;
}

/**
 * The image of the run's own registry: `--registry-image`, else MULTIARCH_REGISTRY_IMAGE, else none
 * (startRegistry's registry:2). A malformed reference is one sentence that names where it came from,
 * before any engine is asked.
 */
export function registryImageOption(value: string | undefined): { registryImage?: string } {
  const from = value !== undefined ? '--registry-image' : 'MULTIARCH_REGISTRY_IMAGE';
  const image = value ?? process.env.MULTIARCH_REGISTRY_IMAGE;
  if (image === undefined) return {};
  let well = image.trim() !== '' && !/\s/.test(image);
  if (well) {
    try {
      parseImageRef(image);
    } catch {
      well = false;
    }
  }
  if (!well)
    throw new UsageError(
      `${from} names the image the run's registry starts from, such as registry:2 or registry:3; "${image}" is not an image reference.`,
    );
  return { registryImage: image };
}

/** Every shared option checked, before the engine is contacted: platforms, nodes (a context must exist), concurrency, network name. */
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
  checkPlacement(nodes);
  // A docker context named by --node is read from the CLI's store now (no engine is asked).
  for (const n of nodes) resolveNode(n);
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && !(/^\d+$/.test(values.concurrency!.trim()) && concurrency >= 1))
    throw new UsageError(`--concurrency takes a whole number of platforms at once, 1 or more; got "${values.concurrency}".`);
  const foreign = values['allow-foreign'];
  if (foreign?.some((g) => g.trim() === ''))
    throw new UsageError('--allow-foreign takes a GLOB of paths, such as /usr/local/go/src/**; got an empty one.');
  return {
    ...(platforms ? { platforms } : {}),
    ...(nodes.length ? { nodes } : {}),
    ...(concurrency ? { concurrency } : {}),
    ...(foreign?.length ? { allowForeign: foreign } : {}),
    ...(values.network !== undefined ? { network: networkName(values.network) } : {}),
    allowSkip: Boolean(values['allow-skip']),
    ...(values.quiet ? {} : { onProgress: printProgress(name) }),
  };
}
