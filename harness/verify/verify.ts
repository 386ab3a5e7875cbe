/**
 * Verifies a multi-platform image in any registry, or a local one, platform by platform: the checks (index, config,
 * binary, run, and a container-structure-test file's tests), each a `Check` over the platform's
 * inputs (checks/check.ts, checks/context.ts), each reported on its own. A check whose input could
 * not be had is not reached, and says so.
 */
import { rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import pLimit from 'p-limit';
import { type PlatformExecution, samePlatform, expectedText, type Expectation, type Platform } from '../platform/index.ts';
import { onEngine } from '../engine/index.ts';
import { classifyPlaced, placementOf, type PlacedNode, type HostProbe } from '../host/index.ts';
import { imagesPresent, type Session } from '../session/index.ts';
import { readIndex, type ImageSource, type IndexView } from '../registry/index.ts';
import { imageReference, type ImageTarget } from '../image-source/index.ts';
import {
  runReference,
  binaryCheck,
  type Check,
  type CheckOutcome,
  type PlatformContext,
  type VerifyRequest,
  configCheck,
  platformContext,
  indexCheck,
} from '../checks/index.ts';
import { newPlatformResult, settle, type PlatformResult, type Progress } from '../result/index.ts';
import type { StructureTestFile } from '../structure-file/index.ts';
import { runCheck, runsTheImage, DEFAULT_RUN_NETWORK } from '../run-check/index.ts';
import { structureTestsCheck } from '../structure/index.ts';
import { scratchFolder } from '../base/index.ts';

/**
 * Every check, in report order. All of a platform's checks start at once and read their inputs from
 * its context: the run starts beside the config and binary checks; the structure tests wait for the
 * binary verdict; a check whose input is missing is not reached.
 */
export const CHECKS: readonly Check[] = [indexCheck, configCheck, binaryCheck, structureTestsCheck, runCheck];

export interface VerifyPlatformsOptions {
  ctx: Session;
  probe: HostProbe;
  /** The image: a registry reference, or a local image (loaded into the engine for the run check). */
  target: ImageTarget;
  /** Where manifests and blobs come from: the registry client, a local image (openImageSource), or an in-memory source in tests. */
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
  const index = await (o.index ?? readIndex(o.source, imageReference(o.target)));
  const chosen = o.platforms ?? index.entries.map((e) => e.platform);
  const executions = o.executions ?? (o.select ? o.select(chosen) : chosen).map((p) => classifyPlaced(p, o.probe, o.nodes));
  const { target } = o;
  const request: VerifyRequest = {
    target,
    ...(o.expect ? { expect: o.expect } : {}),
    ...(o.command ? { command: o.command } : {}),
    ...(o.structureTests ? { structureTests: o.structureTests } : {}),
    allowForeign: o.allowForeign ?? [],
    network: o.network ?? DEFAULT_RUN_NETWORK,
    allowSkip: Boolean(o.allowSkip),
  };
  const tmp = await scratchFolder('verify');
  // Removed by the session too: a signal's cleanup does not wait for this function's finally.
  o.ctx.defer(`removing ${tmp}`, () => rm(tmp, { recursive: true, force: true }));
  try {
    // Which pinned images the default engine has already: one call for all its platforms, not one each.
    // (A local image's platforms are loaded under new names: nothing to ask.)
    const local = executions.filter((e) => !placementOf(e.platform, o.probe, o.nodes).node);
    const entries = local.map((e) => index.entries.find((x) => samePlatform(x.platform, e.platform))).filter((x) => x !== undefined);
    const refs =
      target.kind === 'registry'
        ? [
            ...new Set(
              entries.map((entry) =>
                runReference({ ref: target.ref, indexDigest: index.digest, entries: index.entries, entry, imageStore: o.probe.imageStore }),
              ),
            ),
          ]
        : [];
    const answer = runsTheImage(request) && refs.length ? await imagesPresent(refs) : undefined;
    const presence: ReadonlyMap<string, boolean> = new Map(answer ? refs.map((ref) => [ref, answer.has(ref)]) : []);
    const limit = pLimit(o.concurrency ?? defaultConcurrency());
    // Every platform finishes (or fails) before the caller cleans up: none is left pulling or running.
    const settled = await Promise.allSettled(
      executions.map((exec) =>
        limit(() => {
          // The engine this platform is placed on: its probe judges the run, and every docker command goes there.
          const placed = placementOf(exec.platform, o.probe, o.nodes);
          const ctx = platformContext({
            session: o.ctx,
            engineName: placed.engineName,
            probe: placed.probe,
            exec,
            request,
            source: o.source,
            index,
            scratch: tmp,
            presence,
            ...(o.onProgress ? { onProgress: o.onProgress } : {}),
          });
          return onEngine(placed.node, () => verifyPlatform(ctx));
        }),
      ),
    );
    const failure = settled.find((x) => x.status === 'rejected');
    if (failure) throw failure.reason;
    const results = settled.map((x) => (x as PromiseFulfilledResult<PlatformResult>).value);
    const listed = index.entries.map((e) => classifyPlaced(e.platform, o.probe, o.nodes));
    for (const c of CHECKS) c.conclude?.(results, listed, request);
    return results;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** One platform: every check at once, over its context; their outcomes in the result, in list order. */
async function verifyPlatform(ctx: PlatformContext): Promise<PlatformResult> {
  const r = newPlatformResult(ctx.exec, expectedText(ctx.request.expect, ctx.exec, ctx.probe.native));
  r.node = ctx.engineName;
  // Every check awaited, whatever happens: no platform returns with its container still running.
  const outcomes = await Promise.allSettled(CHECKS.map((c) => c.check(ctx)));
  const failed = outcomes.find((x) => x.status === 'rejected');
  if (failed) throw failed.reason;
  CHECKS.forEach((c, i) => apply(r, c, (outcomes[i] as PromiseFulfilledResult<CheckOutcome>).value));
  const settledResult = settle(r);
  ctx.progress(settledResult.status);
  return settledResult;
}

function apply(r: PlatformResult, c: Check, outcome: CheckOutcome): void {
  if (outcome.result && c.name !== 'structure-tests') r.checks[c.name] = outcome.result;
  Object.assign(r, outcome.findings);
}
