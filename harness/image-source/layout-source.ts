/**
 * An OCI image layout (oci-layout, index.json, blobs/<alg>/<hex>) as an ImageSource, wherever its
 * files are (layout-files.ts). A reference is a digest, or a name that picks one descriptor of
 * index.json (its tag for oci:, its image name for docker-archive:), or '' for the layout's only
 * image. What that descriptor points at is what a registry returns for the pushed tag: buildx's
 * `--output type=oci` lists one descriptor there, of the image index it would push, so that nested
 * index is the top for readIndex, with the digest --push publishes. Every blob is checked as the
 * registry client checks it: against its digest, and against the size its descriptor states.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { link, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { HarnessError } from '../base/index.ts';
import {
  checkDigest,
  DigestMismatchError,
  isDigest,
  MAX_JSON_BYTES,
  type Descriptor,
  type FetchedManifest,
  type ImageSource,
} from '../registry/index.ts';
import { parseJson, readSmall, type LayoutFiles } from './layout-files.ts';
import { LocalImageError } from './local-image-error.ts';

const REF_NAME = 'org.opencontainers.image.ref.name';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** How a user names the images of index.json: by tag (oci:), by image name or position (docker-archive:). */
export interface LayoutNaming {
  /** What a user calls a descriptor of index.json: its tag, or its image names; none for an image without a name. */
  names(d: Descriptor): string[];
  /** The descriptors of index.json a reference (neither '' nor a digest) names. */
  pick(reference: string, manifests: Descriptor[]): Descriptor[];
  /** How a user names one image of the layout, for the sentence that asks to: "oci:./out:TAG". */
  form: string;
}

/** oci: and oci-archive:: a tag is the descriptor's org.opencontainers.image.ref.name, as skopeo reads it. */
export function byTag(form: string): LayoutNaming {
  const tag = (d: Descriptor) => d.annotations?.[REF_NAME];
  return {
    names: (d) => [tag(d)].filter((t) => t !== undefined),
    pick: (reference, manifests) => manifests.filter((d) => tag(d) === reference),
    form,
  };
}

/** index.json: its bytes' digest (the image's, where index.json itself is the image index) and its descriptors. */
interface TopIndex {
  digest: string;
  bytes: Buffer;
  manifests: Descriptor[];
}

export class LayoutSource implements ImageSource {
  /** The size each descriptor read so far states, by digest: a blob read later is held to it. */
  private readonly sizes = new Map<string, number>();
  /** A sentence's start: "The OCI layout ./out". */
  private readonly who: string;
  /**
   * index.json is the image index itself: it lists several images, none named, each with a platform
   * (a layout some tools write without the nested index buildx writes). '' names it, and so does its digest.
   */
  private readonly indexIsImage: boolean;

  private constructor(
    private readonly files: LayoutFiles,
    private readonly top: TopIndex,
    private readonly naming: LayoutNaming,
  ) {
    this.who = sentenceStart(files.where);
    for (const d of top.manifests) this.remember(d);
    this.indexIsImage = top.manifests.length > 1 && top.manifests.every((d) => d.platform && naming.names(d).length === 0);
  }

  /** Reads the layout's oci-layout and index.json: a folder or an archive that is no layout is one sentence here. */
  static async open(files: LayoutFiles, naming: LayoutNaming): Promise<LayoutSource> {
    const who = sentenceStart(files.where);
    const layoutFile = await readSmall(files, 'oci-layout', `${who} is not an OCI image layout: it has no oci-layout file.`);
    const layout = parseJson(layoutFile, `The oci-layout file of ${files.where}`);
    const version = (layout as { imageLayoutVersion?: unknown } | null)?.imageLayoutVersion;
    if (typeof version !== 'string' || !/^1\.\d+\.\d+$/.test(version)) {
      throw new LocalImageError(
        `${who} states the layout version ${JSON.stringify(version) ?? 'none'} in its oci-layout file, and the harness reads version 1.x.`,
      );
    }
    const bytes = await readSmall(files, 'index.json', `${who} has no index.json, which lists its images.`);
    const index = parseJson(bytes, `The index.json of ${files.where}`) as { manifests?: unknown } | null;
    const manifests = index?.manifests;
    if (!Array.isArray(manifests)) throw new LocalImageError(`The index.json of ${files.where} has no "manifests" list.`);
    manifests.forEach((d: unknown, i) => {
      if (!isDescriptor(d))
        throw new LocalImageError(
          `The index.json of ${files.where} lists a malformed descriptor (number ${i + 1}): each needs a mediaType, a digest and a size.`,
        );
    });
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    return new LayoutSource(files, { digest, bytes, manifests: manifests as Descriptor[] }, naming);
  }

