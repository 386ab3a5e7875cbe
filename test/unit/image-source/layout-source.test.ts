// An OCI layout as an image source, in a folder (oci:) and in a tar (oci-archive:): the nested index
// buildx writes is the top readIndex reads, tags pick images, and every blob is held to its digest and
// to the size its descriptor states.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LocalImageError, openLocalSource, parseImageTarget, type LocalImageTarget } from '../../../harness/image-source/index.ts';
import { readIndex, type ImageSource } from '../../../harness/registry/index.ts';
import {
  blob,
  buildxImage,
  descriptor,
  MEDIA,
  platformImage,
  sha,
  tagAnnotations,
  tarFolder,
  writeLayout,
} from '../../support/oci-layouts.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mah-layout-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

let made = 0;
const fresh = () => join(dir, `case-${++made}`);

function target(text: string): LocalImageTarget {
  const t = parseImageTarget(text);
  if (t.kind !== 'local') throw new Error(`${text} is not local`);
  return t;
}
const open = (text: string): Promise<ImageSource> => openLocalSource(target(text));

describe('an OCI layout as buildx writes it', () => {
  const image = buildxImage('v1');
  let folder: string;
  let archive: string;
  beforeAll(async () => {
    folder = fresh();
    await writeLayout(folder, image.top, image.blobs);
    archive = `${fresh()}.tar`;
    await tarFolder(folder, archive);
  });

  test.each([
    ['oci:', () => folder],
    ['oci-archive:', () => archive],
  ])('%s the tag names the nested index, and readIndex lists its platforms', async (transport, where) => {
    for (const reference of ['v1', '']) {
      const source = await open(`${transport}${where()}:v1`);
      const view = await readIndex(source, reference);
      expect(view).toEqual({
        isIndex: true,
        digest: image.index.digest,
        problems: [],
        entries: [
          { platform: { os: 'linux', architecture: 'amd64' }, digest: image.amd64.manifest.digest, mediaType: MEDIA.manifest },
          { platform: { os: 'linux', architecture: 'arm64' }, digest: image.arm64.manifest.digest, mediaType: MEDIA.manifest },
        ],
      });
      // By digest, as the checks then read each platform.
      expect((await source.manifest(image.arm64.manifest.digest)).body.config?.digest).toBe(image.arm64.config.digest);
      expect(await source.blobJson(image.arm64.config.digest)).toMatchObject({ architecture: 'arm64' });
    }
  });

  test.each([
    ['oci:', () => folder],
    ['oci-archive:', () => archive],
  ])('%s blobToFile writes the blob, checked against its digest', async (transport, where) => {
    const source = await open(`${transport}${where()}`);
    const file = join(fresh());
    await source.blobToFile(image.amd64.layer.digest, file, image.amd64.layer.size);
    expect(await readFile(file, 'utf8')).toBe('amd64 layer');
    // Written again over what is there.
    await source.blobToFile(image.amd64.layer.digest, file);
    expect(await readFile(file, 'utf8')).toBe('amd64 layer');
    if (transport === 'oci:') {
      // A folder's blob is hard-linked where the file system allows (the same one here).
      const [own, written] = await Promise.all([stat(join(folder, 'blobs/sha256', image.amd64.layer.digest.slice(7))), stat(file)]);
      expect(written.ino).toBe(own.ino);
    }
  });

  test('the tag asked for is not there: the sentence names the tags there are', async () => {
    const source = await open(`oci:${folder}`);
    await expect(source.manifest('v2')).rejects.toThrow(`The OCI layout ${folder} has no image v2 (its images: v1).`);
  });
});

