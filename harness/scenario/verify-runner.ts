/** The verify scenario's runner: the four checks on an image that already exists, in any registry or local. */
import { verifyPlatforms } from '../verify/index.ts';
import { parsePlatform, type Platform } from '../platform/index.ts';
import { shardLabel, shardPlatforms } from '../result/index.ts';
import { readIndex, type ImageSource, type IndexView } from '../registry/index.ts';
import { imageReference, openImageSource, parseImageTarget, type ImageTarget } from '../image-source/index.ts';
import type { VerifyScenario } from './define.ts';
import { fileURLToPath } from 'node:url';
import { checkOptions, type SessionOptions, type RunnerInput, type ScenarioOutcome } from './outcome.ts';

/** What a verify reads before the engine is probed: the image's index, from its registry (through the layer cache) or its file or folder. */
export interface VerifyIndexRead {
  target: ImageTarget;
  source: ImageSource;
  index: Promise<IndexView>;
}

/**
 * Opens the image and starts reading its index. A registry's index is read while the engine is
 * probed; a local image's is read now, whole, before it: a file or folder that holds no such image
 * is one sentence, and no engine work has started.
 */
export async function readVerifyIndex(s: VerifyScenario, options: SessionOptions): Promise<VerifyIndexRead> {
  const target = parseImageTarget(s.image);
  const source = await openImageSource(target, options.caFile ? { caFile: options.caFile } : {});
  const index = readIndex(source, imageReference(target));
  // Awaited by the run; a probe that fails first must not leave it unhandled.
  index.catch(() => undefined);
  if (target.kind === 'local') await index;
  return { target, source, index };
}

export async function runVerifyScenario(s: VerifyScenario, env: RunnerInput, early?: VerifyIndexRead): Promise<ScenarioOutcome> {
  const { options } = env;
  const { target, source, index } = early ?? (await readVerifyIndex(s, options));
  // An image the engine exported (docker-daemon:) is a scratch file: it goes with the session.
  if (source.close) env.session.defer('removing the image the engine exported', () => source.close!());
  const platforms = options.platforms ?? s.platforms?.map(parsePlatform);
  const structureTests = s.structureTests?.length ? await readScenarioStructureTests(s.structureTests) : undefined;
  const checks = checkOptions(s, options);
  const results = await verifyPlatforms({
    ctx: env.session,
    probe: env.probe,
    nodes: env.nodes,
    target,
    source,
    index,
    ...(platforms ? { platforms } : {}),
    ...(s.expect ? { expect: s.expect } : {}),
    ...(s.command ? { command: s.command } : {}),
    ...(structureTests ? { structureTests } : {}),
    ...checks,
    onProgress: env.progress,
    ...(options.shard ? { select: (all: Platform[]) => shardPlatforms(all, options.shard!) } : {}),
  });
  for (const r of results)
    env.progress(`${r.status.toUpperCase()} ${r.platform} (${r.mode})${r.message ? `: ${r.message}` : ''}`, {
      platform: r.platform,
      state: r.status,
    });
  const notes = options.shard
    ? [
        `Shard ${shardLabel(options.shard)}: ${results.length} of the platforms (\`multiarch-harness report merge\` joins the shards' reports).`,
      ]
    : [];
  const foreign = checks.allowForeign;
  if (foreign.length)
    notes.push(
      `ELF files matching ${foreign.join(', ')} are allowed to be for other platforms (--allow-foreign); the binary check lists the ones it found.`,
    );
  return { platforms: results, notes, ...(results.length ? {} : { nothingBecause: whyNothing(s, options, platforms, await index) }) };
}

/** Why a verify had no platform to check (the run then fails: result/model.ts, conclude). */
function whyNothing(s: VerifyScenario, options: SessionOptions, asked: Platform[] | undefined, index: IndexView): string {
  if (asked?.length === 0)
    return options.platforms ? 'no platform was asked for' : `the scenario ${s.name} lists no platform (its platforms are [])`;
  const listed = asked ?? index.entries.map((e) => e.platform);
  if (listed.length === 0)
    return `the ${index.isIndex ? 'index' : 'manifest'} ${s.image} lists no platform (attestation manifests, unknown/unknown, are not platforms)`;
  if (options.shard)
    return `shard ${shardLabel(options.shard)} holds none of the ${listed.length} platform(s), since there are more shards than platforms`;
  return 'no platform was checked';
}

/** A scenario's container-structure-test files, merged; the YAML reader is loaded only for a scenario that has them. */
async function readScenarioStructureTests(files: ReadonlyArray<string | URL>) {
  const { mergeStructureTests, readStructureTests } = await import('../structure-file/index.ts');
  return mergeStructureTests(await Promise.all(files.map((f) => readStructureTests(f instanceof URL ? fileURLToPath(f) : f))));
}
