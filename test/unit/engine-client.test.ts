/**
 * The engine client (engine/client.ts, containers.ts) against a fake engine: a node:http server on a
 * unix socket that answers as the Docker Engine API does and records what it was asked. And the
 * one reader of the variables and the context store (engine/endpoint.ts), over a fake DOCKER_CONFIG.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { apiAtLeast, Engine, imageStoreOf } from '../../harness/engine/client.ts';
import { runContainer } from '../../harness/engine/containers.ts';
import { reachOf, resolveEndpoint } from '../../harness/engine/endpoint.ts';
import { EngineError } from '../../harness/engine/engine-error.ts';

const dir = mkdtempSync(join(tmpdir(), 'mah-engine-client-'));
const socketPath = join(dir, 'engine.sock');
const asked: string[] = [];
/** What the fake engine does with the next container's start: start it, or refuse as runc does. */
let startAnswer: { status: number; message?: string } = { status: 204 };
let createAnswer: { status: number; message?: string } = { status: 201 };
const bodies: Record<string, unknown> = {};

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

let server: Server;
let finishWait: (() => void) | undefined;

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url!, 'http://docker');
  asked.push(`${req.method} ${url.pathname}${url.search}`);
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/containers/create') {
      bodies.create = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      if (createAnswer.status >= 400) return json(createAnswer.status, { message: createAnswer.message });
      return json(201, { Id: 'c0ffee' });
    }
    if (url.pathname === '/containers/c0ffee/wait') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
      finishWait = () => res.end(JSON.stringify({ StatusCode: 3 }));
      return;
    }
    if (url.pathname === '/containers/c0ffee/start') {
      if (startAnswer.status >= 400) return json(startAnswer.status, { message: startAnswer.message });
      res.writeHead(204).end();
      return;
    }
    if (url.pathname === '/images/load') {
      const body = Buffer.concat(chunks).toString('utf8');
      bodies.load = { body, type: req.headers['content-type'], chunked: req.headers['transfer-encoding'] };
      res.writeHead(200, { 'Content-Type': 'application/json' });
      // What the engine answers after the archive it was sent, as moby's streamformatter writes it.
      if (body.startsWith('broken')) return void res.end('{"errorDetail":{"message":"invalid diffID for layer 0"}}\n');
      if (body.startsWith('refused')) return void res.end('{"errorDetail":{"message":"x"},"error":"unexpected EOF"}\n');
      res.end(
        '{"stream":"Loaded image: multiarch-harness-local/mah-1:linux-arm64\\n"}\n{"stream":"Loaded image ID: sha256:abc\\n"}\n{"status":"other"}\n',
      );
      return;
    }
    if (url.pathname === '/images/get') {
      const name = url.searchParams.get('names');
      if (name === 'gone:latest') return json(404, { message: 'No such image: gone:latest' });
      res.writeHead(200, { 'Content-Type': 'application/x-tar' });
      res.write(Buffer.alloc(1024, 1));
      // The engine's error after the archive started, as moby's streamformatter writes it.
      if (name === 'half:latest')
        return void res.end(
          '{"errorDetail":{"message":"content digest sha256:1: not found"},"error":"content digest sha256:1: not found"}\r\n',
        );
      res.end(Buffer.alloc(1024, 0));
      return;
    }
    if (url.pathname === '/images/multi:latest/json')
      return json(200, {
        Id: 'sha256:index',
        ...(url.searchParams.get('manifests') === '1'
          ? { Manifests: [{ Kind: 'image', Available: false, ImageData: { Platform: { os: 'linux', architecture: 'arm64' } } }] }
          : {}),
      });
    if (/^\/images\/.+\/tag$/.test(url.pathname) && req.method === 'POST') return json(201, {});
    if (url.pathname === '/images/create') {
      bodies.import = Buffer.concat(chunks).length;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(url.searchParams.get('fromImage') === 'broken' ? '{"status":"x"}\n{"error":"manifest unknown"}\n' : '{"status":"done"}\n');
      return;
    }
    if (url.pathname.startsWith('/images/') && req.method === 'GET') return json(url.pathname.includes('here') ? 200 : 404, {});
    if (url.pathname.startsWith('/networks/')) return json(url.pathname.endsWith('/mine') ? 200 : 404, { message: 'network not found' });
    if (req.method === 'DELETE') return json(200, []);
    if (url.pathname === '/containers/json') return json(200, [{ Id: 'a1' }, { Id: 'b2' }]);
    if (url.pathname === '/networks' || url.pathname === '/images/json') return json(200, []);
    if (url.pathname === '/volumes') return json(200, { Volumes: null });
    json(404, { message: 'page not found' });
  });
}

