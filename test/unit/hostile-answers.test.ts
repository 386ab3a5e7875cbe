/**
 * Hostile registry answers, served by a node:http server on 127.0.0.1 (an ephemeral port): answers
 * that never end or are huge, a blob longer than its descriptor says or with other bytes, and slow
 * answers (headers or a body that trickle, a body that stalls). Each ends in one sentence, having
 * held no more than its bound and kept nothing unchecked; each test fails when its protection is
 * taken away. The stall bound is made short through its variable
 * (MULTIARCH_HARNESS_REGISTRY_STALL_TIMEOUT_MS) and the retries' pauses are on a fake clock: no
 * assertion is about time.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { withBlobCache } from '../../harness/registry/blob-cache.ts';
import { MAX_JSON_BYTES, RegistryClient, type ImageSource } from '../../harness/registry/client.ts';
import { MIN_BYTES_PER_STALL } from '../../harness/registry/http.ts';
import { sentence as oneSentence, startLoopbackServer, type LoopbackServer } from '../support/loopback-server.ts';

const KiB = 1024;
const BLOB = Buffer.alloc(64 * KiB, 0x42);
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const BLOB_DIGEST = sha(BLOB);

let server: LoopbackServer;
let registry: string;
let dir: string;
/** Per repository: bytes the server wrote, and whether the client closed the connection. */
const served = new Map<string, { written: number; closed: boolean }>();

/**
 * Writes `chunk` as long as the client reads, until it closes the connection (or, past `limit`,
 * ends: a reader without its bound then fails otherwise, and no test fills the disk).
 */
function endless(res: ServerResponse, seen: { written: number }, limit = 64 * 1024 * KiB, chunk = Buffer.alloc(64 * KiB, 0x20)): void {
  const more = () => {
    let flowing = true;
    while (!res.destroyed && seen.written < limit && flowing) {
      flowing = res.write(chunk);
      seen.written += chunk.length;
    }
    if (seen.written >= limit) res.end();
    else if (!res.destroyed) res.once('drain', more);
  };
  more();
}

/** Writes one byte every few milliseconds: never silent for a stall bound, never done. */
function trickle(write: () => void, on: { once(e: 'close', f: () => void): unknown }): void {
  const timer = setInterval(write, 4);
  on.once('close', () => clearInterval(timer));
}

