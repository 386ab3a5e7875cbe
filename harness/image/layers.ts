/** A platform's file system from its manifest's layers, each downloaded once into a scratch folder. */
import { join } from 'node:path';
import type { FetchedManifest, ImageSource } from '../registry/client.ts';
import { ImageFilesystem } from './filesystem.ts';

export async function readImageFilesystem(source: ImageSource, manifest: FetchedManifest, tmp: string): Promise<ImageFilesystem> {
  const layers: string[] = [];
  for (const [i, layer] of (manifest.body.layers ?? []).entries()) {
    const file = join(tmp, `${manifest.digest.slice(7, 19)}-${i}`);
    await source.blobToFile(layer.digest, file);
    layers.push(file);
  }
  return ImageFilesystem.fromLayerFiles(layers);
}