beforeAll(async () => {
  server = createServer(handle);
  // The attach: the engine switches protocols and streams frames; the run ends when the wait answers.
  server.on('upgrade', (req, socket) => {
    asked.push(`${req.method} ${new URL(req.url!, 'http://docker').pathname} (upgrade)`);
    socket.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    socket.on('error', () => undefined);
    setTimeout(() => {
      if (socket.destroyed) return;
      socket.write(frame(1, 'out\n'));
      socket.write(frame(2, 'err\n'));
      socket.end();
      finishWait?.();
    }, 20);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const engine = () => Engine.for({ DOCKER_HOST: `unix://${socketPath}` });
const spec = { name: 'n', platform: 'linux/arm64', image: 'img', labels: { a: 'b' }, timeoutMs: 5_000 };

describe('a container run, as docker run does it', () => {
  test('create, attach, wait (registered before the start), start; the output split and the exit code read', async () => {
    asked.length = 0;
    startAnswer = { status: 204 };
    createAnswer = { status: 201 };
    const r = await runContainer(
      { ...spec, cmd: ['uname', '-m'], env: ['A=1'], user: '1000', capAdd: ['sys_admin'], autoRemove: false },
      engine(),
    );
    expect(r).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n', timedOut: false });
    const order = asked.map((a) => a.replace(/\?.*/, ''));
    expect(order.slice(0, 4)).toEqual([
      'POST /containers/create',
      'POST /containers/c0ffee/attach (upgrade)',
      'POST /containers/c0ffee/wait',
      'POST /containers/c0ffee/start',
    ]);
    expect(asked.find((a) => a.includes('/wait'))).toContain('condition=next-exit');
    expect(bodies.create).toMatchObject({
      Image: 'img',
      Cmd: ['uname', '-m'],
      Env: ['A=1'],
      User: '1000',
      Labels: { a: 'b' },
      HostConfig: { AutoRemove: false, CapAdd: ['sys_admin'] },
    });
  });

  test('a container the engine refuses is exit 125 with its words; one that cannot start gets the CLI exit code and is removed', async () => {
    createAnswer = { status: 404, message: 'No such image: img' };
    expect(await runContainer(spec, engine())).toMatchObject({ refused: 'No such image: img', exitCode: 125 });
    createAnswer = { status: 201 };
    startAnswer = { status: 400, message: 'exec: "/nope": executable file not found in $PATH' };
    asked.length = 0;
    expect(await runContainer(spec, engine())).toMatchObject({ notStarted: true, exitCode: 127 });
    expect(asked.some((a) => a.startsWith('DELETE /containers/c0ffee'))).toBe(true);
    finishWait?.();
    startAnswer = { status: 204 };
  });
});

describe('the rest of what the harness asks an engine', () => {
  test('image presence, import with its changes, a pull whose stream carries an error, networks, labelled removal', async () => {
    expect(await engine().imagesPresent(['here:1', 'gone:1'])).toEqual(new Set(['here:1']));
    asked.length = 0;
    await engine().importImage(Buffer.from('tar'), {
      ref: 'probe:x',
      platform: 'linux/s390x',
      changes: ['ENTRYPOINT ["/probe"]', 'LABEL a=b'],
    });
    const q = new URL(`http://d${asked[0]!.slice('POST '.length)}`).searchParams;
    expect([q.get('fromSrc'), q.get('repo'), q.get('tag'), q.get('platform'), q.getAll('changes')]).toEqual([
      '-',
      'probe',
      'x',
      'linux/s390x',
      ['ENTRYPOINT ["/probe"]', 'LABEL a=b'],
    ]);
    expect(bodies.import).toBe(3);
    const err = await engine()
      .pullImage('broken:latest')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as Error).message).toBe('manifest unknown');
    expect(await engine().networkExists('mine')).toBe(true);
    expect(await engine().networkExists('theirs')).toBe(false);
    asked.length = 0;
    expect(await engine().removeLabelled('k=v')).toEqual(['a1', 'b2']);
    expect(asked.filter((a) => a.startsWith('DELETE'))).toHaveLength(2);
  });

  test('a load streams its archive chunked and returns what the engine says it loaded; a tag names an image again', async () => {
    asked.length = 0;
    const loaded = await engine().loadImage(Readable.from([Buffer.from('one '), Buffer.from('two')]));
    expect(loaded).toEqual(['Loaded image: multiarch-harness-local/mah-1:linux-arm64', 'Loaded image ID: sha256:abc']);
    expect(asked).toEqual(['POST /images/load?quiet=1']);
    expect(bodies.load).toEqual({ body: 'one two', type: 'application/x-tar', chunked: 'chunked' });
    await engine().tagImage('sha256:abc', 'multiarch-harness-local/mah-1:linux-arm64');
    expect(asked[1]).toBe('POST /images/sha256:abc/tag?repo=multiarch-harness-local%2Fmah-1&tag=linux-arm64');
  });

  test('a load the engine refuses is one EngineError with its words; an archive that fails as it is made fails the load with its own error', async () => {
    const refused = (body: string) =>
      engine()
        .loadImage(Readable.from([Buffer.from(body)]))
        .catch((e: unknown) => e);
    const detail = await refused('broken');
    expect(detail).toBeInstanceOf(EngineError);
    expect((detail as Error).message).toBe('invalid diffID for layer 0');
    expect(((await refused('refused')) as Error).message).toBe('unexpected EOF');
    const unmade = new Error('the blob sha256:1 of the archive a.tar has other content');
    const failing = Readable.from(
      (async function* () {
        yield Buffer.from('half');
        await new Promise((r) => setTimeout(r, 20));
        throw unmade;
      })(),
    );
    expect(
      await engine()
        .loadImage(failing)
        .catch((e: unknown) => e),
    ).toBe(unmade);
  });

  test('a save streams the archive as the engine sends it, its platforms each a JSON-encoded OCI platform; a refusal is one EngineError', async () => {
    asked.length = 0;
    const chunks: Buffer[] = [];
    for await (const c of await engine().saveImage(['hello:1'])) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks)).toEqual(Buffer.concat([Buffer.alloc(1024, 1), Buffer.alloc(1024, 0)]));
    (
      await engine().saveImage(['hello:1'], {
        platforms: [
          { os: 'linux', architecture: 'arm', variant: 'v7' },
          { os: 'linux', architecture: 'amd64' },
        ],
      })
    ).resume();
    const q = new URL(`http://d${asked[1]!.slice('GET '.length)}`).searchParams;
    expect([q.getAll('names'), q.getAll('platform')]).toEqual([
      ['hello:1'],
      ['{"os":"linux","architecture":"arm","variant":"v7"}', '{"os":"linux","architecture":"amd64"}'],
    ]);
    const refused = await engine()
      .saveImage(['gone:latest'])
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(EngineError);
    expect((refused as EngineError).message).toBe('No such image: gone:latest');
  });

  test('an error the engine writes after the archive started ends the stream with that error', async () => {
    const stream = await engine().saveImage(['half:latest']);
    const err = await (async () => {
      for await (const _ of stream);
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as Error).message).toBe('content digest sha256:1: not found');
  });

  test("an image's record, with its manifests when asked (API 1.48); none is undefined", async () => {
    asked.length = 0;
    expect(await engine().inspectImage('multi:latest')).toEqual({ Id: 'sha256:index' });
    expect((await engine().inspectImage('multi:latest', { manifests: true }))?.Manifests).toEqual([
      { Kind: 'image', Available: false, ImageData: { Platform: { os: 'linux', architecture: 'arm64' } } },
    ]);
    expect(asked).toEqual(['GET /images/multi:latest/json', 'GET /images/multi:latest/json?manifests=1']);
    expect(await engine().inspectImage('gone:1')).toBeUndefined();
  });

  test('API versions compare as numbers; the image store is read from DriverStatus', () => {
    expect([apiAtLeast('1.45', '1.48'), apiAtLeast('1.48', '1.48'), apiAtLeast('1.52', '1.48'), apiAtLeast('2.0', '1.48')]).toEqual([
      false,
      true,
      true,
      true,
    ]);
    expect([apiAtLeast('1.100', '1.52'), apiAtLeast(undefined, '1.0'), apiAtLeast('unknown', '1.0')]).toEqual([true, false, false]);
    expect(imageStoreOf([['driver-type', 'io.containerd.snapshotter.v1']])).toBe('containerd');
    expect(imageStoreOf([['Backing Filesystem', 'extfs']])).toBe('classic');
    expect(imageStoreOf(undefined)).toBe('classic');
  });

  test('no engine on the socket is one sentence', async () => {
    const err = await Engine.for({ DOCKER_HOST: `unix://${join(dir, 'none.sock')}` })
      .info()
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^No Docker engine answers \(nothing listens on its socket\)/);
  });
});