function route(req: IncomingMessage, res: ServerResponse): void {
  const repository = /^\/v2\/([^/]+)\//.exec(req.url ?? '')?.[1] ?? '';
  const seen = { written: 0, closed: false };
  served.set(repository, seen);
  res.on('close', () => {
    seen.closed = true;
  });
  switch (repository) {
    case 'endless-manifest':
      res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' });
      return endless(res, seen);
    case 'endless-error': // a 404 whose page never ends
      res.writeHead(404, { 'Content-Type': 'text/html' });
      return endless(res, seen);
    case 'padded-blob': // its bytes, then more, all announced
      res.writeHead(200, { 'Content-Length': String(BLOB.length + 10 * KiB) });
      res.end(Buffer.concat([BLOB, Buffer.alloc(10 * KiB)]));
      return;
    case 'endless-blob': // its bytes, then more, never announced, never ending
      res.writeHead(200);
      res.write(BLOB);
      return endless(res, seen, 8 * 1024 * KiB);
    case 'other-blob': // the right length, other bytes
      res.writeHead(200, { 'Content-Length': String(BLOB.length) }).end(Buffer.alloc(BLOB.length, 0x43));
      return;
    case 'trickle-manifest':
    case 'trickle-blob':
      res.writeHead(200, { 'Content-Length': String(BLOB.length) });
      return trickle(() => {
        res.write('{');
        seen.written++;
      }, res);
    case 'trickle-head': {
      // the status line, then a header one byte at a time
      const socket = req.socket;
      socket.write('HTTP/1.1 200 OK\r\nX-Slow: ');
      return trickle(() => {
        socket.write('a');
        seen.written++;
      }, socket);
    }
    case 'stall-blob': // a little, then nothing
      res.writeHead(200, { 'Content-Length': String(BLOB.length) });
      res.write(BLOB.subarray(0, 100));
      return;
    default:
      res.writeHead(404).end();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mah-hostile-answers-'));
  server = await startLoopbackServer(route);
  registry = server.address;
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  // The retries' pauses are on a fake clock; sockets, their timeouts and the watches of slow answers are real.
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

/** The one sentence the work fails with (an EnvironmentError: no line break, a final stop). */
const sentence = (work: Promise<unknown>) => oneSentence(work, /\.$/);

async function closed(repository: string): Promise<void> {
  while (!served.get(repository)?.closed) await new Promise((resolve) => setImmediate(resolve));
}

const client = (repository: string) => new RegistryClient(registry, repository, { credentials: { username: '', password: '' } });
let n = 0;
const fileIn = async (name: string) => {
  const d = join(dir, `${++n}`);
  await mkdir(d);
  return join(d, name);
};

describe('endless and huge answers', () => {
  test('a manifest that never ends is refused at 4 MiB, its connection closed', async () => {
    const message = await sentence(client('endless-manifest').manifest('latest'));
    expect(message).toBe(
      `The answer to http://${registry}/v2/endless-manifest/manifests/latest went past 4 MiB, the most the harness reads of it: refused there, the rest not read.`,
    );
    await closed('endless-manifest');
    expect(MAX_JSON_BYTES).toBe(4 * 1024 * KiB);
  });

  test("an error page that never ends: a manifest's is refused at 4 MiB; a blob's is read for 64 KiB and its status said", async () => {
    expect(await sentence(client('endless-error').manifest('latest'))).toMatch(/went past 4 MiB, the most the harness reads of it/);
    await closed('endless-error');
    const file = await fileIn('layer');
    expect(await sentence(client('endless-error').blobToFile(BLOB_DIGEST, file, BLOB.length))).toBe(
      `${registry}/endless-error has no blob ${BLOB_DIGEST} (404).`,
    );
    await closed('endless-error');
    expect(existsSync(file)).toBe(false);
  });

  test('a blob longer than its descriptor says is refused: by its Content-Length before a byte is read, or as soon as more came', async () => {
    const padded = await fileIn('layer');
    expect(await sentence(client('padded-blob').blobToFile(BLOB_DIGEST, padded, BLOB.length))).toBe(
      `${registry} answered 74 KiB (its Content-Length) for the blob ${BLOB_DIGEST}, more than the 64 KiB its descriptor states: refused without reading it.`,
    );
    expect(existsSync(padded)).toBe(false);
    const endlessFile = await fileIn('layer');
    expect(await sentence(client('endless-blob').blobToFile(BLOB_DIGEST, endlessFile, BLOB.length))).toBe(
      `${registry} served more than the 64 KiB its descriptor states for the blob ${BLOB_DIGEST}: refused there, the rest not read.`,
    );
    await closed('endless-blob');
    // What was written is at most the descriptor's size.
    expect((await stat(endlessFile)).size).toBeLessThanOrEqual(BLOB.length);
  });

  test('the same through the layer cache: nothing is kept of a blob refused, or of one with other bytes', async () => {
    const cache = join(dir, 'cache');
    for (const repository of ['endless-blob', 'other-blob']) {
      const message = await sentence(withBlobCache(client(repository), cache).blobToFile(BLOB_DIGEST, await fileIn('layer'), BLOB.length));
      expect(message).toMatch(
        repository === 'other-blob' ? /served other content for the blob/ : /served more than the 64 KiB its descriptor states/,
      );
    }
    expect(await readdir(cache)).toEqual([]);
  });

  test('a digest or reference that is no digest names no file of the cache: nothing is written outside it', async () => {
    const cache = join(dir, 'cache-names');
    const asked: string[] = [];
    const source: ImageSource = {
      manifest: async (reference) => {
        asked.push(reference);
        return { digest: BLOB_DIGEST, mediaType: '', body: {} };
      },
      blobJson: async <T>(digest: string) => {
        asked.push(digest);
        return {} as T;
      },
      blobToFile: async (digest) => {
        asked.push(digest);
      },
    };
    const cached = withBlobCache(source, cache);
    await cached.manifest('../../../escape');
    await cached.blobJson('sha256:../../../escape');
    await cached.blobToFile('sha256:../../../escape', await fileIn('layer'), 1);
    expect(asked).toEqual(['../../../escape', 'sha256:../../../escape', 'sha256:../../../escape']);
    expect(existsSync(cache) ? await readdir(cache) : []).toEqual([]);
    expect(existsSync(join(dir, 'escape'))).toBe(false);
  });
});

describe('slow answers end within a bounded time, in one sentence', () => {
  test('a body that trickles (never silent for a stall bound) is stopped after two stall bounds', async () => {
    vi.stubEnv('MULTIARCH_HARNESS_REGISTRY_STALL_TIMEOUT_MS', '200');
    const slow = new RegExp(
      `came too slowly: \\d+ bytes in the last 0\\.4 s, where the harness waits for 64 KiB every 0\\.2 s \\(MULTIARCH_HARNESS_REGISTRY_STALL_TIMEOUT_MS\\): stopped there, after \\d+ bytes in all, the rest not read\\.$`,
    );
    expect(await sentence(client('trickle-manifest').manifest('latest'))).toMatch(
      new RegExp(`^The answer to http://${registry}/v2/trickle-manifest/manifests/latest ${slow.source}`),
    );
    await closed('trickle-manifest');
    expect(served.get('trickle-manifest')!.written).toBeLessThan(MIN_BYTES_PER_STALL);
    const file = await fileIn('layer');
    expect(await sentence(client('trickle-blob').blobToFile(BLOB_DIGEST, file, BLOB.length))).toMatch(
      new RegExp(`^The answer to http://${registry}/v2/trickle-blob/blobs/${BLOB_DIGEST} ${slow.source}`),
    );
    await closed('trickle-blob');
  });

  test('headers that trickle are stopped after two stall bounds', async () => {
    vi.stubEnv('MULTIARCH_HARNESS_REGISTRY_STALL_TIMEOUT_MS', '200');
    expect(await sentence(client('trickle-head').manifest('latest'))).toBe(
      `The answer to http://${registry}/v2/trickle-head/manifests/latest came too slowly: its headers were not whole after 0.4 s, twice the 0.2 s the harness lets a registry stay silent (MULTIARCH_HARNESS_REGISTRY_STALL_TIMEOUT_MS): stopped there.`,
    );
    await closed('trickle-head');
  });

  test('a body that stalls is cut after the stall bound the variable sets, tried again, then said', async () => {
    vi.stubEnv('MULTIARCH_HARNESS_REGISTRY_STALL_TIMEOUT_MS', '100');
    const message = await sentence(client('stall-blob').blobToFile(BLOB_DIGEST, await fileIn('layer'), BLOB.length));
    expect(message).toMatch(
      new RegExp(
        `^The registry ${registry.replace(/\./g, '\\.')} stopped answering in the middle of its answer to GET http://${registry.replace(/\./g, '\\.')}/v2/stall-blob/blobs/${BLOB_DIGEST}: 100 bytes came in \\d+\\.\\d s, then nothing for 0\\.1 s\\.$`,
      ),
    );
  });
});
