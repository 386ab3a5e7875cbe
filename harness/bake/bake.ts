/**
 * Builds a bake file's targets in one `docker buildx bake --push`, each tagged on the session's own
 * registry (`--set T.tags=...`), its platforms set (`--set T.platform=...`), its outputs replaced
 * by a push (`--set T.output=type=registry`: the bake file's own outputs, a local folder or the
 * engine's store, are not what is verified), through a named builder, with BuildKit's rawjson
 * progress and a metadata file whose entry per target pins its image (`containerimage.digest`).
 *
 * buildx names a step of a bake of several targets with its target ("[hello linux/arm64 builder
 * 2/4] RUN ..."): each step is timed for its target and platform (build/'s BuildTimings).
 */
import { readFile, rm } from 'node:fs/promises';
import { join, relative, resolve, isAbsolute } from 'node:path';
import { BuildTimings, RawJsonSplitter, type BuildFailureCause } from '../build/index.ts';
import { dockerCli, EngineError, type CommandResult } from '../engine/index.ts';
import { isTransient, scratchFolder, withRetry } from '../base/index.ts';
import { formatPlatform, type Platform } from '../platform/index.ts';
import { fileArgs, type BakeFiles, type BakeTarget } from './bake-file.ts';

/** One target as the bake builds it: its platforms here and the reference it is pushed to. */
export interface BakePlan {
  name: string;
  platforms: Platform[];
  tag: string;
}

export interface BakeRequest {
  bake: BakeFiles;
  targets: BakePlan[];
  builder: string;
  /** `k=v` labels set on every target's image. */
  labels?: string[];
  /** BuildKit's default provenance attestation; off unless asked for, as for a build. */
  provenance?: boolean;
  noCache?: boolean;
  timeoutMs?: number;
  /** `--allow fs.read=PATH` for each: the local paths outside the bake's folder its targets read (allowances()). */
  allowRead?: string[];
  /** A step that started: its target and its name without the target. */
  onVertex?: (target: string, name: string) => void;
}

interface BakedTarget {
  /** Digest of the pushed index (or manifest, for one platform). */
  digest: string;
  mediaType: string;
  /** Wall-clock time each platform's steps ran, from the rawjson stream. */
  perPlatformMs: Record<string, number>;
  /** The longest of its platforms' times (they build at once). */
  buildMs: number;
}

interface BakeResult {
  targets: Record<string, BakedTarget>;
  totalMs: number;
  /** Why each earlier attempt failed, when the bake was tried again after a transient failure. */
  retried: string[];
}

/**
 * A bake that failed. `failure` is the step that failed first and its target: BuildKit stops every
 * other target's steps because of it ("context canceled").
 */
export class BakeFailedError extends EngineError {
  override name = 'BakeFailedError';
  constructor(
    readonly failure: { target: string; cause: BuildFailureCause } | undefined,
    result: CommandResult,
    fallback: string,
  ) {
    super(
      failure
        ? `the bake of ${failure.target} failed${failure.cause.platform ? ` for ${failure.cause.platform}` : ''} at ${failure.cause.step}: ${failure.cause.error}`
        : `the bake failed: ${fallback}`,
      { result, ...(failure ? { transient: false } : {}) },
    );
  }
}

/** The `docker buildx bake` arguments of a request, the metadata file given. */
export function bakeArgs(req: BakeRequest, metadata: string): string[] {
  const sets = req.targets.flatMap((t) => [
    '--set',
    `${t.name}.tags=${t.tag}`,
    // One --set per platform: buildx makes a list of the values a key is given (a comma would be one entry).
    ...t.platforms.flatMap((p) => ['--set', `${t.name}.platform=${formatPlatform(p)}`]),
    '--set',
    `${t.name}.output=type=registry`,
    ...(req.labels ?? []).flatMap((l) => ['--set', `${t.name}.labels.${l}`]),
  ]);
  return [
    'buildx',
    'bake',
    ...fileArgs(req.bake.files),
    '--builder',
    req.builder,
    '--progress=rawjson',
    `--provenance=${req.provenance ?? false}`,
    ...(req.noCache ? ['--no-cache'] : []),
    '--metadata-file',
    metadata,
    '--push',
    ...(req.allowRead ?? []).map((p) => `--allow=fs.read=${p}`),
    ...sets,
    ...req.targets.map((t) => t.name),
  ];
}

/**
 * The target a step of a bake works for, and the step's own name: buildx puts the target's name in
 * front when a bake builds several ("[hello linux/arm64 builder 2/4] RUN ...", "[hello] ...");
 * a bake of one names no target. The longest name that fits wins ("greeting-en" over "greeting").
 */
export function targetOfVertex(name: string, targets: readonly string[]): { target: string; step: string } | undefined {
  if (targets.length === 1) return { target: targets[0]!, step: name };
  const byLength = [...targets].sort((a, b) => b.length - a.length);
  for (const t of byLength) {
    if (name.startsWith(`[${t} `)) return { target: t, step: `[${name.slice(t.length + 2)}` };
    if (name.startsWith(`[${t}] `)) return { target: t, step: name.slice(t.length + 3) };
  }
  return undefined;
}

