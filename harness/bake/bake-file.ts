/**
 * A bake file as buildx resolves it. The harness never reads HCL: `docker buildx bake -f FILE...
 * --print [TARGETS]` does (variables, functions, inheritance, groups, matrices), and its JSON names
 * every target it would build, matrix targets already expanded to their own names. It runs where
 * the first file lies, because a bake file's relative paths are the working folder's: as for a user
 * who runs `docker buildx bake` there.
 *
 * What is read of each target: its platforms (none: the builder's default platform), tags, context,
 * Dockerfile, build arguments, named contexts and outputs. Anything else buildx prints (0.13 prints
 * less than 0.2x) is left alone. Outputs are strings in buildx 0.13 ("type=local,dest=out") and
 * objects in later versions ({ "type": "local", "dest": "out" }); both read as the string form.
 */
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../base/index.ts';
import { dockerCli } from '../engine/index.ts';

export interface BakeTarget {
  /** The target's name, a matrix target's expanded one ("greeting-fr"). */
  name: string;
  /** As the file gives them; empty when it gives none (the builder's default platform). */
  platforms: string[];
  tags: string[];
  /** The build context as printed: a path relative to the working folder, or a URL. */
  context?: string;
  /** The Dockerfile, relative to the context. */
  dockerfile?: string;
  /** Build arguments; one printed without a value (null) is left out. */
  args: Record<string, string>;
  /** Named contexts (`contexts`): a path, an image (docker-image://), a URL or another target (target:). */
  contexts: Record<string, string>;
  /** Each output in buildx's string form: "type=registry", "type=local,dest=out". */
  outputs: string[];
}

/** What a bake would build: its targets, in the order its groups name them. */
export interface BakeDefinition {
  targets: BakeTarget[];
}

/** Where a bake runs and what it reads: its files (absolute paths), the folder it runs in, the targets asked for. */
export interface BakeFiles {
  files: string[];
  /** The first file's folder: the bake file's relative paths are this folder's. */
  cwd: string;
  /** Targets or groups to build; none: the file's default group. */
  targets: string[];
}

/** The files of a bake scenario as absolute paths, each checked to exist; the folder is the first file's. */
export async function bakeFiles(files: readonly string[], targets: readonly string[] = []): Promise<BakeFiles> {
  if (files.length === 0) throw new UsageError('A bake scenario names no bake file: give it one in file.');
  const paths = files.map((f) => resolve(f));
  for (const path of paths) {
    const s = await stat(path).catch(() => undefined);
    if (!s?.isFile()) throw new UsageError(`There is no bake file at ${path}.`);
  }
  return { files: paths, cwd: dirname(paths[0]!), targets: [...targets] };
}

/** `-f FILE` for each file. */
export function fileArgs(files: readonly string[]): string[] {
  return files.flatMap((f) => ['-f', f]);
}

/** The targets a bake would build, as `docker buildx bake --print` resolves them: one sentence when it cannot. */
export async function resolveBake(bake: BakeFiles): Promise<BakeDefinition> {
  const r = await dockerCli(['buildx', 'bake', ...fileArgs(bake.files), '--print', ...bake.targets], {
    cwd: bake.cwd,
    check: false,
    timeoutMs: 120_000,
  });
  if (r.exitCode !== 0 || r.timedOut) throw new UsageError(printFailure(bake, r.stderr, r.timedOut));
  const definition = parseBakePrint(r.stdout, describeFiles(bake.files));
  if (definition.targets.length === 0)
    throw new UsageError(`${capitalised(describeFiles(bake.files))} ${bake.files.length === 1 ? 'defines' : 'define'} no target to build.`);
  return definition;
}

/** "the bake file /x/docker-bake.hcl", or "the bake files /x/a.hcl and /x/b.hcl". */
export function describeFiles(files: readonly string[]): string {
  if (files.length === 1) return `the bake file ${files[0]}`;
  return `the bake files ${files.slice(0, -1).join(', ')} and ${files[files.length - 1]}`;
}

