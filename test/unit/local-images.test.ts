// A local image through verify, against a fake engine (a node:http server on a unix socket that
// answers as the Docker Engine API does and records what it was asked). A target that is no image
// (no such file, not a layout, no such tag) is one sentence and exit 2, and the engine is asked
// nothing; an image the engine's store does not hold (docker-daemon:) too, the engine asked for it
// alone. A platform of a local image is loaded once (docker load) under a name of the session,
// recorded before the load, and run by that name with its platform, never pulled; the
// structure tests' command tests share the load; an engine that names the image by its id alone gets
// the name as a tag; a load the engine refuses fails the run check and the command tests, in one sentence.
// An image of the engine's store runs from there by its id and platform, recorded as there before.
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import tar from 'tar-stream';
import { afterAll, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import type { VerifyRequest } from '../../harness/checks/check.ts';
import { platformContext } from '../../harness/checks/context.ts';
import { probeProgram } from '../../harness/host/probe-program.ts';
import { openLocalSource, parseImageTarget, type LocalImageTarget } from '../../harness/image-source/index.ts';
import type { PlatformExecution } from '../../harness/platform/execution-mode.ts';
import { parsePlatform } from '../../harness/platform/platform.ts';
import { readIndex, type ImageSource } from '../../harness/registry/client.ts';
import { runCheck } from '../../harness/run-check/run-check.ts';
import type { Session } from '../../harness/session/session.ts';
import { parseStructureTests, type StructureTestFile } from '../../harness/structure-file/test-file.ts';
import { structureTestsCheck } from '../../harness/structure/structure-tests-check.ts';
import { captureConsole } from '../support/console-capture.ts';
import { blob, descriptor, MEDIA, packTar, tagAnnotations, writeLayout } from '../support/oci-layouts.ts';
import { fakeProbe } from '../support/platform-context.ts';

const arm64 = parsePlatform('linux/arm64');
const SESSION_ID = 'mah-0a1b2c3d';
const NAME = `multiarch-harness-local/${SESSION_ID}:linux-arm64`;

/** What the fake engine answers a load with: the engine's lines, or an error line. */
let loadAnswer: (configDigest: string) => string;
let requests: string[] = [];
const created: Array<{ image: unknown; platform: string | null }> = [];
let loadedMembers: string[] = [];
/** Each container's attached output and its wait, by id: its start writes the one and answers the other. */
const attached = new Map<string, Duplex>();
const waiting = new Map<string, () => void>();
let containers = 0;
let dir: string;
let server: Server;
let configDigest = '';
/** What the engine exports of hello:one (GET /images/get): a Docker 25 save archive. */
let savedArchive = Buffer.alloc(0);

function frame(text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = 1;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

async function tarMembers(bytes: Buffer): Promise<string[]> {
  const names: string[] = [];
  const extract = tar.extract();
  const read = (async () => {
    for await (const entry of extract) {
      names.push(entry.header.name);
      entry.resume();
    }
  })();
  extract.end(bytes);
  await read;
  return names;
}

function engine(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url!, 'http://docker');
  requests.push(`${req.method} ${url.pathname}`);
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const json = (status: number, body: unknown) => res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    if (url.pathname === '/images/load') {
      void tarMembers(Buffer.concat(chunks)).then((names) => {
        loadedMembers = names;
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(loadAnswer(configDigest));
      });
      return;
    }
    if (/^\/images\/.+\/tag$/.test(url.pathname)) return json(201, {});
    // An engine of the classic store, API 1.45, whose store holds the image hello:one (docker-daemon:).
    if (url.pathname === '/info') return json(200, { DriverStatus: [['Backing Filesystem', 'extfs']] });
    if (url.pathname === '/version') return json(200, { Version: '26.1.5', ApiVersion: '1.45' });
    if (url.pathname === '/images/hello:one/json') return json(200, { Id: configDigest });
    if (/^\/images\/.+\/json$/.test(url.pathname)) return json(404, { message: 'No such image' });
    if (url.pathname === '/images/get') return void res.writeHead(200, { 'Content-Type': 'application/x-tar' }).end(savedArchive);
    if (url.pathname === '/containers/create') {
      created.push({
        image: (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Image?: unknown }).Image,
        platform: url.searchParams.get('platform'),
      });
      return json(201, { Id: `c${++containers}` });
    }
    const id = /^\/containers\/(c\d+)\/(wait|start)$/.exec(url.pathname);
    if (id?.[2] === 'wait') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
      waiting.set(id[1]!, () => res.end(JSON.stringify({ StatusCode: 0 })));
      return;
    }
    if (id?.[2] === 'start') {
      res.writeHead(204).end();
      // The program runs: it prints its line and exits (docker run registers the wait before the start).
      const socket = attached.get(id[1]!)!;
      socket.write(frame('Hello, linux/arm64!\n'));
      socket.end();
      waiting.get(id[1]!)!();
      return;
    }
    if (req.method === 'DELETE') return json(200, []);
    json(500, { message: `this test's engine does not answer ${req.method} ${url.pathname}` });
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mah-local-images-'));
  server = createServer(engine);
  server.on('upgrade', (req, socket) => {
    const path = new URL(req.url!, 'http://docker').pathname;
    requests.push(`${req.method} ${path} (upgrade)`);
    socket.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    socket.on('error', () => undefined);
    attached.set(path.split('/')[2]!, socket);
  });
  await new Promise<void>((resolve) => server.listen(join(dir, 'docker.sock'), resolve));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

