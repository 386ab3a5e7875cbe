// One platform of a local image as the tar docker load takes (platform-archive.ts): its members, read
// back with tar-stream's extract; index.json names the image for the containerd store, manifest.json
// for the classic store, and every blob is there under its digest, with the bytes of that digest. A blob
// that does not match its digest ends the archive with the source's error. Scratch is left empty.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openLocalSource, parseImageTarget } from '../../../harness/image-source/index.ts';
import { platformArchive } from '../../../harness/image-source/platform-archive.ts';
import { parsePlatform } from '../../../harness/platform/platform.ts';
import { DigestMismatchError, readIndex, type ImageSource } from '../../../harness/registry/index.ts';
import { blob, buildxImage, descriptor, legacyArchive, MEDIA, sha, tarFolder, writeLayout } from '../../support/oci-layouts.ts';

const NAME = 'multiarch-harness-local/mah-1a2b3c4d:linux-arm64';
const arm64 = parsePlatform('linux/arm64');

let dir: string;
let scratch: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mah-platform-archive-'));
  scratch = await mkdtemp(join(tmpdir(), 'mah-platform-archive-scratch-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(scratch, { recursive: true, force: true });
});

let made = 0;
const fresh = () => join(dir, `case-${++made}`);

async function open(text: string): Promise<ImageSource> {
  const t = parseImageTarget(text);
  if (t.kind !== 'local') throw new Error(`${text} is not local`);
  return openLocalSource(t);
}

/** The archive of a source's arm64 image, as the engine would read it: each member's name and bytes, in order. */
async function archiveOf(source: ImageSource, reference: string): Promise<Array<{ name: string; bytes: Buffer }>> {
  const view = await readIndex(source, reference);
  const entry = view.entries.find((e) => e.platform.architecture === 'arm64')!;
  const manifest = await source.manifest(entry.digest);
  return members(await platformArchive({ source, manifest, platform: arm64, name: NAME, scratch }));
}

async function members(archive: Readable): Promise<Array<{ name: string; bytes: Buffer }>> {
  const out: Array<{ name: string; bytes: Buffer }> = [];
  const extract = tar.extract();
  const read = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      out.push({ name: entry.header.name, bytes: Buffer.concat(chunks) });
    }
  })();
  for await (const chunk of archive) extract.write(chunk as Buffer);
  extract.end(null);
  await read;
  return out;
}

const json = (files: Array<{ name: string; bytes: Buffer }>, name: string): unknown =>
  JSON.parse(files.find((f) => f.name === name)!.bytes.toString('utf8'));

