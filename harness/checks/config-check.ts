/**
 * The `config` check: the image config's os/architecture/variant equal the index entry's platform,
 * after normalising (arm64/v8 = arm64).
 */
import { formatPlatform, samePlatform, type Platform } from '../platform/index.ts';
import { configPlatform, type FetchedManifest, type ImageConfig, type ImageSource, type IndexEntry } from '../registry/index.ts';
import { fail, pass, type CheckResult } from '../result/index.ts';
import { isProblem, notReached, type Check, type Problem } from './check.ts';

/** The entry's manifest and config, or why they cannot be read (the context reads them once: checks/context.ts). */
export async function readManifestAndConfig(
  source: ImageSource,
  entry: IndexEntry,
  platform: Platform,
): Promise<{ manifest: FetchedManifest; config: ImageConfig } | Problem> {
  try {
    const manifest = await source.manifest(entry.digest);
    if (!manifest.body.config) throw new Error(`${entry.digest} is not an image manifest`);
    const config = await source.blobJson<ImageConfig>(manifest.body.config.digest);
    return { manifest, config };
  } catch (err) {
    return { problem: `the manifest or config of ${formatPlatform(platform)} cannot be read: ${(err as Error).message}` };
  }
}

/** Whether the config declares the platform the index lists it for. */
function judgeConfig(config: ImageConfig, platform: Platform): CheckResult {
  const declared = configPlatform(config);
  return samePlatform(declared, platform)
    ? pass(formatPlatform(declared))
    : fail(`the image config says ${formatPlatform(declared)}, the index says ${formatPlatform(platform)}`);
}

export async function checkConfig(
  source: ImageSource,
  entry: IndexEntry,
  platform: Platform,
): Promise<{ result: CheckResult; manifest?: FetchedManifest; config?: ImageConfig }> {
  const read = await readManifestAndConfig(source, entry, platform);
  if (isProblem(read)) return { result: fail(read.problem) };
  return { result: judgeConfig(read.config, platform), ...read };
}

export const configCheck: Check = {
  name: 'config',
  async check(ctx) {
    if (!ctx.entry()) return notReached();
    const read = await ctx.manifestAndConfig();
    return { result: isProblem(read) ? fail(read.problem) : judgeConfig(read.config, ctx.exec.platform) };
  },
};
