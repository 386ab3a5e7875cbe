/**
 * A `docker save` archive as an ImageSource. Docker 25 and later write an OCI layout into it
 * (oci-layout, index.json, blobs/): it is read as one, each image named as Docker names it (the
 * io.containerd.image.name annotation) or by its position (@N, from 0, as skopeo counts). An older
 * archive has only manifest.json, `[{Config, RepoTags, Layers}]`, each layer an uncompressed
 * "<id>/layer.tar": a layout is made over it in memory, one OCI image manifest per entry (a single
 * platform each, no index), its config the Config member and its layers the Layers members, named
 * by the config's rootfs.diff_ids. docker load holds each layer to its diff_id (the sha256 of the
 * layer tar); here every layer read is checked against it, and the config against its own digest,
 * which its name in the archive states.
 */
import { createHash } from 'node:crypto';
import { DigestMismatchError, isDigest, parseImageRef, type Descriptor } from '../registry/index.ts';
import { overlayFiles, parseJson, readSmall, tarFiles, type LayoutFiles } from './layout-files.ts';
import { LayoutSource, type LayoutNaming } from './layout-source.ts';
import { LocalImageError } from './local-image-error.ts';
import { readTarIndex } from './tar-index.ts';

const IMAGE_NAME = 'io.containerd.image.name';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

export async function openDockerArchive(file: string): Promise<LayoutSource> {
  const members = await readTarIndex(file);
  const files = tarFiles(file, members, `the archive ${file}`);
  if (members.has('oci-layout') && members.has('index.json')) {
    return LayoutSource.open(
      files,
      byImageName(file, (d) => [d.annotations?.[IMAGE_NAME]].filter((n) => n !== undefined)),
    );
  }
  if (!members.has('manifest.json'))
    throw new LocalImageError(`${file} is not a docker save archive: it holds neither an index.json nor a manifest.json.`);
  return openLegacy(files, file);
}

/** Images by name (a RepoTag, an image name annotation; "alpine" is docker.io/library/alpine:latest) or by position, @N. */
function byImageName(file: string, names: (d: Descriptor) => string[]): LayoutNaming {
  return {
    names,
    pick(reference, manifests) {
      const at = /^@(\d+)$/.exec(reference);
      if (at) {
        const d = manifests[Number(at[1])];
        return d ? [d] : [];
      }
      const wanted = normalName(reference);
      return manifests.filter((d) => names(d).some((n) => normalName(n) === wanted));
    },
    form: `docker-archive:${file}:NAME:TAG or docker-archive:${file}:@N`,
  };
}

/** A name as one string whichever way it is written: "alpine" and "docker.io/library/alpine:latest" are one. */
function normalName(name: string): string {
  try {
    const r = parseImageRef(name);
    return `${r.registry}/${r.repository}:${r.tag ?? 'latest'}`;
  } catch {
    return name;
  }
}

interface LegacyEntry {
  Config?: unknown;
  RepoTags?: unknown;
  Layers?: unknown;
}

/** An archive with manifest.json only: the layout made over it (index.json, manifests and oci-layout in memory). */
async function openLegacy(base: LayoutFiles, file: string): Promise<LayoutSource> {
  const entries = parseJson(
    await readSmall(base, 'manifest.json', `The archive ${file} has no manifest.json.`),
    `The manifest.json of the archive ${file}`,
  );
  if (!Array.isArray(entries) || entries.length === 0)
    throw new LocalImageError(`The manifest.json of the archive ${file} lists no image.`);
  const own = new Map<string, Buffer>();
  const renamed = new Map<string, string>();
  const names = new Map<string, string[]>();
  const descriptors: Descriptor[] = [];
  for (const [i, entry] of (entries as LegacyEntry[]).entries()) {
    const image = `image @${i} of the archive ${file}`;
    const { Config, Layers, RepoTags } = entry ?? {};
    if (typeof Config !== 'string' || !Array.isArray(Layers) || !Layers.every((l) => typeof l === 'string'))
      throw new LocalImageError(
        `The manifest.json of the archive ${file} lists its image @${i} without a Config member and a list of Layers.`,
      );
    const configBytes = await readSmall(base, Config, `The ${image} names the config ${Config}, and the archive holds no such file.`);
    const config = describeConfig(Config, configBytes, file);
    const diffIds = (parseJson(configBytes, `The config ${Config} of the archive ${file}`) as { rootfs?: { diff_ids?: unknown } } | null)
      ?.rootfs?.diff_ids;
    if (
      !Array.isArray(diffIds) ||
      diffIds.length !== Layers.length ||
      !diffIds.every((d) => typeof d === 'string' && d.startsWith('sha256:') && isDigest(d))
    )
      throw new LocalImageError(
        `The config of the ${image} does not name its ${Layers.length} layers (its rootfs.diff_ids are not ${Layers.length} sha256 digests).`,
      );
    renamed.set(`blobs/${config.digest.replace(':', '/')}`, Config);
    const layers: Descriptor[] = [];
    for (const [j, layer] of Layers.entries()) {
      const size = await base.size(layer);
      if (size === undefined) throw new LocalImageError(`The ${image} lists the layer ${layer}, and the archive holds no such file.`);
      const digest = diffIds[j] as string;
      renamed.set(`blobs/${digest.replace(':', '/')}`, layer);
      layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest, size });
    }
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers }));
    const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
    own.set(`blobs/${digest.replace(':', '/')}`, manifest);
    descriptors.push({ mediaType: OCI_MANIFEST, digest, size: manifest.length });
    const tags = Array.isArray(RepoTags) ? RepoTags.filter((t): t is string => typeof t === 'string') : [];
    names.set(digest, [...(names.get(digest) ?? []), ...tags]);
  }
  own.set('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  own.set('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: descriptors })));
  return LayoutSource.open(
    overlayFiles(base, own, renamed),
    byImageName(file, (d) => names.get(d.digest) ?? []),
  );
}

/**
 * The config's descriptor: its digest is its bytes', which a name of the archive states ("<hex>.json",
 * "blobs/sha256/<hex>"); bytes of another digest are refused.
 */
function describeConfig(name: string, bytes: Buffer, file: string): Descriptor {
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const stated = /(?:^|\/)([0-9a-f]{64})(?:\.json)?$/.exec(name)?.[1];
  if (stated && digest !== `sha256:${stated}`)
    throw new DigestMismatchError(`The archive ${file} holds other content for the config ${name}: its bytes have the digest ${digest}.`);
  return { mediaType: 'application/vnd.oci.image.config.v1+json', digest, size: bytes.length };
}
