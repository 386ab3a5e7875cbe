/**
 * A platform's file system from its manifest's layers, each downloaded once into a scratch folder in
 * its scan's turn (a layer listed twice is downloaded, and read, once; one this process read already,
 * for another platform or image, not at all). A layer is no longer than its
 * descriptor's size says: the registry client refuses more as it comes, before the digest is checked.
 */
import { join } from 'node:path';
import type { FetchedManifest, ImageSource } from '../registry/index.ts';
import { loaderConfigBytes } from './dynamic-deps.ts';
import { ImageFilesystem, ImageFsError, type LayerLimits } from './filesystem.ts';

/**
 * The most layers one image may list: Docker's layer store refuses more than 125 ("max depth
 * exceeded"), so no image anyone runs has more; 256 leaves room for other runtimes, and bounds the
 * downloads and passes a hostile manifest (4 MiB of descriptors) can ask for.
 */
export const MAX_LAYERS = 256;

export async function readImageFilesystem(
  source: ImageSource,
  manifest: FetchedManifest,
  tmp: string,
  options: { limits?: Partial<LayerLimits> } = {},
): Promise<ImageFilesystem> {
  const layers = manifest.body.layers ?? [];
  if (layers.length > MAX_LAYERS) {
    throw new ImageFsError(
      `its manifest lists ${layers.length} layers, more than the ${MAX_LAYERS} the harness reads (Docker itself refuses more than 125)`,
    );
  }
  const files: string[] = [];
  const byDigest = new Map<string, string>();
  for (const [i, layer] of layers.entries()) {
    // The size bounds what is read of the blob: a descriptor without one (the OCI spec requires it) is refused rather than read without bound.
    if (!Number.isSafeInteger(layer.size) || layer.size < 0) {
      throw new ImageFsError(
        `layer ${i + 1} of ${layers.length} (${String(layer.digest)}) has no valid size in its manifest (${JSON.stringify(layer.size) ?? 'none'}), and the size bounds what is read of it`,
      );
    }
    let file = byDigest.get(layer.digest);
    if (!file) {
      file = join(tmp, `${manifest.digest.slice(7, 19)}-${i}`);
      byDigest.set(layer.digest, file);
    }
    files.push(file);
  }
  // Each layer downloaded in its scan's turn, a few at a time; one this process scanned already is not downloaded.
  const fetch = (file: string) => {
    const at = files.indexOf(file);
    return source.blobToFile(layers[at]!.digest, file, layers[at]!.size);
  };
  return ImageFilesystem.fromLayerFiles(files, {
    ...options,
    keep: loaderConfigBytes,
    digests: layers.map((l) => l.digest),
    sizes: layers.map((l) => l.size),
    fetch,
  });
}
