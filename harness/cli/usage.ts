/**
 * Every command's usage, in one table: `multiarch-harness <command> --help` prints its entry, and
 * the top-level usage is built from the same entries (synopsis and summary), so nothing is said twice.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnvironmentError } from '../base/index.ts';

type Option = readonly [flags: string, what: string];

interface CommandUsage {
  /** The command and its operands, after "multiarch-harness ". */
  synopsis: string;
  /** What comes after the options, if anything. */
  after?: string;
  /** One line: what the command does (the top-level usage lists these). */
  summary: string;
  options: readonly Option[];
  /** Lines after the options. */
  notes?: readonly string[];
}

// Options several commands share: written once.
const PLATFORM: Option = ['--platform, --platforms a,b', 'only these platforms, comma-separated (--platform may also be repeated)'];
const ALLOW_FOREIGN: Option = [
  '--allow-foreign GLOB',
  'ELF files under these paths may be for other platforms (emulators, cross toolchains, firmware); repeatable, shown in the report',
];
const CONCURRENCY: Option = ['--concurrency N', 'platforms checked at once (default: four per core)'];
const NETWORK: Option = ['--network NAME', "the network the image's command runs in (docker run --network; default none: no network)"];
const NODE: Option = [
  '--node PLATFORMS=ENDPOINT',
  'run (and build) these platforms on another engine: a DOCKER_HOST URL (unix://, tcp://, ssh://) or a docker context; repeatable',
];
const REPORTER: Option = [
  '--reporter R[=FILE]',
  'also write report R (repeatable); FILE - writes it to stdout, and the matrix then goes to stderr',
];
const JSON_FILE: Option = ['--json FILE', 'short for --reporter json=FILE (- writes it to stdout)'];
const ALLOW_SKIP: Option = ['--allow-skip', 'a platform that cannot run here is skipped, not failed'];
const QUIET: Option = ['--quiet', 'no progress lines on stderr'];
const ALLOW_PRIVILEGED: Option = ['--allow-privileged', 'run scenarios that start privileged containers (they run only with it)'];
const HELP: Option = ['-h, --help', "this command's usage"];

const REPORTERS_NOTE =
  'reporters: terminal (the matrix, always; on stdout), json, junit, markdown (appended to $GITHUB_STEP_SUMMARY when set), html';
const IMAGE_NOTE = [
  'image: [registry/]repository[:tag][@sha256:...] in a registry, or a local one, as skopeo names them:',
  '  oci:DIR[:TAG]                        an OCI layout in a folder (buildx --output type=oci,tar=false)',
  '  oci-archive:FILE[:TAG]               an OCI layout in a tar (buildx --output type=oci)',
  '  docker-archive:FILE[:NAME:TAG|:@N]   a docker save archive (or buildx --output type=docker)',
  "  docker-daemon:NAME[:TAG]             an image in the engine's store, every platform it holds (docker build --load)",
  'a local image needs no registry: the run check loads each platform into the engine under a name of the session, removed afterwards;',
  "a docker-daemon: image runs from the engine's store as it is, never pulled and never removed",
].join('\n');
const TEMPLATES_NOTE = 'templates: {os} {arch} {variant} {platform} {goarch}, filled per platform';
const EXIT_NOTE =
  'exit: 0 every platform passed every check, 1 a check failed (or a platform cannot run here), 2 a usage or environment error';
const ENV_NOTE =
  'NO_COLOR / FORCE_COLOR: colour of the matrix; under GITHUB_ACTIONS=true: an ::error annotation per failed check, progress in ::group::s';

