// An image of the engine's store (docker-daemon:NAME[:TAG]) as an image source, against a fake engine
// (a node:http server on a unix socket that answers as the Docker Engine API does and records what it
// was asked): its store and API version chosen per test, its archives Docker 25's (an OCI layout) or
// a legacy one. The classic store, and the containerd store before API 1.48, are saved whole; API
// 1.48 lists the manifests first, and a platform whose content the store lacks is the index check's
// finding on that platform while the others are saved one request each (all in one from API 1.52);
// 26.1's refusal to export a partly pulled image is one sentence, and an export that lists a platform
// without its content is that finding too. The scratch file goes with close().
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { readManifestAndConfig } from '../../../harness/checks/config-check.ts';
import { checkIndex } from '../../../harness/checks/index-check.ts';
import { openLocalSource, parseImageTarget, type LocalImageTarget } from '../../../harness/image-source/index.ts';
import { parsePlatform } from '../../../harness/platform/platform.ts';
import { readIndex, type ImageSource } from '../../../harness/registry/index.ts';
import { defineScenario } from '../../../harness/scenario/define.ts';
import { runScenario } from '../../../harness/scenario/run-scenario.ts';
import { blob, buildxImage, descriptor, legacyArchive, MEDIA, packTar, platformImage, type Blob } from '../../support/oci-layouts.ts';

const amd64 = parsePlatform('linux/amd64');
const arm64 = parsePlatform('linux/arm64');
const s390x = parsePlatform('linux/s390x');
const NAME_ANNOTATIONS = { 'io.containerd.image.name': 'docker.io/library/hello:multi', 'org.opencontainers.image.ref.name': 'multi' };

let dir: string;
let server: Server;
let asked: string[] = [];
/** The engine: its image store, its version and API version. */
let facts = { store: 'containerd', version: '26.1.5+dfsg1', api: '1.45' };
/** GET /images/{name}/json: the record (its Manifests only with manifests=1), or none. */
let record: (Record<string, unknown> & { Manifests?: unknown[] }) | undefined;
/** GET /images/get: the archive for the platforms asked (none: the whole image), or the engine's refusal. */
let archive: (platforms: string[]) => Promise<Buffer | { status: number; message: string } | { after: Buffer; error: string }>;

function engine(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url!, 'http://docker');
  asked.push(`${req.method} ${url.pathname}${url.search}`);
  const json = (status: number, body: unknown): void => {
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  };
  if (url.pathname === '/info')
    return json(200, {
      DriverStatus: facts.store === 'containerd' ? [['driver-type', 'io.containerd.snapshotter.v1']] : [['Backing Filesystem', 'extfs']],
    });
  if (url.pathname === '/version') return json(200, { Version: facts.version, ApiVersion: facts.api });
  if (url.pathname === '/images/get') {
    void archive(url.searchParams.getAll('platform')).then((a) => {
      if (Buffer.isBuffer(a)) return void res.writeHead(200, { 'Content-Type': 'application/x-tar' }).end(a);
      if ('status' in a) return json(a.status, { message: a.message });
      res.writeHead(200, { 'Content-Type': 'application/x-tar' });
      res.end(Buffer.concat([a.after, Buffer.from(`{"errorDetail":{"message":"${a.error}"},"error":"${a.error}"}\r\n`)]));
    });
    return;
  }
  if (/^\/images\/.+\/json$/.test(url.pathname)) {
    if (!record) return json(404, { message: 'No such image' });
    const { Manifests, ...rest } = record;
    return json(200, url.searchParams.get('manifests') === '1' && Manifests ? { ...rest, Manifests } : rest);
  }
  json(500, { message: `this test's engine does not answer ${req.method} ${url.pathname}` });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mah-daemon-source-'));
  server = createServer(engine);
  await new Promise<void>((resolve) => server.listen(join(dir, 'docker.sock'), resolve));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  asked = [];
  vi.stubEnv('DOCKER_HOST', `unix://${join(dir, 'docker.sock')}`);
  vi.stubEnv('DOCKER_CONFIG', dir);
  vi.stubEnv('DOCKER_CONTEXT', undefined);
  vi.stubEnv('MULTIARCH_ENGINE_TUNNEL', undefined);
  vi.stubEnv('MULTIARCH_STATE_DIR', join(dir, 'state'));
  // The scratch folders go here, where the test can see them come and go.
  vi.stubEnv('TMPDIR', await mkdtemp(join(dir, 'tmp-')));
});

