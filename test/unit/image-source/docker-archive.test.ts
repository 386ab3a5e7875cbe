// docker save archives as image sources: a legacy one (manifest.json, "<id>/layer.tar") read as a
// single-platform OCI image made in memory, its layers held to the config's diff_ids; Docker 25's,
// which holds an OCI layout, read as one. Images are picked by name or by position (@N).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openLocalSource, parseImageTarget, type LocalImageTarget } from '../../../harness/image-source/index.ts';
import { readIndex, type FetchedManifest, type ImageSource } from '../../../harness/registry/index.ts';
import { buildxImage, legacyArchive, packTar, sha, tagAnnotations } from '../../support/oci-layouts.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mah-docker-archive-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

let made = 0;
const fresh = () => join(dir, `case-${++made}`);

function local(text: string): LocalImageTarget {
  const t = parseImageTarget(text);
  if (t.kind !== 'local') throw new Error(`${text} is not local`);
  return t;
}
const open = (text: string): Promise<ImageSource> => openLocalSource(local(text));

describe('a legacy docker save archive', () => {
  let archive: string;
  beforeAll(async () => {
    archive = `${fresh()}.tar`;
    await legacyArchive(archive, [
      { tags: ['demo:amd64', 'registry.example/demo:a'], architecture: 'amd64', layers: ['base layer', 'amd64 layer'] },
      { tags: ['demo:arm64'], architecture: 'arm64', layers: ['base layer', 'arm64 layer'] },
    ]);
  });

  test('an image by name, in any spelling of it, or by position: one platform, its OCI manifest made from manifest.json', async () => {
    for (const text of [
      `docker-archive:${archive}:demo:arm64`,
      `docker-archive:${archive}:docker.io/library/demo:arm64`,
      `docker-archive:${archive}:@1`,
    ]) {
      const source = await open(text);
      // What the target names is the reference readIndex reads: its tag, or '' for none.
      const view = await readIndex(source, local(text).tag ?? '');
      expect(view).toMatchObject({ isIndex: false, problems: [], entries: [{ platform: { os: 'linux', architecture: 'arm64' } }] });
      const manifest: FetchedManifest = await source.manifest(view.digest!);
      expect(manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
      expect(manifest.body.layers).toEqual([
        { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha('base layer'), size: 10 },
        { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha('arm64 layer'), size: 11 },
      ]);
      expect(await source.blobJson(manifest.body.config!.digest)).toMatchObject({ architecture: 'arm64' });
      // The shared base layer is a symbolic link in the archive, to the first image's.
      const file = fresh();
      await source.blobToFile(sha('base layer'), file, 10);
      expect(await readFile(file, 'utf8')).toBe('base layer');
    }
    const amd64 = await open(`docker-archive:${archive}:registry.example/demo:a`);
    expect((await readIndex(amd64, 'registry.example/demo:a')).entries[0]?.platform.architecture).toBe('amd64');
  });

  test('no name in an archive of several images, a name it does not hold, a position past its end: one sentence each', async () => {
    const source = await open(`docker-archive:${archive}`);
    const form = `docker-archive:${archive}:NAME:TAG or docker-archive:${archive}:@N`;
    await expect(source.manifest('')).rejects.toThrow(
      `The archive ${archive} holds 2 images (its images: demo:amd64, registry.example/demo:a and demo:arm64): name one, as ${form}.`,
    );
    await expect(source.manifest('demo:riscv64')).rejects.toThrow(
      `The archive ${archive} has no image demo:riscv64 (its images: demo:amd64,`,
    );
    await expect(source.manifest('@2')).rejects.toThrow(`The archive ${archive} has no image @2 (`);
  });

  test('a layer whose bytes are not its diff_id is refused', async () => {
    const tampered = `${fresh()}.tar`;
    await legacyArchive(tampered, [{ tags: ['demo:x'], architecture: 'amd64', layers: ['good layer'] }]);
    // Same length, other bytes: the tar stays whole, only the layer's content changes.
    const bytes = await readFile(tampered);
    const at = bytes.indexOf('good layer');
    bytes.write('evil layer', at);
    await writeFile(tampered, bytes);
    const source = await open(`docker-archive:${tampered}`);
    const view = await readIndex(source, '');
    const layer = (await source.manifest(view.digest!)).body.layers![0]!;
    await expect(source.blobToFile(layer.digest, fresh(), layer.size)).rejects.toThrow(
      `The archive ${tampered} served other content for the blob ${sha('good layer')}: its bytes have the digest ${sha('evil layer')}.`,
    );
  });

  test('a config whose bytes are not the digest its name states is refused when the archive is opened', async () => {
    const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
    const archiveFile = `${fresh()}.tar`;
    const name = `${'0'.repeat(64)}.json`;
    await packTar(archiveFile, [
      { name, bytes: config },
      { name: 'manifest.json', bytes: Buffer.from(JSON.stringify([{ Config: name, RepoTags: ['x:y'], Layers: [] }])) },
    ]);
    await expect(open(`docker-archive:${archiveFile}`)).rejects.toThrow(
      `The archive ${archiveFile} holds other content for the config ${name}: its bytes have the digest ${sha(config)}.`,
    );
  });

  test('an archive that is no docker save archive', async () => {
    const file = `${fresh()}.tar`;
    await packTar(file, [{ name: 'hello.txt', bytes: Buffer.from('hi') }]);
    await expect(open(`docker-archive:${file}`)).rejects.toThrow(
      `${file} is not a docker save archive: it holds neither an index.json nor a manifest.json.`,
    );
  });
});

describe("Docker 25's docker save archive, an OCI layout inside", () => {
  test('images by their io.containerd.image.name, or by position; the nested index is the top', async () => {
    const v1 = buildxImage('v1');
    const archive = `${fresh()}.tar`;
    const blobs = v1.blobs.map((b) => ({ name: `blobs/sha256/${b.digest.slice(7)}`, bytes: b.bytes }));
    const top = { schemaVersion: 2, manifests: [v1.top.manifests[0], { ...v1.top.manifests[0], annotations: tagAnnotations('latest') }] };
    await packTar(archive, [
      { name: 'oci-layout', bytes: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
      { name: 'index.json', bytes: Buffer.from(JSON.stringify(top)) },
      { name: 'manifest.json', bytes: Buffer.from('[]') },
      ...blobs,
    ]);
    for (const name of ['demo:v1', 'docker.io/library/demo:latest', 'demo', '@1', '']) {
      const view = await readIndex(await open(`docker-archive:${archive}`), name);
      expect(view.digest).toBe(v1.index.digest);
      expect(view.entries.map((e) => e.platform.architecture)).toEqual(['amd64', 'arm64']);
    }
    await expect((await open(`docker-archive:${archive}`)).manifest('demo:v9')).rejects.toThrow(
      `The archive ${archive} has no image demo:v9 (its images: docker.io/library/demo:v1 and docker.io/library/demo:latest).`,
    );
  });
});