  /**
   * The manifest or index a reference names: a digest, a name of index.json's descriptors, or '' for
   * the layout's only image. A caller with a parsed target passes `target.tag ?? ''`.
   */
  async manifest(reference: string): Promise<FetchedManifest> {
    if (isDigest(reference)) return reference === this.top.digest && this.indexIsImage ? this.topAsIndex() : this.readManifest(reference);
    const chosen = this.choose(reference);
    return chosen === 'index.json' ? this.topAsIndex() : this.readManifest(chosen.digest, chosen.mediaType);
  }

  /** Whether the layout holds a blob: an engine's export may list a platform whose content it lacks. */
  async has(digest: string): Promise<boolean> {
    return isDigest(digest) && (await this.files.size(`blobs/${digest.replace(':', '/')}`)) !== undefined;
  }

  async blobJson<T>(digest: string): Promise<T> {
    return parseJson(await this.readBlob(digest), `The blob ${digest} of ${this.files.where}`) as T;
  }

  /**
   * Writes a blob to `file`: a hard link to a folder layout's own file where the file system allows
   * one (a layer is not copied), else a copy of its bytes; either way its bytes are hashed and
   * checked against the digest, and the file removed if they differ.
   */
  async blobToFile(digest: string, file: string, size?: number): Promise<void> {
    const stated = size !== undefined && Number.isSafeInteger(size) && size >= 0 ? size : undefined;
    const { name } = await this.blobFile(digest, stated);
    const algorithm = digest.slice(0, digest.indexOf(':'));
    const hash = createHash(algorithm);
    await rm(file, { force: true });
    const own = this.files.onDisk(name);
    const linked =
      own !== undefined &&
      (await link(own, file).then(
        () => true,
        () => false,
      ));
    try {
      if (linked) for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
      else
        await pipeline(
          this.files.stream(name),
          async function* (chunks: AsyncIterable<Buffer>) {
            for await (const chunk of chunks) {
              hash.update(chunk);
              yield chunk;
            }
          },
          createWriteStream(file),
        );
    } catch (err) {
      await rm(file, { force: true });
      if (err instanceof HarnessError) throw err;
      const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new LocalImageError(`The blob ${digest} of ${this.files.where} cannot be written to ${file} (${why}).`, { cause: err });
    }
    const got = `${algorithm}:${hash.digest('hex')}`;
    if (got !== digest) {
      await rm(file, { force: true });
      throw new DigestMismatchError(`${this.who} served other content for the blob ${digest}: its bytes have the digest ${got}.`);
    }
  }

  /** The descriptor of index.json a name picks, or index.json itself where it is the image's index. */
  private choose(reference: string): Descriptor | 'index.json' {
    const all = this.top.manifests;
    if (reference === '' && this.indexIsImage) return 'index.json';
    const picked = reference === '' ? all : this.naming.pick(reference, all);
    // One image listed under two names (two tags of one image) is one image.
    const found = [...new Map(picked.map((d) => [d.digest, d])).values()];
    if (found.length === 1) return found[0]!;
    if (all.length === 0) throw new LocalImageError(`${this.who} lists no image in its index.json.`);
    const listed = this.listing();
    if (found.length === 0) throw new LocalImageError(`${this.who} has no image ${reference} (${listed}).`);
    if (reference === '')
      throw new LocalImageError(`${this.who} holds ${found.length} images (${listed}): name one, as ${this.naming.form}.`);
    throw new LocalImageError(`${this.who} holds ${found.length} different images named ${reference}: name one, as ${this.naming.form}.`);
  }

