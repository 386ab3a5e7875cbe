/**
 * The `config` check: the image config's os/architecture/variant equal the index entry's platform,
 * after normalising (arm64/v8 = arm64).
 */
import { formatPlatform, samePlatform, type Platform } from '../platform/platform.ts';
import { configPlatform, type FetchedManifest, type ImageConfig, type ImageSource, type IndexEntry } from '../registry/client.ts';
import { fail, pass, type CheckResult } from '../result/model.ts';

export async function checkConfig(
  source: ImageSource,
  entry: IndexEntry,
  platform: Platform,
): Promise<{ result: CheckResult; manifest?: FetchedManifest; config?: ImageConfig }> {
  const name = formatPlatform(platform);
  let manifest: FetchedManifest;
  let config: ImageConfig;
  try {
    manifest = await source.manifest(entry.digest);
    if (!manifest.body.config) throw new Error(`${entry.digest} is not an image manifest`);
    config = await source.blobJson<ImageConfig>(manifest.body.config.digest);
  } catch (err) {
    return { result: fail(`the manifest or config of ${name} cannot be read: ${(err as Error).message}`) };
  }
  const declared = configPlatform(config);
  const result = samePlatform(declared, platform)
    ? pass(formatPlatform(declared))
    : fail(`the image config says ${formatPlatform(declared)}, the index says ${name}`);
  return { result, manifest, config };
}
