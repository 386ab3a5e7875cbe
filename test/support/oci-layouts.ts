/**
 * Tiny local images for the image-source tests, made in a temporary folder with real sha256 digests:
 * an OCI layout as buildx's `--output type=oci` writes it (index.json holds one descriptor, of the
 * image index it would push), that layout as a tar (tar-stream's pack), and docker save archives,
 * legacy (manifest.json, `<id>/layer.tar`) and Docker 25's (an OCI layout inside).
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import tar from 'tar-stream';

export const sha = (bytes: Buffer | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export interface Blob {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Buffer;
}

export function blob(mediaType: string, content: Buffer | object): Blob {
  const bytes = Buffer.isBuffer(content) ? content : Buffer.from(JSON.stringify(content));
  return { mediaType, digest: sha(bytes), size: bytes.length, bytes };
}

/** A descriptor of a blob, with what else it carries (platform, annotations). */
export const descriptor = (b: Blob, extra: object = {}) => ({ mediaType: b.mediaType, digest: b.digest, size: b.size, ...extra });

export const MEDIA = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar',
};

/** One platform's image: its config, one layer (any bytes), its manifest. */
export function platformImage(architecture: string, layerText = `${architecture} layer`) {
  const layer = blob(MEDIA.layer, Buffer.from(layerText));
  const config = blob(MEDIA.config, { architecture, os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] } });
  const manifest = blob(MEDIA.manifest, {
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config: descriptor(config),
    layers: [descriptor(layer)],
  });
  return { layer, config, manifest, blobs: [layer, config, manifest] };
}

/**
 * What buildx writes for `--platform linux/amd64,linux/arm64 --output type=oci`: two platforms, an
 * attestation manifest (unknown/unknown) for amd64, the image index, and index.json with one
 * descriptor of that index named by `tag`.
 */
export function buildxImage(tag = 'v1') {
  const amd64 = platformImage('amd64');
  const arm64 = platformImage('arm64');
  const attestation = blob(MEDIA.manifest, { schemaVersion: 2, mediaType: MEDIA.manifest, config: descriptor(amd64.config), layers: [] });
  const index = blob(MEDIA.index, {
    schemaVersion: 2,
    mediaType: MEDIA.index,
    manifests: [
      descriptor(amd64.manifest, { platform: { architecture: 'amd64', os: 'linux' } }),
      descriptor(arm64.manifest, { platform: { architecture: 'arm64', os: 'linux' } }),
      descriptor(attestation, {
        platform: { architecture: 'unknown', os: 'unknown' },
        annotations: { 'vnd.docker.reference.digest': amd64.manifest.digest, 'vnd.docker.reference.type': 'attestation-manifest' },
      }),
    ],
  });
  const top = { schemaVersion: 2, mediaType: MEDIA.index, manifests: [descriptor(index, { annotations: tagAnnotations(tag) })] };
  return { amd64, arm64, index, top, blobs: [...amd64.blobs, ...arm64.blobs, attestation, index] };
}

export const tagAnnotations = (tag: string) => ({
  'io.containerd.image.name': `docker.io/library/demo:${tag}`,
  'org.opencontainers.image.ref.name': tag,
});

/** Writes a layout into `dir`: oci-layout, index.json (`top`), and each blob under blobs/sha256/. */
export async function writeLayout(
  dir: string,
  top: object,
  blobs: Blob[],
  layout: object = { imageLayoutVersion: '1.0.0' },
): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify(layout));
  await writeFile(join(dir, 'index.json'), JSON.stringify(top));
  for (const b of blobs) await writeFile(join(dir, 'blobs', 'sha256', b.digest.slice(7)), b.bytes);
}

/** A tar of members, in order, made by tar-stream's pack (a member with `linkname` is a symbolic link). */
export async function packTar(file: string, members: Array<{ name: string; bytes?: Buffer; linkname?: string }>): Promise<void> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  for (const m of members) {
    if (m.linkname !== undefined) pack.entry({ name: m.name, type: 'symlink', linkname: m.linkname });
    else pack.entry({ name: m.name, size: m.bytes!.length }, m.bytes!);
  }
  pack.finalize();
  await collected;
  await writeFile(file, Buffer.concat(chunks));
}

/** Every file of a folder as a tar member named by its path in the folder, as `tar -C dir -cf file .` would (with "./"). */
export async function tarFolder(dir: string, file: string): Promise<void> {
  const members: Array<{ name: string; bytes: Buffer }> = [];
  const walk = async (at: string): Promise<void> => {
    for (const name of (await readdir(at)).sort()) {
      const path = join(at, name);
      if ((await stat(path)).isDirectory()) await walk(path);
      else members.push({ name: `./${relative(dir, path)}`, bytes: await readFile(path) });
    }
  };
  await walk(dir);
  await packTar(file, members);
}

/**
 * A legacy docker save archive (before Docker 25): manifest.json, each config "<hex>.json", each layer
 * "<id>/layer.tar"; a layer the second image shares is a symbolic link to the first one's, as docker save writes it.
 */
export async function legacyArchive(
  file: string,
  images: Array<{ tags: string[]; architecture: string; layers: string[] }>,
): Promise<void> {
  const members: Array<{ name: string; bytes?: Buffer; linkname?: string }> = [];
  const written = new Map<string, string>();
  const manifest = [];
  for (const [i, image] of images.entries()) {
    const layers = image.layers.map((text) => Buffer.from(text));
    const config = Buffer.from(
      JSON.stringify({ architecture: image.architecture, os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => sha(l)) } }),
    );
    const configName = `${sha(config).slice(7)}.json`;
    members.push({ name: configName, bytes: config });
    const names = layers.map((l) => {
      // A layer's id depends on its image (docker's v1 ids): each image has its own "<id>/layer.tar".
      const id = createHash('sha256')
        .update(`image ${i} layer ${sha(l)}`)
        .digest('hex');
      const name = `${id}/layer.tar`;
      const first = written.get(sha(l));
      if (first) members.push({ name, linkname: `../${first}` });
      else members.push({ name, bytes: l });
      written.set(sha(l), first ?? name);
      return name;
    });
    manifest.push({ Config: configName, RepoTags: image.tags, Layers: names });
  }
  members.push({ name: 'manifest.json', bytes: Buffer.from(JSON.stringify(manifest)) });
  await packTar(file, members);
}