  /** What index.json lists, for a sentence: "its images: latest, v1 and 1 without a name". */
  private listing(): string {
    const names = [...new Set(this.top.manifests.flatMap((d) => this.naming.names(d)))];
    const unnamed = new Set(this.top.manifests.filter((d) => this.naming.names(d).length === 0).map((d) => d.digest)).size;
    const parts = names.length > 10 ? [...names.slice(0, 10), `${names.length - 10} more`] : names;
    if (unnamed) parts.push(`${unnamed} without a name`);
    return `its images: ${parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)!}` : parts[0]!}`;
  }

  private topAsIndex(): FetchedManifest {
    const body = JSON.parse(this.top.bytes.toString('utf8')) as FetchedManifest['body'];
    return { digest: this.top.digest, mediaType: body.mediaType ?? OCI_INDEX, body };
  }

  private async readManifest(digest: string, mediaType?: string): Promise<FetchedManifest> {
    const body = parseJson(await this.readBlob(digest), `The manifest ${digest} of ${this.files.where}`) as FetchedManifest['body'] | null;
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new LocalImageError(`The manifest ${digest} of ${this.files.where} is not a JSON object.`);
    const children = [
      ...(Array.isArray(body.manifests) ? body.manifests : []),
      body.config,
      ...(Array.isArray(body.layers) ? body.layers : []),
    ];
    for (const d of children) this.remember(d);
    return { digest, mediaType: body.mediaType ?? mediaType ?? (body.manifests ? OCI_INDEX : OCI_MANIFEST), body };
  }

  /** A blob small enough to hold (a manifest, a config), checked against its digest. */
  private async readBlob(digest: string): Promise<Buffer> {
    const { name, size } = await this.blobFile(digest);
    if (size > MAX_JSON_BYTES) {
      throw new LocalImageError(
        `The blob ${digest} of ${this.files.where} holds ${size} bytes, more than the ${MAX_JSON_BYTES} the harness reads of a manifest or a config.`,
      );
    }
    const bytes = await this.files.read(name);
    checkDigest(digest, bytes, `the blob ${digest}`, this.who);
    return bytes;
  }

  /** Where a blob is, and its size, which must be the one its descriptor states. */
  private async blobFile(digest: string, stated?: number): Promise<{ name: string; size: number }> {
    if (!isDigest(digest)) throw new LocalImageError(`"${digest}" is not a digest (sha256:<64 hex digits> or sha512:<128>).`);
    const name = `blobs/${digest.replace(':', '/')}`;
    const size = await this.files.size(name);
    if (size === undefined) throw new LocalImageError(`${this.who} has no blob ${digest} (no ${name}).`);
    const expected = stated ?? this.sizes.get(digest);
    if (expected !== undefined && expected !== size)
      throw new DigestMismatchError(`${this.who} holds ${size} bytes for the blob ${digest}, not the ${expected} its descriptor states.`);
    return { name, size };
  }

  private remember(d: unknown): void {
    if (isDescriptor(d)) this.sizes.set(d.digest, d.size);
  }
}

/** "the OCI layout ./out" as a sentence starts with it. */
const sentenceStart = (where: string) => where.charAt(0).toUpperCase() + where.slice(1);

function isDescriptor(d: unknown): d is Descriptor {
  const o = d as Partial<Descriptor> | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof o.mediaType === 'string' &&
    typeof o.digest === 'string' &&
    isDigest(o.digest) &&
    Number.isSafeInteger(o.size) &&
    o.size! >= 0
  );
}