describe('blobs that are not what their descriptors say', () => {
  test('a tampered layer is refused and no file is left; so is a tampered config or manifest', async () => {
    const image = buildxImage();
    const folder = fresh();
    await writeLayout(folder, image.top, image.blobs);
    const blobFile = (digest: string) => join(folder, 'blobs/sha256', digest.slice(7));
    await writeFile(blobFile(image.amd64.layer.digest), 'AMD64 LAYER'); // the same size, other bytes
    await writeFile(
      blobFile(image.amd64.config.digest),
      JSON.stringify({ architecture: 'ARM64', os: 'linux' }).padEnd(image.amd64.config.size),
    );
    const source = await open(`oci:${folder}`);
    const file = fresh();
    await expect(source.blobToFile(image.amd64.layer.digest, file, image.amd64.layer.size)).rejects.toThrow(
      `The OCI layout ${folder} served other content for the blob ${image.amd64.layer.digest}: its bytes have the digest ${sha('AMD64 LAYER')}.`,
    );
    await expect(stat(file)).rejects.toThrow(/ENOENT/);
    await expect(source.blobJson(image.amd64.config.digest)).rejects.toThrow(
      `The OCI layout ${folder} served other content for the blob ${image.amd64.config.digest}: expected the digest ${image.amd64.config.digest}, its bytes have sha256:`,
    );
    // The same through a tar.
    const archive = `${fresh()}.tar`;
    await tarFolder(folder, archive);
    const fromTar = await open(`oci-archive:${archive}`);
    await expect(fromTar.blobToFile(image.amd64.layer.digest, file)).rejects.toThrow(
      `The OCI archive ${archive} served other content for the blob ${image.amd64.layer.digest}`,
    );
    await expect(stat(file)).rejects.toThrow(/ENOENT/);
  });

  test('a blob of another size than its descriptor states is refused before it is read', async () => {
    const image = buildxImage();
    const folder = fresh();
    await writeLayout(folder, image.top, image.blobs);
    const source = await open(`oci:${folder}`);
    const { layer } = image.arm64;
    await expect(source.blobToFile(layer.digest, fresh(), layer.size + 1)).rejects.toThrow(
      `The OCI layout ${folder} holds ${layer.size} bytes for the blob ${layer.digest}, not the ${layer.size + 1} its descriptor states.`,
    );
    // A descriptor read before states the size: here index.json's, of the nested index.
    const lying = { ...image.top, manifests: [{ ...image.top.manifests[0], size: image.index.size - 1 }] };
    await writeFile(join(folder, 'index.json'), JSON.stringify(lying));
    await expect((await open(`oci:${folder}`)).manifest('v1')).rejects.toThrow(
      `holds ${image.index.size} bytes for the blob ${image.index.digest}, not the ${image.index.size - 1} its descriptor states.`,
    );
  });
});

describe('which image of a layout', () => {
  test('several tags: no tag asks for one, naming them; one image under two tags is one', async () => {
    const a = platformImage('amd64', 'a');
    const b = platformImage('arm64', 'b');
    const folder = fresh();
    const named = (image: typeof a, tag: string) => descriptor(image.manifest, { annotations: tagAnnotations(tag) });
    await writeLayout(folder, { schemaVersion: 2, manifests: [named(a, 'a'), named(a, 'a2'), named(b, 'b'), descriptor(b.manifest)] }, [
      ...a.blobs,
      ...b.blobs,
    ]);
    const source = await open(`oci:${folder}`);
    await expect(source.manifest('')).rejects.toThrow(
      `The OCI layout ${folder} holds 2 images (its images: a, a2, b and 1 without a name): name one, as oci:${folder}:TAG.`,
    );
    // A single-platform image: readIndex reads its config's platform.
    expect(await readIndex(source, 'b')).toMatchObject({
      isIndex: false,
      digest: b.manifest.digest,
      entries: [{ platform: { architecture: 'arm64' } }],
    });
    await writeLayout(folder, { schemaVersion: 2, manifests: [named(a, 'a'), named(a, 'a2')] }, []);
    expect((await (await open(`oci:${folder}`)).manifest('')).digest).toBe(a.manifest.digest);
  });

  test('index.json that is itself the index (untagged platform manifests) is the image', async () => {
    const a = platformImage('amd64');
    const b = platformImage('arm64');
    const folder = fresh();
    const top = {
      schemaVersion: 2,
      mediaType: MEDIA.index,
      manifests: [
        descriptor(a.manifest, { platform: { os: 'linux', architecture: 'amd64' } }),
        descriptor(b.manifest, { platform: { os: 'linux', architecture: 'arm64' } }),
      ],
    };
    await writeLayout(folder, top, [...a.blobs, ...b.blobs]);
    const view = await readIndex(await open(`oci:${folder}`), '');
    expect(view.entries.map((e) => e.platform.architecture)).toEqual(['amd64', 'arm64']);
    expect(view.digest).toBe(sha(JSON.stringify(top)));
    expect((await (await open(`oci:${folder}`)).manifest(view.digest!)).body.manifests).toHaveLength(2);
  });
});