let made = 0;
/** A Docker 25 save archive: oci-layout, index.json of these descriptors, and the blobs. */
async function layoutArchive(manifests: object[], blobs: Blob[]): Promise<Buffer> {
  const file = join(dir, `archive-${++made}.tar`);
  await packTar(file, [
    { name: 'oci-layout', bytes: Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })) },
    { name: 'index.json', bytes: Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.index, manifests })) },
    ...[...new Map(blobs.map((b) => [b.digest, b])).values()].map((b) => ({ name: `blobs/sha256/${b.digest.slice(7)}`, bytes: b.bytes })),
  ]);
  return readFile(file);
}

const target = (text: string) => parseImageTarget(text) as LocalImageTarget;
const open = (text: string): Promise<ImageSource> => openLocalSource(target(text));
/** The scratch folders of this test (its TMPDIR): the saved archives' folder while a source is open. */
const scratch = async () => (await readdir(process.env.TMPDIR!)).filter((n) => n.startsWith('mah-verify-'));

/** What the containerd store (API 1.48) lists of an image: each manifest of its index, with whether its content is there. */
function listed(index: Blob, available: (platform: string) => boolean) {
  const body = JSON.parse(index.bytes.toString('utf8')) as {
    manifests: Array<{ digest: string; platform: { os: string; architecture: string } }>;
  };
  return body.manifests.map((d) => {
    const platform = `${d.platform.os}/${d.platform.architecture}`;
    return platform === 'unknown/unknown'
      ? { ID: d.digest, Descriptor: d, Available: true, Kind: 'attestation' }
      : { ID: d.digest, Descriptor: d, Available: available(platform), Kind: 'image', ImageData: { Platform: d.platform } };
  });
}

const missingSentence = (p: string) =>
  `${p} is listed by the image's index but its content is not in the engine's store (pull it with --platform ${p}, or pull the whole image)`;

