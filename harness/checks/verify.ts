/**
 * Verifies a multi-platform image in any registry, platform by platform: the four checks in order
 * (index, config, binary, run), each its own unit in this folder, each reported on its own. A check
 * whose input an earlier check could not provide is not reached, and says so.
 */
import { rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import pLimit from 'p-limit';
import type { PlatformExecution } from '../platform/execution-mode.ts';
import { onEngine } from '../engine/engine-scope.ts';
import { classifyPlaced, placementOf, type PlacedNode } from './placement.ts';
import { imagesPresent } from '../engine/container.ts';
import { samePlatform } from '../platform/platform.ts';
import { expectedText, type Expectation } from '../platform/expectations.ts';
import type { HostProbe } from '../host/probe.ts';
import type { ImageRef } from '../registry/image-ref.ts';
import { runReference } from './run-reference.ts';
import type { Platform } from '../platform/platform.ts';
import { readIndex, type ImageSource, type IndexEntry, type IndexView } from '../registry/client.ts';
import { newPlatformResult, settle, skip, type PlatformResult } from '../result/model.ts';
import { timed } from '../result/phases.ts';
import type { ImageFilesystem } from '../image/filesystem.ts';
import type { StructureTestFile } from '../structure/test-file.ts';
import type { Session } from '../engine/session.ts';
import { keepVerdict, reusedVerdict, type BinaryVerdict, type BinaryVerdictKey } from './binary-check-cache.ts';
import { checkConfig } from './config-check.ts';
import { checkIndex } from './index-check.ts';
import { checkRun } from './run-check.ts';
import type { CommandLineOf } from './run-verdict.ts';
import { DEFAULT_RUN_NETWORK } from '../engine/run-network.ts';
import { unameTwins } from './run-verdict.ts';
import type { Progress } from '../result/progress.ts';
import { scratchFolder } from '../scratch-folders.ts';

export interface VerifyPlatformsOptions {
  ctx: Session;
  probe: HostProbe;
  ref: ImageRef;
  /** Where manifests and blobs come from: the registry client, or an in-memory source in tests. */
  source: ImageSource;
  /** The index, when the caller started reading it already (while the engine was probed). */
  index?: Promise<IndexView>;
  /** Platforms to check; default every platform the index lists. */
  platforms?: Platform[];
  /** How each platform runs here, when the caller classified them already. */
  executions?: PlatformExecution[];
  /** Platforms placed on other engines (--node): they are classified, run and cleaned up there. */
  nodes?: PlacedNode[];
  /** Narrows the platforms once they are known (a shard of what the index lists). */
  select?: (platforms: Platform[]) => Platform[];
  expect?: Expectation;
  command?: string[];
  /**
   * A container-structure-test file: its tests run on every platform beside the checks. Its command
   * tests run the image, so the run check runs only when an expectation is given too.
   */
  structureTests?: StructureTestFile;
  /** Globs of paths whose ELF files are foreign on purpose (emulators, cross toolchains, firmware). */
  allowForeign?: readonly string[];
  /** The network the run check's containers join (docker run --network); default none. */
  network?: string;
  allowSkip?: boolean;
  concurrency?: number;
  onProgress?: Progress;
}

/**
 * How many platforms are verified at once when nobody says: four per core. A platform's work is
 * mostly waiting (a registry, the engine's pull, a container's start), and its CPU-heavy part, an
 * emulated program, is short for a verify; more at once keeps the cores busy without the machine
 * thrashing (measured with bench/versus-bare.ts on 2 cores: 8 at once beat 4). `--concurrency N` sets it.
 */
function defaultConcurrency(): number {
  return Math.max(2, availableParallelism() * 4);
}

export async function verifyPlatforms(o: VerifyPlatformsOptions): Promise<PlatformResult[]> {
  const index = await (o.index ?? readIndex(o.source, o.ref.digest ?? o.ref.tag ?? 'latest'));
  const chosen = o.platforms ?? index.entries.map((e) => e.platform);
  const executions = o.executions ?? (o.select ? o.select(chosen) : chosen).map((p) => classifyPlaced(p, o.probe, o.nodes));
  const tmp = await scratchFolder('verify');
  // Removed by the session too: a signal's cleanup does not wait for this function's finally.
  o.ctx.defer(`removing ${tmp}`, () => rm(tmp, { recursive: true, force: true }));
  try {
    // Which pinned images the default engine has already: one call for all its platforms, not one each.
    const local = executions.filter((e) => !placementOf(e.platform, o.probe, o.nodes).node);
    const entries = local.map((e) => index.entries.find((x) => samePlatform(x.platform, e.platform))).filter((x) => x !== undefined);
    const refs = [...new Set(entries.map((entry) => runReferenceOf(o, index, entry, o.probe)))];
    const answer = runsTheImage(o) ? await imagesPresent(refs) : undefined;
    const presence: Presence = new Map(answer ? refs.map((ref) => [ref, answer.has(ref)]) : []);
    const limit = pLimit(o.concurrency ?? defaultConcurrency());
    // Every platform finishes (or fails) before the caller cleans up: none is left pulling or running.
    const settled = await Promise.allSettled(executions.map((exec) => limit(() => verifyOne(o, index, exec, tmp, presence))));
    const failure = settled.find((x) => x.status === 'rejected');
    if (failure) throw failure.reason;
    const results = settled.map((x) => (x as PromiseFulfilledResult<PlatformResult>).value);
    if (o.expect?.kind === 'uname')
      sayWhatUnameCannotTell(
        results,
        index.entries.map((e) => classifyPlaced(e.platform, o.probe, o.nodes)),
      );
    return results;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Where uname cannot tell a platform from another one the index lists (they report the same
 * machine here), its run check says so, and that the binary check is what tells them apart.
 */
function sayWhatUnameCannotTell(results: PlatformResult[], listed: readonly PlatformExecution[]): void {
  const twins = unameTwins(listed);
  for (const r of results) {
    const others = twins.get(r.platform);
    if (!others || r.checks.run.status === 'skip') continue;
    r.unameTwins = others;
    r.checks.run = {
      ...r.checks.run,
      message:
        `${r.checks.run.message ?? ''}; uname -m alone cannot tell ${r.platform} from ${others.join(', ')} on this host (the same machine name), so the binary check decided`.replace(
          /^; /,
          '',
        ),
    };
  }
}

/** Where a platform's container starts from on the engine it is placed on (run-reference.ts). */
function runReferenceOf(o: VerifyPlatformsOptions, index: IndexView, entry: IndexEntry, probe: HostProbe): string {
  return runReference({ ref: o.ref, indexDigest: index.digest, entries: index.entries, entry, imageStore: probe.imageStore });
}

/**
 * What the binary check reads of the config besides the layers (findEntryBinary, the library
 * search): not its labels (the harness labels what it builds with its run), nor its history and times.
 */
function entrySettings(
  c: { Entrypoint?: string[] | null; Cmd?: string[] | null; WorkingDir?: string; Env?: string[] } | undefined,
): unknown {
  return { Entrypoint: c?.Entrypoint ?? null, Cmd: c?.Cmd ?? null, WorkingDir: c?.WorkingDir ?? '', Env: c?.Env ?? [] };
}

/** Whether the default engine had each pinned image it was asked about. */
type Presence = ReadonlyMap<string, boolean>;

/** The image's own command runs unless a container-structure-test file's command tests run it instead. */
function runsTheImage(o: VerifyPlatformsOptions): boolean {
  return Boolean(o.expect) || !o.structureTests;
}

async function verifyOne(
  options: VerifyPlatformsOptions,
  index: IndexView,
  exec: PlatformExecution,
  tmp: string,
  presence: Presence,
): Promise<PlatformResult> {
  // The engine this platform is placed on: its probe judges the run, and every docker command goes there.
  const placed = placementOf(exec.platform, options.probe, options.nodes);
  const o = { ...options, probe: placed.probe };
  return onEngine(placed.node, () => verifyPlaced(o, index, exec, tmp, placed.name, presence));
}

async function verifyPlaced(
  o: VerifyPlatformsOptions,
  index: IndexView,
  exec: PlatformExecution,
  tmp: string,
  node: string,
  presence: Presence,
): Promise<PlatformResult> {
  const r = newPlatformResult(exec, expectedText(o.expect, exec, o.probe.native));
  r.node = node;
  const state = (s: string) => o.onProgress?.('', { platform: r.platform, state: s });
  const done = (x: PlatformResult) => {
    state(x.status);
    return x;
  };
  state('reading manifest and config');
  const indexed = checkIndex(index, exec.platform);
  r.checks.index = indexed.result;
  if (!indexed.entry) return done(settle(r));
  r.digest = indexed.entry.digest;
  const entry = indexed.entry;
  const structureTests = o.structureTests;
  const image = runReferenceOf(o, index, entry, o.probe);

  // The run starts now, beside the config and binary checks: neither waits for the other; only a
  // second opinion after a crash needs the entry program the binary check resolves.
  // With a container-structure-test file and no expectation, its command tests run the image instead.
  // (On a platform that cannot run, the run check says so either way.)
  const runs = runsTheImage(o) || exec.mode === 'unavailable';
  let resolveBinary: (b: CommandLineOf | undefined) => void = () => undefined;
  const binaryOfEntry = new Promise<CommandLineOf | undefined>((resolve) => {
    resolveBinary = resolve;
  });
  const running = runs
    ? checkRun({
        ctx: o.ctx,
        probe: o.probe,
        exec,
        image,
        allowSkip: Boolean(o.allowSkip),
        network: o.network ?? DEFAULT_RUN_NETWORK,
        ...(o.expect ? { expect: o.expect } : {}),
        ...(o.command ? { command: o.command } : {}),
        binary: binaryOfEntry,
        ...(presence.has(image) ? { present: presence.get(image)! } : {}),
        ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      })
    : undefined;
  // Awaited below, on every path: no platform returns with its container still running.
  running?.catch(() => undefined);
  const ranResult = async () => {
    if (!running) return;
    const ran = await running;
    r.checks.run = ran.result;
    Object.assign(r, ran.findings);
  };

  try {
    return await checkAndJudge();
  } finally {
    // Whatever the checks below did (a throw included): a second opinion never waits for a binary
    // that will not come (resolving twice does nothing), and no platform returns with its container running.
    resolveBinary(undefined);
    await running?.catch(() => undefined);
  }

  async function checkAndJudge(): Promise<PlatformResult> {
    const configured = await timed(o.ctx.phases, 'static checks', () => checkConfig(o.source, entry, exec.platform));
    r.checks.config = configured.result;
    if (!configured.manifest || !configured.config) {
      resolveBinary(undefined);
      await ranResult();
      return done(settle(r));
    }
    state('reading layers');
    const { manifest, config } = configured;
    const verdictKey: BinaryVerdictKey = {
      layers: (manifest.body.layers ?? []).map((l) => l.digest),
      runtimeConfig: entrySettings(config.config),
      exec,
      native: o.probe.native,
      ...(o.command ? { command: o.command } : {}),
      ...(o.allowForeign?.length ? { allowForeign: o.allowForeign } : {}),
    };
    const statics = async (): Promise<{ fs?: ImageFilesystem | { problem: string }; binary: BinaryVerdict }> => {
      // The same layers and entry settings judged before by this harness: no layer is read at all (unless file tests need them).
      const reused = structureTests ? undefined : await reusedVerdict(verdictKey);
      if (reused) return { binary: reused };
      // The layers are read once: the binary check and the file tests both read this file system.
      let fs: ImageFilesystem | { problem: string };
      try {
        const { readImageFilesystem } = await import('../image/layers.ts');
        fs = await timed(o.ctx.phases, 'static checks', () => readImageFilesystem(o.source, manifest, tmp));
      } catch (err) {
        fs = { problem: `the file system of ${r.platform} cannot be read: ${(err as Error).message}` };
      }
      const files = fs;
      // Loaded when a verdict must be reached: a verify whose verdicts are all reused never loads the ELF and tar readers.
      const { checkEntryBinary } = await import('./binary-check.ts');
      const binary = await timed(o.ctx.phases, 'static checks', () =>
        checkEntryBinary({
          source: o.source,
          manifest,
          config,
          exec,
          native: o.probe.native,
          tmp,
          ...(o.command ? { command: o.command } : {}),
          fs: files,
          ...(o.allowForeign?.length ? { allowForeign: o.allowForeign } : {}),
        }),
      );
      await keepVerdict(verdictKey, { ...binary, readable: binary.elfFiles !== undefined });
      return { fs: files, binary };
    };
    const { fs, binary } = await statics().catch((err: unknown) => {
      resolveBinary(undefined);
      throw err;
    });
    resolveBinary(binary.binary);
    r.checks.binary = binary.result;
    if (binary.summary) r.binary = binary.summary;

    if (structureTests) {
      const { runStructureTests } = await import('../structure/run-structure-tests.ts');
      r.structureTests = await timed(o.ctx.phases, 'structure tests', () =>
        runStructureTests({
          ctx: o.ctx,
          file: structureTests,
          exec,
          config,
          fs: fs!,
          image,
          allowSkip: Boolean(o.allowSkip),
          ...(o.onProgress ? { onProgress: o.onProgress } : {}),
        }),
      );
    }
    if (!running) {
      const instead = structureTests!.commandTests.length
        ? "'s command tests ran the image instead"
        : ' has no command tests and no expectation was given';
      r.checks.run = skip(
        `not run: the container-structure-test file${instead} (give --expect-output or --expect-uname to run the image's own command too)`,
      );
      return done(settle(r));
    }
    await ranResult();
    return done(settle(r));
  }
}
