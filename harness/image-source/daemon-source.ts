/**
 * An image of the current engine's own store (docker-daemon:NAME[:TAG]) as an ImageSource: what the
 * engine exports of it (GET /images/get, as `docker save` asks it), streamed to a scratch file, never
 * held in memory, and read there as a docker save archive (docker-archive-source.ts). Since Docker 25
 * that archive is an OCI layout; on the containerd store it holds the image's index and every
 * platform of it the store holds.
 * - The classic store, or the containerd store on any API version: the whole image, saved once.
 * - The containerd store, API 1.48 and later (Docker 28): the image is inspected with its manifests
 *   first. A platform its index lists whose content is not in the store (not pulled) is a finding of
 *   the index check on that platform (`unavailable`). The whole image is saved when every platform
 *   is there; else the platforms that are, one request each (all in one from API 1.52), and the index
 *   is the one the engine lists (its descriptors, as the index holds them), under the image's id.
 * - The containerd store before API 1.48 (Docker 26.1) exports an image only whole, and refuses one
 *   with a platform missing: one sentence says so. An export that lists a platform without its
 *   manifest (an engine that skips what its store lacks) is the same finding on that platform.
 * The run check runs the image from the store by its id with the platform (checks/context.ts): never
 * pulled or loaded, and never removed. The scratch file goes with `close()`, or when the process exits.
 */