export async function bakeAndPush(req: BakeRequest): Promise<BakeResult> {
  const tmp = await scratchFolder('build');
  const metadata = join(tmp, 'metadata.json');
  const names = req.targets.map((t) => t.name);
  const only = (t: BakePlan) => (t.platforms.length === 1 ? formatPlatform(t.platforms[0]!) : undefined);
  try {
    const attempt = async () => {
      const timings = new Map(names.map((n) => [n, new BuildTimings()]));
      const targetOf = new Map<string, string>();
      const splitter = new RawJsonSplitter((o) => {
        for (const v of o.vertexes ?? []) {
          const at = targetOfVertex(v.name, names);
          if (!at) continue;
          targetOf.set(v.digest, at.target);
          timings.get(at.target)!.add({ ...v, name: at.step });
          if (v.started && !v.completed) req.onVertex?.(at.target, at.step);
        }
        for (const l of o.logs ?? []) {
          const target = targetOf.get(l.vertex);
          if (target) timings.get(target)!.addLog(l.vertex, l.data);
        }
      });
      const r = await dockerCli(bakeArgs(req, metadata), {
        cwd: req.bake.cwd,
        timeoutMs: req.timeoutMs,
        check: false,
        onStderrLine: (l) => splitter.line(l),
      });
      if (r.timedOut) throw new EngineError(`the bake did not finish within ${Math.round((req.timeoutMs ?? 0) / 1000)} s.`, { result: r });
      if (r.exitCode !== 0) {
        const detail = r.stderr.split('\n').findLast((l) => /ERROR|error/.test(l)) ?? `exit code ${r.exitCode}`;
        throw new BakeFailedError(firstFailure(req.targets, timings, only), r, detail.trim());
      }
      return { r, timings };
    };
    const retried: string[] = [];
    const { r, timings } = await withRetry(attempt, {
      attempts: 3,
      retryIf: (e) => isTransient(e) && !(e as EngineError).result?.timedOut,
      onRetry: (e) => retried.push(e instanceof Error ? e.message : String(e)),
    });
    const meta = JSON.parse(await readFile(metadata, 'utf8')) as Record<string, Record<string, unknown> | undefined>;
    const targets: Record<string, BakedTarget> = {};
    for (const t of req.targets) {
      const entry = meta[t.name];
      const digest = entry?.['containerimage.digest'];
      if (typeof digest !== 'string')
        throw new EngineError(`the bake pushed no image for the target ${t.name}: its metadata has no containerimage.digest.`, {
          result: r,
        });
      const perPlatformMs = timings.get(t.name)!.perPlatform(only(t));
      targets[t.name] = {
        digest,
        mediaType: (entry?.['containerimage.descriptor'] as { mediaType?: string } | undefined)?.mediaType ?? '',
        perPlatformMs,
        buildMs: Math.max(0, ...Object.values(perPlatformMs)),
      };
    }
    return { targets, totalMs: r.durationMs, retried };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The step that failed first, in the targets' order: one that was not cancelled, else any. */
function firstFailure(
  targets: readonly BakePlan[],
  timings: ReadonlyMap<string, BuildTimings>,
  only: (t: BakePlan) => string | undefined,
): { target: string; cause: BuildFailureCause } | undefined {
  const causes = targets.flatMap((t) => {
    const cause = timings.get(t.name)!.failureCause(only(t));
    return cause ? [{ target: t.name, cause }] : [];
  });
  return causes.find((c) => !/\bcancel(l)?ed\b/i.test(c.cause.error)) ?? causes[0];
}

/**
 * The local folders a bake's targets read outside its own folder (contexts and named contexts), for
 * `--allow fs.read=...`: buildx 0.19 warns about such reads and 0.20 refuses them unless allowed
 * (a user at a terminal is asked). The harness was asked to build these targets, so it allows
 * exactly their folders, and only where buildx knows the flag (none for 0.13).
 */
export function allowances(targets: readonly BakeTarget[], cwd: string, buildxVersion: string | undefined): string[] {
  if (!knowsFsEntitlements(buildxVersion)) return [];
  const paths = targets.flatMap((t) => [...(t.context !== undefined ? [t.context] : []), ...Object.values(t.contexts)]);
  const outside = paths
    .filter(isLocalPath)
    .map((p) => resolve(cwd, p.replace(/^cwd:\/\//, '')))
    .filter((p) => {
      const rel = relative(cwd, p);
      return rel.startsWith('..') || isAbsolute(rel);
    });
  return [...new Set(outside)];
}

/** buildx 0.19 and later check a bake's reads outside its folder. */
function knowsFsEntitlements(version: string | undefined): boolean {
  const m = /(\d+)\.(\d+)/.exec(version ?? '');
  if (!m) return false;
  return Number(m[1]) > 0 || Number(m[2]) >= 19;
}

/** A context that is a folder here: not a URL, a Git remote, an image or another target. */
function isLocalPath(p: string): boolean {
  return !/^([a-z][a-z0-9+.-]*:\/\/(?!$)|git@|github\.com\/|target:|docker-image:|oci-layout:)/i.test(p) || p.startsWith('cwd://');
}