describe('endpoint: the variables and the context store, read as the CLI reads them', () => {
  const config = join(dir, 'docker-config');
  const context = (name: string, host: string, o: { tls?: boolean; skip?: boolean } = {}) => {
    const id = createHash('sha256').update(name).digest('hex');
    mkdirSync(join(config, 'contexts', 'meta', id), { recursive: true });
    writeFileSync(
      join(config, 'contexts', 'meta', id, 'meta.json'),
      JSON.stringify({ Name: name, Endpoints: { docker: { Host: host, SkipTLSVerify: Boolean(o.skip) } } }),
    );
    if (o.tls) {
      mkdirSync(join(config, 'contexts', 'tls', id, 'docker'), { recursive: true });
      for (const f of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(config, 'contexts', 'tls', id, 'docker', f), `${f}\n`);
    }
    return id;
  };

  test('a context with TLS files is its host and its certificate folder; one that skips verification says so', () => {
    const id = context('tls-box', 'tcp://127.0.0.1:2376', { tls: true });
    context('lax-box', 'tcp://127.0.0.1:2377', { tls: true, skip: true });
    expect(resolveEndpoint('tls-box', { DOCKER_CONFIG: config })).toEqual({
      name: 'tls-box',
      env: {
        DOCKER_HOST: 'tcp://127.0.0.1:2376',
        DOCKER_TLS: '1',
        DOCKER_CERT_PATH: join(config, 'contexts', 'tls', id, 'docker'),
        DOCKER_TLS_VERIFY: '1',
      },
    });
    expect(resolveEndpoint('lax-box', { DOCKER_CONFIG: config }).env.DOCKER_TLS_VERIFY).toBeUndefined();
    const reach = reachOf({ DOCKER_CONFIG: config, DOCKER_CONTEXT: 'tls-box' });
    expect(reach).toMatchObject({ kind: 'tcp', host: '127.0.0.1', port: 2376, tls: { verify: true } });
    expect(reach.kind === 'tcp' && reach.tls?.ca?.toString()).toBe('ca.pem\n');
  });

  test('a URL as it is; an unknown context and a context without an endpoint are one sentence each', () => {
    context('empty-box', '');
    expect(resolveEndpoint('ssh://me@box', { DOCKER_CONFIG: config })).toEqual({
      name: 'ssh://me@box',
      env: { DOCKER_HOST: 'ssh://me@box' },
    });
    expect(() => resolveEndpoint('nowhere', { DOCKER_CONFIG: config })).toThrow(/there is no docker context named "nowhere"/);
    expect(() => resolveEndpoint('empty-box', { DOCKER_CONFIG: config })).toThrow(/names no Docker endpoint/);
  });

  test('how each engine is reached: a socket, plain tcp, TLS by the variables, ssh through the CLI tunnel', () => {
    expect(reachOf({})).toEqual({ kind: 'unix', socketPath: '/var/run/docker.sock' });
    expect(reachOf({ DOCKER_HOST: 'tcp://[::1]:2375' })).toEqual({ kind: 'tcp', host: '::1', port: 2375 });
    expect(reachOf({ DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS_VERIFY: '', DOCKER_CERT_PATH: '' })).toEqual({
      kind: 'tcp',
      host: 'h',
      port: 2376,
    });
    const certs = join(dir, 'certs');
    mkdirSync(certs, { recursive: true });
    writeFileSync(join(certs, 'ca.pem'), 'ca\n');
    expect(reachOf({ DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs })).toMatchObject({
      tls: { verify: true },
    });
    // DOCKER_CERT_PATH alone does not turn TLS on, as with the CLI; DOCKER_TLS does, unverified.
    expect(reachOf({ DOCKER_HOST: 'tcp://h:2376', DOCKER_CERT_PATH: certs })).toEqual({ kind: 'tcp', host: 'h', port: 2376 });
    expect(reachOf({ DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS: '1', DOCKER_CERT_PATH: certs })).toMatchObject({ tls: { verify: false } });
    // Verification without the CA to verify with is one sentence, as the CLI refuses it.
    expect(() => reachOf({ DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: dir })).toThrow(
      /DOCKER_TLS_VERIFY is set, but .*ca\.pem cannot be read/,
    );
    expect(reachOf({ DOCKER_HOST: 'ssh://me@box' }).kind).toBe('tunnel');
    expect(reachOf({ DOCKER_HOST: 'unix:///x.sock', MULTIARCH_ENGINE_TUNNEL: '1' }).kind).toBe('tunnel');
  });
});

describe('the docker CLI only where the engine has no API', () => {
  test('every docker command the library starts is buildx or manifest (a steps scenario’s own commands aside)', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const files = (readdirSync('harness', { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
    const calls: string[] = [];
    for (const f of files) {
      if (f.endsWith('steps.ts')) continue;
      const text = readFileSync(join('harness', f), 'utf8');
      for (const m of text.matchAll(/\b(?:docker|dockerCli)\(\s*\[\s*'([^']+)'/g)) calls.push(`${f}: ${m[1]}`);
      if (f !== join('engine', 'cli.ts')) expect(text, f).not.toMatch(/execCommand\(\s*'docker'/);
    }
    expect(calls.length).toBeGreaterThan(3);
    expect(calls.filter((c) => !/: (buildx|manifest)$/.test(c))).toEqual([]);
    const { dockerCli } = await import('../../harness/engine/cli.ts');
    expect(() => dockerCli(['run', 'alpine'])).toThrow(/has an engine API/);
  });
});
