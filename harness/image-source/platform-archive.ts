/**
 * One platform of an image as the tar `docker load` takes on either image store, made as it is sent:
 * - `oci-layout` and `index.json`, which the containerd store reads: one descriptor, of the
 *   platform's manifest, its name in `io.containerd.image.name` (the whole name, as docker save
 *   writes it) and its tag in `org.opencontainers.image.ref.name`;
 * - `manifest.json`, `[{Config, RepoTags, Layers}]`, which the classic store reads (it reads no
 *   index.json, and the containerd store no manifest.json where there is an oci-layout);
 * - the manifest, the config and each layer under `blobs/<alg>/<hex>`, as the source holds them
 *   (a compressed layer stays compressed: both stores take it).
 * Each blob is written by the source to a scratch file (checked against its digest and size there),
 * streamed into the tar and removed before the next: memory holds no blob, and scratch one at a time.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { formatPlatform, type Platform } from '../platform/index.ts';
import { parseImageRef, type Descriptor, type FetchedManifest, type ImageSource } from '../registry/index.ts';
import type { Pack } from 'tar-stream';

export interface PlatformArchiveInput {
  source: ImageSource;
  /** The platform's image manifest, read from the source: its digest names its bytes there. */
  manifest: FetchedManifest;
  platform: Platform;
  /** The name it is loaded under, repository:tag (multiarch-harness-local/mah-1a2b3c4d:linux-arm64). */
  name: string;
  /** A folder the blobs pass through, one at a time. */
  scratch: string;
}

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
/** A tar member's time: none in particular (the engines read no member's time). */
const EPOCH = new Date(0);

/** Where a blob is in the archive: blobs/sha256/<hex>. */
const blobPath = (digest: string) => `blobs/${digest.replace(':', '/')}`;

/**
 * The archive, as a stream that makes it while it is read; a blob that cannot be had (missing, other
 * content than its digest) ends the stream with the source's error.
 */
export async function platformArchive(i: PlatformArchiveInput): Promise<Readable> {
  const { config, layers } = i.manifest.body;
  if (!config || !Array.isArray(layers)) throw new Error(`platformArchive was given ${i.manifest.digest}, which is not an image manifest`);
  // Loaded only when a local image is loaded.
  const { default: tar } = await import('tar-stream');
  const pack = tar.pack();
  const folder = await mkdtemp(join(i.scratch, 'load-'));
  const write = async () => {
    // The manifest first, for its size (its descriptor in index.json states it).
    const manifestFile = join(folder, 'manifest');
    await i.source.blobToFile(i.manifest.digest, manifestFile);
    const manifestSize = (await stat(manifestFile)).size;
    await small(pack, 'oci-layout', { imageLayoutVersion: '1.0.0' });
    await small(pack, 'index.json', indexJson(i, manifestSize));
    await small(pack, 'manifest.json', [
      { Config: blobPath(config.digest), RepoTags: [i.name], Layers: layers.map((l) => blobPath(l.digest)) },
    ]);
    await fileMember(pack, blobPath(i.manifest.digest), manifestFile);
    // A layer listed twice (an empty one, say) is one member.
    const blobs = [...new Map([config, ...layers].map((d) => [d.digest, d])).values()];
    for (const [n, d] of blobs.entries()) {
      const file = join(folder, `blob-${n}`);
      await i.source.blobToFile(d.digest, file, d.size);
      await fileMember(pack, blobPath(d.digest), file);
    }
  };
  // Scratch is emptied before the archive ends, or fails: its reader then finds nothing left behind.
  const clear = () => rm(folder, { recursive: true, force: true }).catch(() => undefined);
  write().then(
    () => clear().then(() => pack.finalize()),
    (err: unknown) => clear().then(() => pack.destroy(err as Error)),
  );
  return Readable.from(pack);
}

/** index.json: the one image, named for the containerd store. */
function indexJson(i: PlatformArchiveInput, manifestSize: number): unknown {
  const ref = parseImageRef(i.name);
  const [os, architecture, variant] = formatPlatform(i.platform).split('/') as [string, string, string | undefined];
  const descriptor: Descriptor = {
    mediaType: i.manifest.mediaType,
    digest: i.manifest.digest,
    size: manifestSize,
    platform: { os, architecture, ...(variant ? { variant } : {}) },
    annotations: {
      'io.containerd.image.name': `${ref.registry}/${ref.repository}:${ref.tag ?? 'latest'}`,
      'org.opencontainers.image.ref.name': ref.tag ?? 'latest',
    },
  };
  return { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [descriptor] };
}

/** A member made of JSON. */
function small(pack: Pack, name: string, json: unknown): Promise<void> {
  const bytes = Buffer.from(JSON.stringify(json));
  return new Promise((resolve, reject) => {
    pack.entry({ name, size: bytes.length, mode: 0o644, mtime: EPOCH }, bytes, (err) => (err ? reject(err) : resolve()));
  });
}

/** A member streamed from a scratch file, which is removed once it is in. */
async function fileMember(pack: Pack, name: string, file: string): Promise<void> {
  const { size } = await stat(file);
  let sink!: ReturnType<Pack['entry']>;
  const entered = new Promise<void>((resolve, reject) => {
    sink = pack.entry({ name, size, mode: 0o644, mtime: EPOCH }, (err) => (err ? reject(err) : resolve()));
  });
  // Awaited below; a member that fails while its bytes are still read is not left unhandled meanwhile.
  entered.catch(() => undefined);
  for await (const chunk of createReadStream(file)) {
    // The archive's reader is slower than the file: wait until it took what the member holds so far.
    if (!sink.write(chunk as Buffer))
      await new Promise<void>((resolve) => {
        sink.once('drain', () => resolve());
        sink.once('close', () => resolve());
      });
    if (sink.destroyed) break;
  }
  sink.end(null);
  await entered;
  await rm(file, { force: true });
}