export const COMMAND_USAGES = {
  run: {
    synopsis: 'run <scenario.ts>',
    summary:
      "build a scenario's image (a bake scenario's: each target's) for each of its platforms, push it to a throwaway registry, check every platform",
    options: [
      PLATFORM,
      NODE,
      REPORTER,
      JSON_FILE,
      ALLOW_SKIP,
      ALLOW_FOREIGN,
      CONCURRENCY,
      NETWORK,
      ['--builder NAME', 'the buildx builder to build with'],
      ALLOW_PRIVILEGED,
      ['--keep-going', "when one platform's build fails, build and verify the others without it (build scenarios)"],
      ['--no-cache', "build every step again (BuildKit's cache would hide how it builds here)"],
      [
        '--registry-image IMAGE',
        "the image the run's own registry starts from (default: $MULTIARCH_REGISTRY_IMAGE, else registry:2); the report names it",
      ],
      QUIET,
      HELP,
    ],
    notes: [REPORTERS_NOTE, EXIT_NOTE, ENV_NOTE],
  },
  verify: {
    synopsis: 'verify <image>',
    after: '[-- CMD ARGS...]',
    summary: 'the same four checks (index, config, binary, run) on an existing image, in any registry or local',
    options: [
      PLATFORM,
      NODE,
      ['--expect-output TEMPLATE', 'what each platform must print'],
      ['--expect-uname', 'the output must be the `uname -m` this host reports for the platform'],
      ['-- CMD ARGS...', "replaces the image's CMD, as `docker run IMAGE CMD ARGS...` takes them (after every option)"],
      ['--command ARG', 'the same, one argument at a time (repeat it; --command=-m for one that starts with a dash); not with --'],
      ALLOW_FOREIGN,
      CONCURRENCY,
      NETWORK,
      ['--config FILE', 'a container-structure-test file (schemaVersion 2.0.0), its tests run on every platform; repeatable'],
      REPORTER,
      JSON_FILE,
      ALLOW_SKIP,
      ['--ca-file PEM', "the registry's CA certificate (a private CA)"],
      ['--shard i/n', 'only a stable i-th of n shares of the platforms, for a CI matrix of n jobs (report merge joins them)'],
      QUIET,
      HELP,
    ],
    notes: [IMAGE_NOTE, TEMPLATES_NOTE, REPORTERS_NOTE, EXIT_NOTE, ENV_NOTE],
  },
  setup: {
    synopsis: 'setup [--undo]',
    summary:
      'registers QEMU binfmt_misc handlers for the platforms this host cannot run by itself (host-wide, needs root), then proves each platform by running it; --undo puts back what was there',
    options: [
      ['--platform a,b', 'only these platforms (default: every platform the harness knows)'],
      [
        '--emulators auto|host|image',
        "the host's static QEMU (qemu-user-static), the tonistiigi/binfmt image through the engine, or the first there is (default)",
      ],
      ['--dry-run', 'say what would change, change nothing'],
      ['--undo', 'remove the handlers setup added and register again those it replaced, as they were'],
      HELP,
    ],
  },
  doctor: {
    synopsis: 'doctor',
    summary: 'how this host runs each platform, as observed by running a program of each',
    options: [
      ['--brief', 'the platforms grouped by mode, one line per mode'],
      ['--json FILE', 'the same, as JSON, written to FILE (- writes it to stdout, and the table then goes to stderr)'],
      ['--fresh', 'observe again rather than use the cached observations'],
      ['--require all|a,b', 'exit 2 with one sentence per platform that does not run here'],
      HELP,
    ],
  },
  report: {
    synopsis: 'report [merge] <report.json>...',
    summary:
      're-render saved JSON reports with any reporter; merge: join the shard reports of one image into one (every platform exactly once)',
    options: [REPORTER, JSON_FILE, QUIET, HELP],
    notes: [REPORTERS_NOTE],
  },
} as const satisfies Record<string, CommandUsage>;

export type CommandName = keyof typeof COMMAND_USAGES;

export function isCommand(word: string | undefined): word is CommandName {
  return word !== undefined && Object.hasOwn(COMMAND_USAGES, word);
}

function columns(rows: readonly Option[], indent: string): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `${indent}${left.padEnd(width)}  ${right}`);
}

/** `multiarch-harness <command> --help`. */
export function usageOf(command: CommandName): string {
  const u: CommandUsage = COMMAND_USAGES[command];
  return [
    `usage: multiarch-harness ${u.synopsis} [options]${u.after ? ` ${u.after}` : ''}`,
    '',
    `${u.summary[0]!.toUpperCase()}${u.summary.slice(1)}.`,
    '',
    'options:',
    ...columns(u.options, '  '),
    ...(u.notes?.length ? ['', ...u.notes] : []),
  ].join('\n');
}

/** The top-level usage: the commands, one line each, from the same table. */
export const USAGE = [
  'usage: multiarch-harness <command> [options]',
  '       multiarch-harness <command> --help',
  '       multiarch-harness --version',
  '',
  'commands:',
  ...columns(
    Object.values(COMMAND_USAGES).map((u: CommandUsage) => [u.after ? `${u.synopsis} ${u.after}` : u.synopsis, u.summary] as const),
    '  ',
  ),
].join('\n');

/** The end of a usage error's sentence: where the command's whole usage is. */
export function seeHelp(command: CommandName): string {
  return `(see 'multiarch-harness ${command} --help')`;
}

/** True when the arguments ask for help (before a `--` that ends the options). */
export function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

/**
 * The package's version, for `--version`, and its root folder (where the demo finds its scenarios):
 * both from the nearest package.json named multiarch-harness above this module, so they hold
 * wherever the module sits (harness/cli/ in this repository, dist/... once compiled,
 * node_modules/multiarch-harness/... once installed), and a package.json of another name on the way
 * (dist/package.json with only "type") is passed over.
 */

const PACKAGE_NAME = 'multiarch-harness';

function readManifest(file: string): { name?: unknown; version?: unknown } | undefined {
  try {
    const data: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return typeof data === 'object' && data !== null ? data : undefined;
  } catch {
    return undefined; // absent, unreadable or not JSON: not ours, look further up
  }
}

/** The version in the nearest package.json named multiarch-harness, from `from` (a module URL or path) upwards. */
export function packageVersion(from: string | URL = import.meta.url): string {
  return findManifest(from).version;
}

function findManifest(from: string | URL): { dir: string; version: string } {
  const start = from instanceof URL || from.startsWith('file:') ? fileURLToPath(from) : from;
  for (let dir = dirname(start); ; dir = dirname(dir)) {
    const manifest = readManifest(join(dir, 'package.json'));
    if (manifest?.name === PACKAGE_NAME && typeof manifest.version === 'string') return { dir, version: manifest.version };
    if (dirname(dir) === dir) throw new EnvironmentError(`No package.json named ${PACKAGE_NAME} was found in any folder above ${start}.`);
  }
}
