/**
 * Scenarios: what a user writes. A build scenario names a build context, the platforms, and what
 * each platform must print; the runner does the rest (handlers, registry, build, push, run, report).
 * A bake scenario names a bake file instead, and each of its targets is built and checked.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { UsageError } from '../base/index.ts';
import { compiledScenario, harnessEntry } from '../scenario-files/index.ts';
import type { Expectation } from '../platform/index.ts';
import type { CheckName, Reference } from '../result/index.ts';
import type { StepsContext } from './steps.ts';

/**
 * A check that is known to fail on a platform, and why: the platform still passes when that check
 * (and no other) fails with a matching message, and the report says so. For scenarios that
 * reproduce a reference whose recipe has a flaw the reference does not mention.
 */
export interface KnownIssue {
  platform: string;
  check: CheckName;
  /** The failure message must match this. */
  matches: RegExp;
  why: string;
}

export interface BuildScenario {
  kind: 'build';
  /** Short id, used in reports and image names. */
  name: string;
  title: string;
  /** What this scenario reproduces, and which part of it: `{ name: 'the guide', part: '1.7' }`. */
  reference?: Reference;
  /** Default platforms, overridable with --platforms. */
  platforms: string[];
  build: {
    /** Folder (or file: URL) of the build context. */
    context: string | URL;
    dockerfile?: string;
    /** Repository in the run's registry. */
    repository: string;
    /** BuildKit attaches a provenance attestation by default; scenarios opt in. */
    provenance?: boolean;
  };
  expect: Expectation;
  /** Command to run instead of the image's CMD. */
  command?: string[];
  knownIssues?: KnownIssue[];
  /** Platforms built and run on other engines: "linux/arm64,linux/arm/v7=ENDPOINT" each, as --node (which replaces them). */
  nodes?: string[];
  /** Globs of paths whose ELF files are foreign on purpose (emulators, cross toolchains, firmware), as --allow-foreign. */
  allowForeign?: string[];
  /** The network the run check's containers join, as --network (default none: no network). */
  network?: string;
}

/** Checks an image that already exists, in any registry. */
export interface VerifyScenario {
  kind: 'verify';
  name: string;
  title: string;
  reference?: Reference;
  image: string;
  /** Default: every platform the index lists. */
  platforms?: string[];
  expect?: Expectation;
  command?: string[];
  /**
   * container-structure-test files (schemaVersion 2.0.0) whose tests run on every platform: paths,
   * relative to the working directory, or file: URLs.
   */
  structureTests?: (string | URL)[];
  /** Platforms run on other engines: "linux/arm64=ENDPOINT" each, as --node (which replaces them). */
  nodes?: string[];
  /** Globs of paths whose ELF files are foreign on purpose, as --allow-foreign. */
  allowForeign?: string[];
  /** The network the run check's containers join, as --network (default none: no network). */
  network?: string;
}

/**
 * The targets of a bake file (HCL, JSON or Compose), built with one `docker buildx bake --push` to the
 * session's registry, each target's image then verified on each of its platforms. The file is
 * resolved by buildx itself (`--print`): groups, variables, inheritance and matrices are its own.
 * Relative paths in the file are the first file's folder's, as for `docker buildx bake` run there.
 */
export interface BakeScenario {
  kind: 'bake';
  name: string;
  title: string;
  reference?: Reference;
  /** The bake file, or files (merged in order, as `-f a -f b`): paths, relative to the working directory, or file: URLs. */
  file: string | URL | ReadonlyArray<string | URL>;
  /** Targets or groups to build; default the file's default group. */
  targets?: string[];
  /**
   * Narrows every target's platforms to these (as --platforms, which replaces them); a target the
   * file gives no platforms builds for the builder's default platform, the engine's own.
   */
  platforms?: string[];
  /** What each image must print: one expectation for every target, or one per target by name (a target not named: a clean exit). */
  expect?: Expectation | Record<string, Expectation>;
  /** Command to run instead of each image's CMD. */
  command?: string[];
  /** BuildKit attaches a provenance attestation by default; scenarios opt in. */
  provenance?: boolean;
  /** Platforms built and run on other engines: "linux/arm64,linux/arm/v7=ENDPOINT" each, as --node (which replaces them). */
  nodes?: string[];
  /** Globs of paths whose ELF files are foreign on purpose, as --allow-foreign. */
  allowForeign?: string[];
  /** The network the run check's containers join, as --network (default none: no network). */
  network?: string;
}

/** A sequence of commands, each step tied to a section of the scenario's reference (see steps.ts). */
export interface StepsScenario {
  kind: 'steps';
  name: string;
  title: string;
  reference?: Reference;
  platforms?: string[];
  /**
   * Why the scenario needs privileged containers, when it does. It then runs only when asked
   * (SessionOptions.allowPrivileged, --allow-privileged on the command line).
   */
  privileged?: string;
  expect?: undefined;
  command?: undefined;
  /** The steps, in order: each `t.step(section, title, fn)` runs commands and records what it saw. */
  steps(t: StepsContext): Promise<void>;
}

export type Scenario = BuildScenario | VerifyScenario | StepsScenario | BakeScenario;

/** The sentence a user sees when a privileged scenario was not allowed to run. */
export function privilegedRefusal(s: StepsScenario): string {
  return `${s.name} ${s.privileged}; it runs only when asked: pass --allow-privileged.`;
}