/** Why `--print` failed, in one sentence: a target that is not there, or buildx's own last error line. */
export function printFailure(bake: BakeFiles, stderr: string, timedOut = false): string {
  const files = describeFiles(bake.files);
  if (timedOut) return `docker buildx bake --print did not resolve ${files} within 120 s.`;
  const have = `${capitalised(files)} ${bake.files.length === 1 ? 'has' : 'have'}`;
  const missing = /failed to find target:? "?([^"\s]+)"?/.exec(stderr)?.[1];
  if (missing === 'default' && bake.targets.length === 0)
    return `${have} no default group or target: name the targets to build (the scenario's targets).`;
  if (missing) return `${have} no target or group named ${missing}.`;
  const line =
    stderr
      .split('\n')
      .map((l) => l.trim())
      .findLast((l) => /^(ERROR|error)\b/.test(l)) ?? stderr.trim().split('\n').findLast(Boolean)?.trim();
  return `docker buildx bake --print could not resolve ${files}: ${(line ?? 'it printed nothing').replace(/^(ERROR|error):\s*/, '').replace(/\.$/, '')}.`;
}

const capitalised = (s: string) => `${s.charAt(0).toUpperCase()}${s.slice(1)}`;

/**
 * Reads `--print`'s JSON. `source` names the files in the sentence of a target whose fields are not
 * what buildx prints (a list that is not a list).
 */
export function parseBakePrint(json: string, source: string): BakeDefinition {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch {
    throw new UsageError(`docker buildx bake --print printed no JSON for ${source}: "${json.trim().slice(0, 120)}".`);
  }
  const root = isRecord(data) ? data : {};
  const printed = isRecord(root.target) ? root.target : {};
  const groups = isRecord(root.group) ? root.group : {};
  const targets = new Map<string, BakeTarget>();
  for (const [name, value] of Object.entries(printed)) {
    if (isRecord(value)) targets.set(name, readTarget(name, value, source));
  }
  const ordered: BakeTarget[] = [];
  const seen = new Set<string>();
  const walk = (name: string, depth: number): void => {
    if (seen.has(name) || depth > 32) return;
    seen.add(name);
    const target = targets.get(name);
    if (target) ordered.push(target);
    const group = groups[name];
    if (isRecord(group)) for (const member of strings(group.targets)) walk(member, depth + 1);
  };
  walk('default', 0);
  for (const name of [...targets.keys()].sort()) if (!seen.has(name)) ordered.push(targets.get(name)!);
  return { targets: ordered };
}

function readTarget(name: string, t: Record<string, unknown>, source: string): BakeTarget {
  const list = (key: string): string[] => {
    const v = t[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw new UsageError(`The target ${name} of ${source} has ${key} that is not a list.`);
    return strings(v);
  };
  const text = (key: string): string | undefined => (typeof t[key] === 'string' ? (t[key] as string) : undefined);
  const context = text('context');
  const dockerfile = text('dockerfile');
  return {
    name,
    platforms: list('platforms'),
    tags: list('tags'),
    ...(context !== undefined ? { context } : {}),
    ...(dockerfile !== undefined ? { dockerfile } : {}),
    args: stringMap(t.args),
    contexts: stringMap(t.contexts),
    outputs: outputsOf(t.output),
  };
}

/**
 * An output as buildx's string form. buildx 0.13 prints strings; later versions print each as an
 * object of its attributes ({ "type": "image", "push": "true" }), type first in the string form.
 */
export function outputsOf(v: unknown): string[] {
  const items = Array.isArray(v) ? v : typeof v === 'string' || isRecord(v) ? [v] : [];
  return items.flatMap((o): string[] => {
    if (typeof o === 'string') return [o];
    if (!isRecord(o)) return [];
    const { type, ...rest } = o;
    const attrs = Object.entries(rest)
      .filter(([, value]) => typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      .map(([k, value]) => `${k}=${String(value)}`);
    return [[...(typeof type === 'string' ? [`type=${type}`] : []), ...attrs].join(',')];
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function stringMap(v: unknown): Record<string, string> {
  if (!isRecord(v)) return {};
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
}
