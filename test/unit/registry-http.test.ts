/**
 * The registry client's reads (registry/client.ts, http.ts) against local node:http servers on
 * 127.0.0.1: a manifest or image config is read with a bound (4 MiB, as distribution caps them),
 * refused by its Content-Length or once more came, never read whole; layers still stream. And a
 * failure says what happened, in one sentence: nothing listens, the name does not resolve, the TLS
 * handshake failed, the registry closed the connection before answering or in the middle of its
 * answer (after how much, and how long), it went silent, or it answered an HTTP error (its status).
 * Retries of passing failures wait on a fake clock.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { MAX_JSON_BYTES, RegistryClient } from '../../harness/registry/client.ts';
import { HttpFailure, httpDownload, httpRequest } from '../../harness/registry/http.ts';
import { sentence, settle, startLoopbackServer, type LoopbackServer } from '../support/loopback-server.ts';

const MiB = 1024 * 1024;
const LAYER = Buffer.alloc(6 * MiB, 7); // larger than the cap: layers are not capped
const LAYER_DIGEST = `sha256:${createHash('sha256').update(LAYER).digest('hex')}`;

let server: LoopbackServer;
let registry: string; // 127.0.0.1:PORT
let dir: string;
/** Requests per repository; and, for the endless answer, whether its connection closed and how much was written. */
const asked = new Map<string, number>();
const endless = { written: 0, closed: false };