const { err } = captureConsole();
beforeEach(() => {
  requests = [];
  created.length = 0;
  loadedMembers = [];
  vi.stubEnv('DOCKER_HOST', `unix://${join(dir, 'docker.sock')}`);
  vi.stubEnv('DOCKER_CONFIG', dir);
  vi.stubEnv('DOCKER_CONTEXT', undefined);
  vi.stubEnv('MULTIARCH_ENGINE_TUNNEL', undefined);
  vi.stubEnv('MULTIARCH_STATE_DIR', join(dir, 'state'));
  vi.stubEnv('MULTIARCH_CHECK_CACHE', 'off');
});

describe('a local target that is no image: one sentence, exit 2, the engine asked nothing', () => {
  test.each([
    ['no such file', 'oci-archive:', () => join(dir, 'missing.tar'), /^multiarch-harness: There is no file .*missing\.tar\.$/],
    ['a file, not a folder', 'oci:', () => join(dir, 'docker.sock'), /is not a regular file|is a file, not a folder/],
    [
      'a folder that is no layout',
      'oci:',
      () => join(dir, 'empty-folder'),
      /^multiarch-harness: The OCI layout .*empty-folder is not an OCI image layout: it has no oci-layout file\.$/,
    ],
    [
      'no such tag',
      'oci:',
      () => `${join(dir, 'layout')}:nope`,
      /^multiarch-harness: The OCI layout .*layout has no image nope \(its images: v1\)\.$/,
    ],
  ])('%s', async (_what, transport, where, sentence) => {
    await mkdir(join(dir, 'empty-folder'), { recursive: true });
    const image = await oneImage();
    await writeLayout(
      join(dir, 'layout'),
      { schemaVersion: 2, manifests: [descriptor(image.manifest, { annotations: tagAnnotations('v1') })] },
      image.blobs,
    );
    const { main } = await import('../../harness/cli/main.ts');
    expect(await main(['verify', `${transport}${where()}`, '--quiet'])).toBe(2);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(sentence);
    expect(requests).toEqual([]);
  });
});