export function defineScenario<S extends Scenario>(s: S): S {
  return s;
}

export function contextPath(c: string | URL): string {
  return c instanceof URL ? fileURLToPath(c) : resolve(c);
}

/** A bake scenario's files as paths. */
export function bakeFilePaths(s: BakeScenario): string[] {
  const files: ReadonlyArray<string | URL> = typeof s.file === 'string' || s.file instanceof URL ? [s.file] : s.file;
  return files.map(contextPath);
}

/** A scenario file Node cannot load by itself on every version the harness supports (20 strips no types). */
const TYPESCRIPT = /\.[mc]?ts$/i;
let tsxRegistered: Promise<void> | undefined;

/**
 * tsx's ESM loader, registered once, the first time a TypeScript scenario is loaded: the harness
 * itself is JavaScript (dist/), so tsx is only there for users' scenarios (and what they import).
 */
function registerTsx(): Promise<void> {
  tsxRegistered ??= import('tsx/esm/api').then(({ register }) => {
    register();
  });
  return tsxRegistered;
}

/** Loads a scenario module (TypeScript compiled once and kept, or through tsx; or JavaScript) and returns its default export. */
export async function loadScenario(file: string): Promise<Scenario> {
  const path = resolve(file);
  if (
    !(await stat(path).then(
      (s) => s.isFile(),
      () => false,
    ))
  )
    throw new UsageError(`There is no scenario file at ${path}.`);
  let mod: { default?: Scenario } & Record<string, unknown>;
  try {
    // A TypeScript scenario compiled before (or now) is plain JavaScript; what that cache does not take goes through tsx.
    const compiled = TYPESCRIPT.test(path) ? await compiledScenario(path) : undefined;
    if (TYPESCRIPT.test(path) && !compiled) await registerTsx();
    const url = compiled ? `${pathToFileURL(compiled).href}?v=${(await stat(compiled)).mtimeMs}` : pathToFileURL(path).href;
    mod = (await import(url)) as { default?: Scenario } & Record<string, unknown>;
  } catch (err) {
    throw new UsageError(`The scenario ${path} ${loadFailure(err)}`, { cause: err });
  }
  const s = mod.default;
  if (!isScenario(s)) {
    // A CommonJS module imported: its module.exports arrives as the default export (where tsx compiled
    // `export default` to exports.default, the scenario is one level down), and Node 22.12 and later
    // also name it 'module.exports'. Node 20 stops earlier, at the require() cycle (loadFailure).
    if (loadedAsCommonJs(mod)) throw new UsageError(`The scenario ${path} ${LOADED_AS_COMMONJS}`);
    throw new UsageError(`${path} does not export a scenario as its default export (use defineScenario).`);
  }
  return s;
}

/** Whether an imported module is a CommonJS module's exports (what Node 22.12 and later hand over for one), not an ES module's. */
export function loadedAsCommonJs(mod: Record<string, unknown>): boolean {
  return 'module.exports' in mod || isScenario((mod.default as { default?: unknown } | undefined)?.default);
}

function isScenario(s: unknown): s is Scenario {
  return Boolean(s) && typeof s === 'object' && ['build', 'verify', 'steps', 'bake'].includes((s as { kind?: string }).kind ?? '');
}

const LOADED_AS_COMMONJS =
  'is loaded as CommonJS here: a scenario is an ES module; put it in a package whose package.json says "type": "module", or name it .mts.';

/**
 * Why a scenario module did not load, in one sentence: a compile error with its file, line and
 * column (tsx reports esbuild's errors), or what it threw while it was evaluated.
 */
function loadFailure(err: unknown): string {
  const errors = (err as { errors?: Array<{ text?: string; location?: { file?: string; line?: number; column?: number } | null }> }).errors;
  const first = errors?.[0];
  if (first?.text) {
    const at = first.location ? `${first.location.file}:${first.location.line}:${(first.location.column ?? 0) + 1}: ` : '';
    return `does not compile: ${at}${first.text}${errors!.length > 1 ? ` (and ${errors!.length - 1} more errors)` : ''}.`;
  }
  // A name the harness does not export: Node names the harness by the URL a compiled scenario imports.
  const harness = pathToFileURL(harnessEntry('multiarch-harness')!).href;
  const full = (err instanceof Error ? err.message : String(err)).replaceAll(`'${harness}'`, "'multiarch-harness'");
  const message = full.split('\n')[0]!;
  // tsx's loader hooks run in another thread: esbuild's error arrives as text, "file:line:col: ERROR: what".
  const located = /^(.+?):(\d+):(\d+): ERROR: (.*)$/m.exec(full);
  if (located) return `does not compile: ${located[1]}:${located[2]}:${Number(located[3]) + 1}: ${located[4]}.`;
  if (err instanceof SyntaxError) return `does not compile: ${message}.`;
  if (
    /require\(\) ES Module .* in a cycle|ERR_REQUIRE_CYCLE_MODULE/.test(full) ||
    (err as NodeJS.ErrnoException).code === 'ERR_REQUIRE_CYCLE_MODULE'
  ) {
    return LOADED_AS_COMMONJS;
  }
  if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return `imports something that cannot be found: ${message}.`;
  return `failed while it was loaded: ${message}.`;
}