describe('the classic store, or the containerd store before API 1.48: the whole image, saved once', () => {
  test('classic: one platform, run by its id (the config digest); the archive is read as a docker save archive, and goes with close()', async () => {
    facts = { store: 'classic', version: '26.1.5+dfsg1', api: '1.45' };
    const image = platformImage('amd64');
    record = { Id: image.config.digest, RepoTags: ['hello:one'] };
    archive = () => layoutArchive([descriptor(image.manifest, { annotations: NAME_ANNOTATIONS })], image.blobs);
    const source = await open('docker-daemon:hello:one');
    expect(asked).toEqual(['GET /info', 'GET /version', 'GET /images/hello:one/json', 'GET /images/get?names=hello%3Aone']);
    expect(source.engineImage).toBe(image.config.digest);
    const view = await readIndex(source, 'one');
    expect(view).toMatchObject({ isIndex: false, digest: image.manifest.digest, entries: [{ platform: amd64 }] });
    expect(await readManifestAndConfig(source, view.entries[0]!, amd64)).toMatchObject({ config: { architecture: 'amd64' } });
    expect(source.unavailable?.(image.manifest.digest)).toBeUndefined();
    expect(await scratch()).toHaveLength(1);
    await source.close!();
    expect(await scratch()).toEqual([]);
  });

  test('classic, an engine before Docker 25: a legacy archive (manifest.json) reads the same; a NAME with no tag is NAME:latest', async () => {
    facts = { store: 'classic', version: '24.0.7', api: '1.43' };
    const file = join(dir, `legacy-${++made}.tar`);
    await legacyArchive(file, [{ tags: ['hello:latest'], architecture: 'arm64', layers: ['arm64 layer'] }]);
    record = { Id: 'sha256:config' };
    archive = () => readFile(file);
    const source = await open('docker-daemon:hello');
    expect(asked.at(-1)).toBe('GET /images/get?names=hello%3Alatest');
    const view = await readIndex(source, '');
    expect(view.entries.map((e) => e.platform)).toEqual([arm64]);
    await source.close!();
  });

  test('containerd, API 1.45 (Docker 26.1), every platform there: the whole index, as the store holds it, and no manifests asked', async () => {
    facts = { store: 'containerd', version: '26.1.5+dfsg1', api: '1.45' };
    const image = buildxImage('multi');
    record = { Id: image.index.digest, Manifests: listed(image.index, () => true) };
    archive = () => layoutArchive([descriptor(image.index, { annotations: NAME_ANNOTATIONS })], image.blobs);
    const source = await open('docker-daemon:hello:multi');
    expect(asked).toEqual(['GET /info', 'GET /version', 'GET /images/hello:multi/json', 'GET /images/get?names=hello%3Amulti']);
    const view = await readIndex(source, 'multi');
    expect(view).toMatchObject({ isIndex: true, digest: image.index.digest, problems: [] });
    expect(view.entries.map((e) => e.platform)).toEqual([amd64, arm64]);
    for (const e of view.entries) expect(checkIndex(view, e.platform, source).result.status).toBe('pass');
    expect(source.engineImage).toBe(image.index.digest);
    await source.close!();
  });

  test("containerd, an export that lists a platform without its manifest (what the store lacks, skipped): the index check's finding on it", async () => {
    facts = { store: 'containerd', version: '26.1.5+dfsg1', api: '1.45' };
    const image = buildxImage('multi');
    record = { Id: image.index.digest };
    archive = () =>
      layoutArchive(
        [descriptor(image.index, { annotations: NAME_ANNOTATIONS })],
        image.blobs.filter((b) => !image.arm64.blobs.includes(b)),
      );
    const source = await open('docker-daemon:hello:multi');
    const view = await readIndex(source, 'multi');
    expect(checkIndex(view, amd64, source).result.status).toBe('pass');
    expect(checkIndex(view, arm64, source).result).toEqual({ status: 'fail', message: missingSentence('linux/arm64') });
    await source.close!();
  });

  test.each([
    ['refuses it before the archive starts', () => ({ status: 500, message: 'content digest sha256:abc: not found' })],
    ['writes its error after the archive started', () => ({ after: Buffer.alloc(512, 7), error: 'content digest sha256:abc: not found' })],
  ])('containerd, API 1.45, a platform not pulled: the engine %s, and that is one sentence', async (_, answer) => {
    facts = { store: 'containerd', version: '26.1.5+dfsg1', api: '1.45' };
    record = { Id: 'sha256:index' };
    archive = () => Promise.resolve(answer());
    await expect(open('docker-daemon:hello:multi')).rejects.toThrow(
      'docker-daemon:hello:multi: the engine could not export hello:multi (content digest sha256:abc: not found); engine 26.1 (API 1.45) exports an image only whole: pull every platform of hello:multi, or use Docker 28.',
    );
    expect(await scratch()).toEqual([]);
  });

  test("the classic store refusing an export is the engine's words, without what 26.1's containerd store cannot do", async () => {
    facts = { store: 'classic', version: '26.1.5+dfsg1', api: '1.45' };
    record = { Id: 'sha256:config' };
    archive = () => Promise.resolve({ status: 500, message: 'write /var/lib/docker/tmp: no space left on device' });
    await expect(open('docker-daemon:hello:one')).rejects.toThrow(
      'docker-daemon:hello:one: the engine could not export hello:one (write /var/lib/docker/tmp: no space left on device).',
    );
  });

  test('no such image is one sentence, and nothing is saved', async () => {
    facts = { store: 'containerd', version: '26.1.5+dfsg1', api: '1.45' };
    record = undefined;
    await expect(open('docker-daemon:nope')).rejects.toThrow(
      'docker-daemon:nope: the engine has no image nope:latest (docker image ls lists what it has).',
    );
    expect(asked).toEqual(['GET /info', 'GET /version', 'GET /images/nope:latest/json']);
    expect(await scratch()).toEqual([]);
  });
});