/** One arm64 image whose one layer holds /probe, this harness's probe program for arm64 (a real ELF). */
async function oneImage() {
  const pack = tar.pack();
  pack.entry({ name: 'probe', mode: 0o755 }, Buffer.from(probeProgram(arm64)));
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  const layerBytes = Buffer.concat(chunks);
  const layer = blob(MEDIA.layer, layerBytes);
  const config = blob(MEDIA.config, {
    architecture: 'arm64',
    os: 'linux',
    config: { Entrypoint: ['/probe'] },
    rootfs: { type: 'layers', diff_ids: [layer.digest] },
  });
  const manifest = blob(MEDIA.manifest, {
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config: descriptor(config),
    layers: [descriptor(layer)],
  });
  return { layer, config, manifest, blobs: [layer, config, manifest] };
}

const commandTest = parseStructureTests(
  ['schemaVersion: 2.0.0', 'commandTests:', '  - name: greets', '    command: greet', '    expectedOutput: [Hello]'].join('\n'),
  'tests.yaml',
);

/** A platform's context over a local image: an OCI layout of oneImage, unless a target and its source are given. */
async function contextOf(structureTests?: StructureTestFile, local?: { target: LocalImageTarget; source: ImageSource }) {
  const image = await oneImage();
  configDigest = image.config.digest;
  const folder = await mkdtemp(join(dir, 'layout-'));
  await writeLayout(folder, { schemaVersion: 2, manifests: [descriptor(image.manifest)] }, image.blobs);
  const target = local?.target ?? (parseImageTarget(`oci:${folder}`) as LocalImageTarget);
  const source = local?.source ?? (await openLocalSource(target));
  const tracked: string[] = [];
  const session = {
    id: SESSION_ID,
    phases: undefined,
    closing: false,
    labelRecord: {},
    // When it was recorded: before or after the engine was asked to load it; and whether as there before.
    trackImage: (ref: string, o?: { present?: boolean }) =>
      void tracked.push(`${ref} after ${requests.length} request(s)${o?.present ? ', there before' : ''}`),
  } as unknown as Session;
  const exec: PlatformExecution = { platform: arm64, mode: 'native', timeoutFactor: 1, observed: true };
  const request: VerifyRequest = {
    target,
    expect: { kind: 'output', template: 'Hello, {os}/{goarch}!' },
    allowForeign: [],
    network: 'none',
    allowSkip: false,
    ...(structureTests ? { structureTests } : {}),
  };
  const ctx = platformContext({
    session,
    engineName: 'default',
    probe: fakeProbe(arm64),
    exec,
    request,
    source,
    index: await readIndex(source, ''),
    scratch: await mkdtemp(join(dir, 'scratch-')),
    presence: new Map(),
  });
  return { ctx, tracked, image };
}

