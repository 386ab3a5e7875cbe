/**
 * The files of an image layout, wherever they are: a folder (oci:), the members of a tar
 * (oci-archive:, docker-archive:), or a layout made in memory over an archive's members (a legacy
 * docker save archive). LayoutSource reads a layout through this and nothing else. Names are the
 * layout's own ("oci-layout", "index.json", "blobs/sha256/<hex>"), built by LayoutSource, never a
 * user's text.
 */
import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { MAX_JSON_BYTES } from '../registry/index.ts';
import { LocalImageError } from './local-image-error.ts';
import type { TarMember } from './tar-index.ts';

export interface LayoutFiles {
  /** Where the layout is, as a sentence names it: "the OCI layout ./out", "the archive image.tar". */
  readonly where: string;
  /** A file's size, or undefined where there is no such file. */
  size(name: string): Promise<number | undefined>;
  /** A file whole: its caller bounds it by its size first. */
  read(name: string): Promise<Buffer>;
  /** A file's bytes as a stream. */
  stream(name: string): Readable;
  /** The file on disk that is exactly this one, where there is one (a folder's): a blob is hard-linked from it. */
  onDisk(name: string): string | undefined;
}

/** A layout in a folder. */
export function folderFiles(dir: string, where: string): LayoutFiles {
  return {
    where,
    size: (name) =>
      stat(join(dir, name)).then(
        (s) => (s.isFile() ? s.size : undefined),
        () => undefined,
      ),
    read: (name) => readFile(join(dir, name)),
    stream: (name) => createReadStream(join(dir, name)),
    onDisk: (name) => join(dir, name),
  };
}

/** A layout in a tar file: each member a byte range of it, read where it is. */
export function tarFiles(file: string, members: ReadonlyMap<string, TarMember>, where: string): LayoutFiles {
  const member = (name: string) => {
    const m = members.get(name);
    // LayoutSource asks for a member's size first: a name that is not there is a bug here.
    if (!m) throw new Error(`${file} has no member ${name}`);
    return m;
  };
  return {
    where,
    size: (name) => Promise.resolve(members.get(name)?.size),
    async read(name) {
      const { offset, size } = member(name);
      const bytes = Buffer.alloc(size);
      const handle = await open(file, 'r');
      try {
        let got = 0;
        while (got < size) {
          const { bytesRead } = await handle.read(bytes, got, size - got, offset + got);
          // The index was read from this file: one that shrank since is said to have changed.
          if (bytesRead === 0)
            throw new LocalImageError(`The archive ${file} changed while it was read: it now ends before its member ${name} does.`);
          got += bytesRead;
        }
      } finally {
        await handle.close();
      }
      return bytes;
    },
    stream(name) {
      const { offset, size } = member(name);
      // createReadStream's end is inclusive, and an empty range has none.
      return size === 0 ? Readable.from([]) : createReadStream(file, { start: offset, end: offset + size - 1 });
    },
    onDisk: () => undefined,
  };
}

/**
 * A layout made over another: some files held in memory (an index.json and manifests written for a
 * legacy archive), some under another name of the base (blobs/sha256/<hex> served by "<id>/layer.tar").
 */
export function overlayFiles(base: LayoutFiles, own: ReadonlyMap<string, Buffer>, renamed: ReadonlyMap<string, string>): LayoutFiles {
  const baseName = (name: string) => renamed.get(name) ?? name;
  return {
    where: base.where,
    size: (name) => {
      const held = own.get(name);
      return held ? Promise.resolve(held.length) : base.size(baseName(name));
    },
    read: (name) => {
      const held = own.get(name);
      return held ? Promise.resolve(held) : base.read(baseName(name));
    },
    stream: (name) => {
      const held = own.get(name);
      return held ? Readable.from([held]) : base.stream(baseName(name));
    },
    onDisk: (name) => (own.has(name) ? undefined : base.onDisk(baseName(name))),
  };
}

/** A small file whole (oci-layout, index.json, manifest.json, a config), bounded as a manifest is; `missing` is the sentence where it is not there. */
export async function readSmall(files: LayoutFiles, name: string, missing: string): Promise<Buffer> {
  const size = await files.size(name);
  if (size === undefined) throw new LocalImageError(missing);
  if (size > MAX_JSON_BYTES)
    throw new LocalImageError(
      `The ${name} of ${files.where} holds ${size} bytes, more than the ${MAX_JSON_BYTES} the harness reads of it.`,
    );
  return files.read(name);
}

/** JSON, or one sentence: "<what> is not JSON." */
export function parseJson(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    throw new LocalImageError(`${what} is not JSON.`);
  }
}