describe('what is not a layout, in one sentence', () => {
  test.each([
    [
      'no oci-layout file',
      (f: string) => rm(join(f, 'oci-layout')),
      (f: string) => `The OCI layout ${f} is not an OCI image layout: it has no oci-layout file.`,
    ],
    [
      'another layout version',
      (f: string) => writeFile(join(f, 'oci-layout'), '{"imageLayoutVersion":"2.0.0"}'),
      (f: string) => `The OCI layout ${f} states the layout version "2.0.0" in its oci-layout file, and the harness reads version 1.x.`,
    ],
    [
      'no index.json',
      (f: string) => rm(join(f, 'index.json')),
      (f: string) => `The OCI layout ${f} has no index.json, which lists its images.`,
    ],
    [
      'index.json not JSON',
      (f: string) => writeFile(join(f, 'index.json'), '{'),
      (f: string) => `The index.json of the OCI layout ${f} is not JSON.`,
    ],
    [
      'a malformed descriptor',
      (f: string) => writeFile(join(f, 'index.json'), JSON.stringify({ manifests: [{ digest: 'sha256:1' }] })),
      (f: string) =>
        `The index.json of the OCI layout ${f} lists a malformed descriptor (number 1): each needs a mediaType, a digest and a size.`,
    ],
  ])('%s', async (_, damage, message) => {
    const image = buildxImage();
    const folder = fresh();
    await writeLayout(folder, image.top, image.blobs);
    await damage(folder);
    await expect(open(`oci:${folder}`)).rejects.toThrow(LocalImageError);
    await expect(open(`oci:${folder}`)).rejects.toThrow(message(folder));
  });

  test('a missing blob, a folder that is not there, a file given as a folder', async () => {
    const image = buildxImage();
    const folder = fresh();
    await writeLayout(
      folder,
      image.top,
      image.blobs.filter((b) => b !== image.arm64.config),
    );
    const source = await open(`oci:${folder}`);
    await expect(source.blobJson(image.arm64.config.digest)).rejects.toThrow(
      `The OCI layout ${folder} has no blob ${image.arm64.config.digest} (no blobs/sha256/${image.arm64.config.digest.slice(7)}).`,
    );
    await expect(open(`oci:${folder}-absent`)).rejects.toThrow(`There is no folder ${folder}-absent.`);
    await expect(open(`oci:${folder}/index.json`)).rejects.toThrow(
      `is a file, not a folder: an OCI layout in a tar is oci-archive:${folder}/index.json.`,
    );
  });

  test('a manifest larger than 4 MiB is refused unread', async () => {
    const big = blob(MEDIA.manifest, Buffer.alloc(4 * 1024 * 1024 + 1, 0x20));
    const folder = fresh();
    await writeLayout(folder, { schemaVersion: 2, manifests: [descriptor(big)] }, [big]);
    await expect((await open(`oci:${folder}`)).manifest('')).rejects.toThrow(
      `The blob ${big.digest} of the OCI layout ${folder} holds 4194305 bytes, more than the 4194304 the harness reads of a manifest or a config.`,
    );
  });
});