function route(req: IncomingMessage, res: ServerResponse): void {
  const repository = /^\/v2\/([^/]+)\//.exec(req.url ?? '')?.[1] ?? '';
  asked.set(repository, (asked.get(repository) ?? 0) + 1);
  switch (repository) {
    case 'huge-length': // says 5 GiB up front, sends a byte, and waits
      res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.index.v1+json', 'Content-Length': String(5 * 1024 * MiB) });
      res.write('{');
      return;
    case 'endless': {
      // no length, and no end: 64 KiB chunks as long as the client reads
      res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.index.v1+json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const more = () => {
        while (!res.destroyed && res.write(chunk)) endless.written += chunk.length;
        if (!res.destroyed) res.once('drain', more);
      };
      res.on('close', () => {
        endless.closed = true;
      });
      more();
      return;
    }
    case 'layer':
      res.writeHead(200, { 'Content-Length': String(LAYER.length) }).end(LAYER);
      return;
    case 'cut': // 1000 bytes of the 100000 it announced, then the connection closes
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100000' });
      res.write(Buffer.alloc(1000, 0x20), () => res.destroy());
      return;
    case 'hang-up': // the connection closes before any answer
      req.socket.destroy();
      return;
    case 'teapot':
      res.writeHead(418).end('{}');
      return;
    case 'unavailable':
      res.writeHead(503).end('{}');
      return;
    default:
      res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mah-registry-http-'));
  server = await startLoopbackServer(route);
  registry = server.address;
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  // No credentials of this machine's (no docker config, no helper): an empty folder.
  vi.stubEnv('DOCKER_CONFIG', dir);
  vi.stubEnv('MULTIARCH_REGISTRY_USERNAME', '');
  // The retries' pauses and the clock are fake; the sockets are real.
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

const client = (repository: string, host = registry) => new RegistryClient(host, repository);
const re = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe('manifests and configs are read with a bound', () => {
  test('the cap is 4 MiB, as distribution caps a manifest', () => {
    expect(MAX_JSON_BYTES).toBe(4 * MiB);
  });

  test('a Content-Length over the cap is refused before the body is read', async () => {
    const message = await sentence(client('huge-length').manifest('latest'));
    expect(message).toBe(
      `The answer to http://${registry}/v2/huge-length/manifests/latest is 5120 MiB (its Content-Length), more than the 4 MiB the harness reads of it: refused without reading it.`,
    );
    // An image config (a JSON blob) alike; refused at once, not asked again.
    const before = asked.get('huge-length')!;
    expect(
      await sentence(client('huge-length').blobJson('sha256:0000000000000000000000000000000000000000000000000000000000000000')),
    ).toMatch(/is 5120 MiB \(its Content-Length\), more than the 4 MiB/);
    expect(asked.get('huge-length')).toBe(before + 1);
  });

  test('an endless answer is refused once it passed the cap, and its connection closed', async () => {
    const message = await sentence(client('endless').manifest('latest'));
    expect(message).toBe(
      `The answer to http://${registry}/v2/endless/manifests/latest went past 4 MiB, the most the harness reads of it: refused there, the rest not read.`,
    );
    while (!endless.closed) await new Promise((resolve) => setImmediate(resolve));
    expect(asked.get('endless')).toBe(1);
  });

  test('layers still stream to a file, whatever their size, checked against their digest', async () => {
    const file = join(dir, 'layer');
    await settle(client('layer').blobToFile(LAYER_DIGEST, file));
    expect((await readFile(file)).equals(LAYER)).toBe(true);
  });
});

describe('a registry failure says what happened', () => {
  test('nothing listens: refused', async () => {
    const closed = await startLoopbackServer();
    const gone = closed.address;
    await closed.close();
    expect(await sentence(client('x', gone).manifest('latest'))).toBe(
      `The registry ${gone} cannot be reached (ECONNREFUSED): nothing listens on ${gone}.`,
    );
  });

  test('a name that does not resolve', async () => {
    const message = await sentence(client('x', 'registry.example.invalid').manifest('latest'));
    // ENOTFOUND where a name server answers; EAI_AGAIN (tried again, then said) where none does.
    expect(message).toMatch(
      /^The registry registry\.example\.invalid cannot be reached \((ENOTFOUND\): the name registry\.example\.invalid does not resolve|EAI_AGAIN\): no name server answered for registry\.example\.invalid)\.$/,
    );
  });

  test('a TLS handshake with something that does not speak TLS', async () => {
    const ca = join(dir, 'ca.pem');
    await writeFile(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const tls = new RegistryClient(registry, 'teapot', { caFile: ca });
    expect(await sentence(tls.manifest('latest'))).toBe(
      `The TLS handshake with the registry ${registry} failed (EPROTO: wrong version number): what answers on ${registry} does not speak TLS.`,
    );
  });

  test('an answer cut off in the middle: said so, with how much came and after how long, not "cannot be reached"', async () => {
    const before = asked.get('cut') ?? 0;
    const message = await sentence(client('cut').manifest('latest'));
    expect(message).toBe(
      `The registry ${registry} stopped answering in the middle of its answer to GET http://${registry}/v2/cut/manifests/latest: 1000 bytes came in 0.0 s, then it closed the connection (ECONNRESET).`,
    );
    expect(message).not.toMatch(/cannot be reached/);
    // A passing failure: asked four times in all.
    expect(asked.get('cut')! - before).toBe(4);
    // A layer alike.
    expect(await sentence(client('cut').blobToFile(LAYER_DIGEST, join(dir, 'cut-layer')))).toMatch(
      new RegExp(
        `^The registry ${re(registry)} stopped answering in the middle of its answer to GET http://${re(registry)}/v2/cut/blobs/${LAYER_DIGEST}: 1000 bytes came in 0\\.0 s, then it closed the connection \\(ECONNRESET\\)\\.$`,
      ),
    );
  });

  test('a connection closed before any answer', async () => {
    expect(await sentence(client('hang-up').manifest('latest'))).toBe(
      `The registry ${registry} was reached but closed the connection before answering GET http://${registry}/v2/hang-up/manifests/latest (ECONNRESET, after 0.0 s).`,
    );
  });

  test('an HTTP error, with its status', async () => {
    expect(await sentence(client('teapot').manifest('latest'))).toBe(
      `The registry ${registry} answered 418 (I'm a Teapot) for manifest latest.`,
    );
    expect(await sentence(client('missing').manifest('latest'))).toBe(`${registry}/missing has no manifest latest (404).`);
    const before = asked.get('unavailable') ?? 0;
    expect(await sentence(client('unavailable').manifest('latest'))).toBe(
      `The registry ${registry} answered 503 (Service Unavailable) to GET http://${registry}/v2/unavailable/manifests/latest.`,
    );
    expect(asked.get('unavailable')! - before).toBe(4);
  });
});

describe('http.ts: silence, before an answer and in the middle of one', () => {
  let quiet: LoopbackServer;
  let address: string;
  beforeAll(async () => {
    quiet = await startLoopbackServer((req, res) => {
      if (req.url === '/half') {
        res.writeHead(200, { 'Content-Length': '100' });
        res.write(Buffer.alloc(10));
      }
      // Otherwise: connected, and nothing is said.
    });
    address = quiet.address;
  });
  afterAll(async () => {
    await quiet.close();
  });

  test('connected, and no answer: a timeout after the connection; cut off: how much came, and that it went silent', async () => {
    vi.useRealTimers(); // the socket's own timeout
    const none = await httpRequest(`http://${address}/none`, { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(none).toBeInstanceOf(HttpFailure);
    expect(none).toMatchObject({ kind: 'timeout', code: 'timeout', silenceMs: 50 });
    const half = await httpRequest(`http://${address}/half`, { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(half).toMatchObject({ kind: 'cut', code: 'timeout', cut: { received: 10, silent: true } });
    const download = await httpDownload(`http://${address}/half`, join(dir, 'half'), { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(download).toMatchObject({ kind: 'cut', code: 'timeout', cut: { received: 10, silent: true } });
  });
});