describe('a platform of a local image, loaded under a name of the session and run by it', () => {
  test('loaded once, recorded first, run by its name and platform, never pulled; the command tests share the load', async () => {
    loadAnswer = () => `{"stream":"Loaded image: ${NAME}\\n"}\n`;
    const { ctx, tracked } = await contextOf(commandTest);
    expect(ctx.runImage()).toBe(NAME);
    const [run, structure] = await Promise.all([runCheck.check(ctx), structureTestsCheck.check(ctx)]);
    expect(run.result).toMatchObject({ status: 'pass' });
    expect(structure.findings?.structureTests?.map((t) => t.status)).toEqual(['pass']);
    expect(requests.filter((r) => r.startsWith('POST /images/load'))).toHaveLength(1);
    expect(requests.some((r) => r.startsWith('POST /images/create'))).toBe(false);
    expect(tracked).toEqual([`${NAME} after 0 request(s)`]);
    expect(created).toEqual([
      { image: NAME, platform: 'linux/arm64' },
      { image: NAME, platform: 'linux/arm64' },
    ]);
    expect(loadedMembers.slice(0, 3)).toEqual(['oci-layout', 'index.json', 'manifest.json']);
    expect(loadedMembers).toHaveLength(6);
  });

  test('an engine that names the image by its id alone (the config digest) gets the name as a tag', async () => {
    loadAnswer = (config) => `{"stream":"Loaded image ID: ${config}\\n"}\n`;
    const { ctx, image } = await contextOf();
    expect((await runCheck.check(ctx)).result).toMatchObject({ status: 'pass' });
    expect(requests).toContain(`POST /images/${image.config.digest}/tag`);
  });

  test('a load the engine refuses, or answers with another image, fails the run check and the command tests in one sentence', async () => {
    loadAnswer = () => '{"errorDetail":{"message":"invalid diffID for layer 0"},"error":"invalid diffID for layer 0"}\n';
    const refused = await contextOf(commandTest);
    const [run, structure] = await Promise.all([runCheck.check(refused.ctx), structureTestsCheck.check(refused.ctx)]);
    const why = `loading the image of linux/arm64 into the engine as ${NAME} failed: invalid diffID for layer 0`;
    expect(run.result).toEqual({ status: 'fail', message: `the image of linux/arm64 could not be loaded or started: ${why}` });
    expect(structure.findings?.structureTests?.[0]).toMatchObject({
      status: 'fail',
      message: `the image of linux/arm64 could not be loaded: ${why}`,
    });
    expect(created).toEqual([]);

    loadAnswer = () => '{"stream":"Loaded image: someone/else:latest\\n"}\n';
    const other = await contextOf();
    expect((await runCheck.check(other.ctx)).result?.message).toBe(
      `the image of linux/arm64 could not be loaded or started: loading the image of linux/arm64 into the engine as ${NAME}: the engine answered "Loaded image: someone/else:latest", which names neither that name nor the image's id.`,
    );
  });
});

describe("docker-daemon: an image of the engine's store", () => {
  test('an image the engine does not have: one sentence, exit 2; the engine is asked for it and nothing more', async () => {
    const { main } = await import('../../harness/cli/main.ts');
    expect(await main(['verify', 'docker-daemon:nope:1', '--quiet'])).toBe(2);
    expect(err).toHaveLength(1);
    expect(err[0]).toBe('multiarch-harness: docker-daemon:nope:1: the engine has no image nope:1 (docker image ls lists what it has).');
    expect(requests).toEqual(['GET /info', 'GET /version', 'GET /images/nope:1/json']);
  });

  test('runs from the store by its id and platform: never pulled, loaded or tagged; recorded as there before, so never removed', async () => {
    const image = await oneImage();
    configDigest = image.config.digest;
    const file = join(dir, 'saved.tar');
    await packTar(file, [
      { name: 'oci-layout', bytes: Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })) },
      {
        name: 'index.json',
        bytes: Buffer.from(
          JSON.stringify({ schemaVersion: 2, manifests: [descriptor(image.manifest, { annotations: tagAnnotations('one') })] }),
        ),
      },
      ...image.blobs.map((b) => ({ name: `blobs/sha256/${b.digest.slice(7)}`, bytes: b.bytes })),
    ]);
    savedArchive = await readFile(file);
    const target = parseImageTarget('docker-daemon:hello:one') as LocalImageTarget;
    const source = await openLocalSource(target);
    const { ctx, tracked } = await contextOf(commandTest, { target, source });
    expect(ctx.runImage()).toBe(image.config.digest);
    const [run, structure] = await Promise.all([runCheck.check(ctx), structureTestsCheck.check(ctx)]);
    expect(run.result).toMatchObject({ status: 'pass' });
    expect(structure.findings?.structureTests?.map((t) => t.status)).toEqual(['pass']);
    expect(created).toEqual([
      { image: image.config.digest, platform: 'linux/arm64' },
      { image: image.config.digest, platform: 'linux/arm64' },
    ]);
    expect(requests.filter((r) => /^POST \/images\/(load|create)|\/tag$|^DELETE \/images/.test(r))).toEqual([]);
    expect(tracked).toEqual([`${image.config.digest} after 4 request(s), there before`]);
    await source.close!();
  });
});