describe('the containerd store, API 1.48 and later: the manifests listed first', () => {
  test('every platform there: the whole image, saved once', async () => {
    facts = { store: 'containerd', version: '28.5.2', api: '1.51' };
    const image = buildxImage('multi');
    record = { Id: image.index.digest, Manifests: listed(image.index, () => true) };
    archive = () => layoutArchive([descriptor(image.index, { annotations: NAME_ANNOTATIONS })], image.blobs);
    const source = await open('docker-daemon:hello:multi');
    expect(asked).toEqual(['GET /info', 'GET /version', 'GET /images/hello:multi/json?manifests=1', 'GET /images/get?names=hello%3Amulti']);
    expect((await readIndex(source, 'multi')).digest).toBe(image.index.digest);
    await source.close!();
  });

  test("a platform not pulled is the index check's finding on it; the platform that is there is saved alone and read", async () => {
    facts = { store: 'containerd', version: '28.5.2', api: '1.51' };
    const image = buildxImage('multi');
    record = { Id: image.index.digest, Manifests: listed(image.index, (p) => p === 'linux/amd64') };
    // What Docker 28 exports of one platform: that platform's manifest, named, and its blobs.
    archive = (platforms) =>
      platforms.length === 1 && JSON.parse(platforms[0]!).architecture === 'amd64'
        ? layoutArchive([descriptor(image.amd64.manifest, { annotations: NAME_ANNOTATIONS })], image.amd64.blobs)
        : Promise.resolve({ status: 500, message: `unexpected save of ${platforms.join(' ')}` });
    const source = await open('docker-daemon:hello:multi');
    expect(asked.slice(2)).toEqual([
      'GET /images/hello:multi/json?manifests=1',
      `GET /images/get?names=hello%3Amulti&platform=${encodeURIComponent('{"os":"linux","architecture":"amd64"}')}`,
    ]);
    // The index the engine lists: both platforms (the attestation left out of the entries), under the image's id.
    const view = await readIndex(source, 'multi');
    expect(view).toMatchObject({ isIndex: true, digest: image.index.digest, problems: [] });
    expect(view.entries.map((e) => e.platform)).toEqual([amd64, arm64]);
    expect(checkIndex(view, amd64, source).result).toEqual({
      status: 'pass',
      message: `entry ${image.amd64.manifest.digest.slice(0, 19)}`,
    });
    expect(checkIndex(view, arm64, source).result).toEqual({ status: 'fail', message: missingSentence('linux/arm64') });
    expect(await readManifestAndConfig(source, view.entries[0]!, amd64)).toMatchObject({ config: { architecture: 'amd64' } });
    const file = join(dir, `layer-${++made}`);
    await source.blobToFile(image.amd64.layer.digest, file, image.amd64.layer.size);
    expect(await readFile(file, 'utf8')).toBe('amd64 layer');
    expect(await readManifestAndConfig(source, view.entries[1]!, arm64)).toEqual({
      problem: `the manifest or config of linux/arm64 cannot be read: ${missingSentence('linux/arm64')}.`,
    });
    await source.close!();
    expect(await scratch()).toEqual([]);
  });

  test('two of three platforms there: one request each before API 1.52, one request for both from 1.52', async () => {
    const images = { amd64: platformImage('amd64'), arm64: platformImage('arm64'), s390x: platformImage('s390x') };
    const index = blob(MEDIA.index, {
      schemaVersion: 2,
      mediaType: MEDIA.index,
      manifests: Object.entries(images).map(([architecture, i]) => descriptor(i.manifest, { platform: { architecture, os: 'linux' } })),
    });
    record = { Id: index.digest, Manifests: listed(index, (p) => p !== 'linux/arm64') };
    const of = (platforms: string[]) => platforms.map((p) => images[JSON.parse(p).architecture as keyof typeof images]);
    archive = (platforms) =>
      layoutArchive(
        of(platforms).map((i) => descriptor(i.manifest)),
        of(platforms).flatMap((i) => i.blobs),
      );
    const saves = () =>
      asked.filter((a) => a.startsWith('GET /images/get')).map((a) => new URL(`http://d${a.slice(4)}`).searchParams.getAll('platform'));
    for (const [api, expected] of [
      ['1.51', [['{"os":"linux","architecture":"amd64"}'], ['{"os":"linux","architecture":"s390x"}']]],
      ['1.52', [['{"os":"linux","architecture":"amd64"}', '{"os":"linux","architecture":"s390x"}']]],
    ] as const) {
      facts = { store: 'containerd', version: api === '1.52' ? '29.0.0' : '28.5.2', api };
      asked = [];
      const source = await open('docker-daemon:hello:three');
      expect(saves()).toEqual(expected);
      const view = await readIndex(source, 'three');
      for (const [n, p] of [amd64, arm64, s390x].entries()) {
        const read = await readManifestAndConfig(source, view.entries[n]!, p);
        expect(checkIndex(view, p, source).result.status, api).toBe(p === arm64 ? 'fail' : 'pass');
        expect('config' in read ? read.config.architecture : read.problem).toEqual(
          p === arm64 ? expect.stringContaining('is listed by the image') : p.architecture,
        );
      }
      await source.close!();
    }
  });
});

test('--node places platforms on other engines, which do not hold an image of this engine: refused before anything runs', async () => {
  const scenario = defineScenario({ kind: 'verify', name: 'v', title: 't', image: 'docker-daemon:hello:multi' });
  await expect(runScenario(scenario, { nodes: [{ platforms: [arm64], endpoint: 'ssh://me@box' }] })).rejects.toThrow(
    "--node runs platforms on other engines, and docker-daemon:hello:multi is an image of this engine's store, which they do not hold: verify it without --node.",
  );
  expect(asked).toEqual([]);
});