import { createWriteStream, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { HarnessError, scratchFolder } from '../base/index.ts';
import { apiAtLeast, Engine, EngineError, imageStoreOf, type ImageManifestSummary } from '../engine/index.ts';
import { formatPlatform, type Platform } from '../platform/index.ts';
import { isDigest, type Descriptor, type FetchedManifest, type ImageSource } from '../registry/index.ts';
import { openDockerArchive } from './docker-archive-source.ts';
import type { LocalImageTarget } from './image-target.ts';
import type { LayoutSource } from './layout-source.ts';
import { LocalImageError } from './local-image-error.ts';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

/** Why a listed platform cannot be read: its content was never pulled into the store. */
const notInStore = (platform: string) =>
  `${platform} is listed by the image's index but its content is not in the engine's store (pull it with --platform ${platform}, or pull the whole image)`;

/**
 * Asks the engine for the image and saves what it can export of it. No such image, an export the
 * engine refuses, or a scratch disk that cannot take it, is one sentence.
 */
export async function openDaemonImage(target: LocalImageTarget, engine: Engine = Engine.current()): Promise<ImageSource> {
  const name = `${target.path}:${target.tag ?? 'latest'}`;
  const [info, version] = await Promise.all([engine.info({ timeoutMs: 20_000 }), engine.version({ timeoutMs: 20_000 })]);
  const containerd = imageStoreOf(info.DriverStatus) === 'containerd';
  const api = version.ApiVersion;
  const listsManifests = containerd && apiAtLeast(api, '1.48');
  const record = await engine.inspectImage(name, listsManifests ? { manifests: true } : {});
  if (!record?.Id) throw new LocalImageError(`${target.text}: the engine has no image ${name} (docker image ls lists what it has).`);
  const folder = await scratchFolder('verify');
  const removeOnExit = () => rmSync(folder, { recursive: true, force: true });
  process.once('exit', removeOnExit);
  const close = async () => {
    process.off('exit', removeOnExit);
    await rm(folder, { recursive: true, force: true });
  };
  let saves = 0;
  const save = async (platforms?: readonly Platform[]): Promise<LayoutSource> => {
    const file = join(folder, `image-${saves++}.tar`);
    try {
      await pipeline(await engine.saveImage([name], platforms ? { platforms } : {}), createWriteStream(file));
    } catch (err) {
      throw saveFailure(err, { target, name, file, wholeOnly: containerd && !listsManifests, engine: version.Version, api });
    }
    return openDockerArchive(file);
  };
  try {
    const images = (record.Manifests ?? []).filter((m) => m.Kind === 'image' && m.Descriptor);
    const missing = images.filter((m) => !m.Available);
    // Every platform there (or nothing listed: a classic store, an older API, a single manifest): the whole image.
    if (!missing.length) {
      const whole = await save();
      return new DaemonSource(record.Id, [whole], containerd ? await absentPlatforms(whole) : new Map(), close);
    }
    const available = images.filter((m) => m.Available && platformOf(m));
    const archives: LayoutSource[] = [];
    const holders = new Map<string, LayoutSource>();
    if (available.length && apiAtLeast(api, '1.52')) archives.push(await save(available.map((m) => platformOf(m)!)));
    else
      for (const m of available) {
        const archive = await save([platformOf(m)!]);
        archives.push(archive);
        holders.set(m.Descriptor!.digest, archive);
      }
    const unavailable = new Map(missing.map((m) => [m.Descriptor!.digest, notInStore(platformName(m))]));
    return new DaemonSource(record.Id, archives, unavailable, close, listedIndex(record.Id, record.Manifests ?? []), holders);
  } catch (err) {
    await close();
    throw err;
  }
}

/** A manifest's platform, as the engine lists it. */
const platformOf = (m: ImageManifestSummary): Platform | undefined => m.ImageData?.Platform ?? m.Descriptor?.platform;
const platformName = (m: ImageManifestSummary) => {
  const p = platformOf(m);
  return p ? formatPlatform(p) : m.Descriptor!.digest;
};

/**
 * The platforms a whole export lists without their manifests (an engine that exports what its store
 * holds and skips the rest), each with the sentence that says so.
 */
async function absentPlatforms(archive: LayoutSource): Promise<Map<string, string>> {
  const absent = new Map<string, string>();
  for (const d of (await archive.manifest('')).body.manifests ?? [])
    if (d.platform && d.platform.os !== 'unknown' && !(await archive.has(d.digest)))
      absent.set(d.digest, notInStore(formatPlatform(d.platform)));
  return absent;
}

/** The image's index as the engine lists its manifests: each descriptor as the index holds it, with its platform. */
function listedIndex(id: string, manifests: readonly ImageManifestSummary[]): FetchedManifest {
  const descriptors: Descriptor[] = manifests
    .filter((m) => m.Descriptor)
    .map((m) => {
      const platform = platformOf(m);
      return { ...m.Descriptor!, ...(platform ? { platform } : {}) } as Descriptor;
    });
  return { digest: id, mediaType: OCI_INDEX, body: { mediaType: OCI_INDEX, manifests: descriptors } };
}

/** A save that failed, as one sentence: the engine's words (with what 26.1 cannot do), or scratch's. */
function saveFailure(
  err: unknown,
  o: { target: LocalImageTarget; name: string; file: string; wholeOnly: boolean; engine?: string; api?: string },
): Error {
  const why = (err as Error).message.replace(/\.$/, '');
  if (err instanceof EngineError) {
    if (!o.wholeOnly) return new EngineError(`${o.target.text}: the engine could not export ${o.name} (${why}).`, { transient: false });
    const engine = /^\d+\.\d+/.exec(o.engine ?? '')?.[0] ?? o.engine ?? 'unknown';
    return new LocalImageError(
      `${o.target.text}: the engine could not export ${o.name} (${why}); engine ${engine} (API ${o.api ?? 'unknown'}) exports an image only whole: pull every platform of ${o.name}, or use Docker 28.`,
      { cause: err },
    );
  }
  if (err instanceof HarnessError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code)
    return new LocalImageError(`${o.target.text}: the engine's export of ${o.name} cannot be written to ${o.file} (${code}).`, {
      cause: err,
    });
  return err as Error;
}

class DaemonSource implements ImageSource {
  /** Which archive holds a blob, where there are several: a platform's manifest by its save, its blobs once it is read. */
  private readonly holders: Map<string, LayoutSource>;

  constructor(
    readonly engineImage: string,
    private readonly archives: readonly LayoutSource[],
    private readonly missing: ReadonlyMap<string, string>,
    readonly close: () => Promise<void>,
    /** The index the engine lists, where the image was saved platform by platform. */
    private readonly listed?: FetchedManifest,
    holders: Map<string, LayoutSource> = new Map(),
  ) {
    this.holders = holders;
  }

  /** The image for any name (the archive holds this image alone), else a manifest by its digest. */
  async manifest(reference: string): Promise<FetchedManifest> {
    if (!isDigest(reference)) return this.listed ?? this.archiveOf('').manifest('');
    if (reference === this.listed?.digest) return this.listed;
    const gone = this.missing.get(reference);
    if (gone) throw new LocalImageError(`${gone}.`);
    const archive = this.archiveOf(reference);
    const manifest = await archive.manifest(reference);
    for (const d of [manifest.body.config, ...(manifest.body.layers ?? []), ...(manifest.body.manifests ?? [])])
      if (d && !this.holders.has(d.digest)) this.holders.set(d.digest, archive);
    return manifest;
  }

  blobJson<T>(digest: string): Promise<T> {
    return this.archiveOf(digest).blobJson<T>(digest);
  }

  blobToFile(digest: string, file: string, size?: number): Promise<void> {
    return this.archiveOf(digest).blobToFile(digest, file, size);
  }

  unavailable(digest: string): string | undefined {
    return this.missing.get(digest);
  }

  private archiveOf(digest: string): LayoutSource {
    const archive = this.holders.get(digest) ?? this.archives[0];
    if (!archive)
      throw new LocalImageError(`The engine's store holds the content of none of the image's platforms, so ${digest} cannot be read.`);
    return archive;
  }
}