describe('the archive of one platform', () => {
  const image = buildxImage('v1');
  const blobName = (digest: string) => `blobs/sha256/${digest.slice(7)}`;

  test.each(['oci:', 'oci-archive:'])(
    '%s the layout files, index.json naming the image for the containerd store, manifest.json for the classic one, and its blobs',
    async (transport) => {
      const folder = fresh();
      await writeLayout(folder, image.top, image.blobs);
      let where = folder;
      if (transport === 'oci-archive:') {
        where = `${fresh()}.tar`;
        await tarFolder(folder, where);
      }
      const files = await archiveOf(await open(`${transport}${where}:v1`), 'v1');
      const { manifest, config, layer } = image.arm64;
      expect(files.map((f) => f.name)).toEqual([
        'oci-layout',
        'index.json',
        'manifest.json',
        blobName(manifest.digest),
        blobName(config.digest),
        blobName(layer.digest),
      ]);
      expect(json(files, 'oci-layout')).toEqual({ imageLayoutVersion: '1.0.0' });
      expect(json(files, 'index.json')).toEqual({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: manifest.digest,
            size: manifest.size,
            platform: { os: 'linux', architecture: 'arm64' },
            annotations: {
              'io.containerd.image.name': `docker.io/${NAME}`,
              'org.opencontainers.image.ref.name': 'linux-arm64',
            },
          },
        ],
      });
      expect(json(files, 'manifest.json')).toEqual([
        { Config: blobName(config.digest), RepoTags: [NAME], Layers: [blobName(layer.digest)] },
      ]);
      // Every blob's bytes are those of the digest its name states: the manifest's own bytes, not a copy made again.
      for (const f of files.filter((x) => x.name.startsWith('blobs/')))
        expect(`sha256:${createHash('sha256').update(f.bytes).digest('hex')}`).toBe(`sha256:${f.name.slice(13)}`);
      expect(await readdir(scratch)).toEqual([]);
    },
  );

  test("a legacy docker save archive: the OCI manifest made for it, its layers the archive's layer.tar files under their diff_ids", async () => {
    const archive = `${fresh()}.tar`;
    await legacyArchive(archive, [{ tags: ['demo:arm64'], architecture: 'arm64', layers: ['base layer', 'arm64 layer'] }]);
    const files = await archiveOf(await open(`docker-archive:${archive}`), '');
    const layers = [sha('base layer'), sha('arm64 layer')];
    expect((json(files, 'manifest.json') as Array<{ Layers: string[] }>)[0]!.Layers).toEqual(layers.map(blobName));
    expect(files.find((f) => f.name === blobName(layers[1]!))!.bytes.toString()).toBe('arm64 layer');
    expect(files).toHaveLength(3 + 4);
  });

  test('a layer the manifest lists twice is one member, named twice in manifest.json', async () => {
    const layer = blob(MEDIA.layer, Buffer.from('empty'));
    const config = blob(MEDIA.config, {
      architecture: 'arm64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [layer.digest, layer.digest] },
    });
    const manifest = blob(MEDIA.manifest, {
      schemaVersion: 2,
      mediaType: MEDIA.manifest,
      config: descriptor(config),
      layers: [descriptor(layer), descriptor(layer)],
    });
    const folder = fresh();
    await writeLayout(folder, { schemaVersion: 2, manifests: [descriptor(manifest)] }, [layer, config, manifest]);
    const files = await archiveOf(await open(`oci:${folder}`), '');
    expect((json(files, 'manifest.json') as Array<{ Layers: string[] }>)[0]!.Layers).toEqual([
      blobName(layer.digest),
      blobName(layer.digest),
    ]);
    expect(files.map((f) => f.name).filter((n) => n === blobName(layer.digest))).toHaveLength(1);
  });

  test('a layer larger than any buffer on the way passes through in pieces, as slowly as its reader reads', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 7, 'x');
    const layer = blob(MEDIA.layer, big);
    const config = blob(MEDIA.config, { architecture: 'arm64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] } });
    const manifest = blob(MEDIA.manifest, {
      schemaVersion: 2,
      mediaType: MEDIA.manifest,
      config: descriptor(config),
      layers: [descriptor(layer)],
    });
    const folder = fresh();
    await writeLayout(folder, { schemaVersion: 2, manifests: [descriptor(manifest)] }, [layer, config, manifest]);
    const file = `${fresh()}.tar`;
    await tarFolder(folder, file);
    const source = await open(`oci-archive:${file}`);
    const archive = await platformArchive({ source, manifest: await source.manifest(''), platform: arm64, name: NAME, scratch });
    let pieces = 0;
    const slow = (async function* () {
      for await (const chunk of archive) {
        pieces++;
        await new Promise((r) => setImmediate(r));
        yield chunk as Buffer;
      }
    })();
    const files = await members(Readable.from(slow));
    expect(files.find((f) => f.name === blobName(layer.digest))!.bytes.equals(big)).toBe(true);
    expect(pieces).toBeGreaterThan(10);
  });

  test("a layer whose bytes are not its digest's ends the archive with the source's error, and scratch is left empty", async () => {
    const folder = fresh();
    await writeLayout(folder, image.top, image.blobs);
    await writeFile(join(folder, blobName(image.arm64.layer.digest)), 'arm64 layeR');
    const err = await archiveOf(await open(`oci:${folder}`), '').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DigestMismatchError);
    expect((err as Error).message).toMatch(/served other content for the blob sha256:/);
    expect(await readdir(scratch)).toEqual([]);
  });
});
