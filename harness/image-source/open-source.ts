/**
 * A target as an ImageSource. A registry's image is read through the blob cache; a local image, by
 * its transport: an OCI layout in a folder (oci:) or in a tar (oci-archive:), a docker save archive
 * (docker-archive:), an image of the engine's store, saved from it (docker-daemon:), not wrapped (the
 * cache would only copy local bytes). Each local one is opened here, read as far as its index, so a
 * target that is no image fails now, in one sentence, before the session starts (for docker-daemon:,
 * the engine's export is all the engine is asked meanwhile).
 */
import { stat } from 'node:fs/promises';
import { RegistryClient, withBlobCache, type ImageSource } from '../registry/index.ts';
import { openDockerArchive } from './docker-archive-source.ts';
import type { ImageTarget, LocalImageTarget } from './image-target.ts';
import { folderFiles, tarFiles } from './layout-files.ts';
import { byTag, LayoutSource } from './layout-source.ts';
import { LocalImageError } from './local-image-error.ts';
import { readTarIndex } from './tar-index.ts';

/** The source of a target's manifests and blobs; `caFile`: a registry's private CA. */
export function openImageSource(target: ImageTarget, o: { caFile?: string } = {}): Promise<ImageSource> {
  if (target.kind === 'local') return openLocalSource(target);
  return Promise.resolve(withBlobCache(RegistryClient.for(target.ref, o.caFile ? { caFile: o.caFile } : {})));
}

/**
 * What names the target's image in its source, as readIndex takes it: a registry reference's digest,
 * else its tag; a local target's tag or name, or '' for the only image there is.
 */
export function imageReference(target: ImageTarget): string {
  return target.kind === 'local' ? (target.tag ?? '') : (target.ref.digest ?? target.ref.tag ?? 'latest');
}

/**
 * The source of a local target's images. Its manifest(`target.tag ?? ''`) is the image the target
 * names: what readIndex reads as the top.
 */
export async function openLocalSource(target: LocalImageTarget): Promise<ImageSource> {
  const { transport, path } = target;
  switch (transport) {
    case 'oci': {
      const s = await stat(path).catch(() => undefined);
      if (!s?.isDirectory())
        throw new LocalImageError(
          s ? `${path} is a file, not a folder: an OCI layout in a tar is oci-archive:${path}.` : `There is no folder ${path}.`,
        );
      return LayoutSource.open(folderFiles(path, `the OCI layout ${path}`), byTag(`oci:${path}:TAG`));
    }
    case 'oci-archive':
      return LayoutSource.open(tarFiles(path, await readTarIndex(path), `the OCI archive ${path}`), byTag(`oci-archive:${path}:TAG`));
    case 'docker-archive':
      return openDockerArchive(path);
    case 'docker-daemon': {
      // Loaded only for an image of the engine's store: the engine's client is not needed otherwise.
      const { openDaemonImage } = await import('./daemon-source.ts');
      return openDaemonImage(target);
    }
  }
}
