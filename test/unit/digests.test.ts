// Every manifest and blob read is checked against its digest: a registry that serves other bytes
// (a lying registry, a broken proxy) is caught, with both digests, here against a real HTTP server
// on 127.0.0.1 that serves what it likes.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from 'vitest';
import { RegistryClient } from '../../harness/registry/client.ts';
import { startLoopbackServer, type LoopbackServer } from '../support/loopback-server.ts';

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const config = Buffer.from('{"architecture":"arm64","os":"linux"}');
const layer = Buffer.from('layer bytes');
const manifest = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { digest: sha(config) },
    layers: [{ digest: sha(layer) }],
  }),
);
/** What the server serves for each digest: the honest content, or another one. */
const served = new Map<string, Buffer>();
let server: LoopbackServer;
let client: RegistryClient;

beforeAll(async () => {
  server = await startLoopbackServer((req, res) => {
    const m = /^\/v2\/repo\/(manifests|blobs)\/(.+)$/.exec(req.url ?? '');
    const body = m ? served.get(m[2]!) : undefined;
    if (!body) return res.writeHead(404).end();
    const headers: Record<string, string> = {
      'content-type': m![1] === 'manifests' ? 'application/vnd.oci.image.manifest.v1+json' : 'application/octet-stream',
    };
    if (m![2] === 'latest') headers['docker-content-digest'] = sha(manifest);
    res.writeHead(200, headers).end(body);
  });
  client = new RegistryClient(server.address, 'repo', {
    credentials: { username: '', password: '' },
  });
});

afterAll(() => server.close());

describe('digests', () => {
  test('honest content passes, and a manifest fetched by tag is checked against the digest the registry states', async () => {
    served.set(sha(manifest), manifest).set('latest', manifest).set(sha(config), config).set(sha(layer), layer);
    expect((await client.manifest(sha(manifest))).digest).toBe(sha(manifest));
    expect((await client.manifest('latest')).digest).toBe(sha(manifest));
    expect(await client.blobJson(sha(config))).toEqual({ architecture: 'arm64', os: 'linux' });
    const folder = await mkdtemp(join(tmpdir(), 'mah-digest-'));
    onTestFinished(() => rm(folder, { recursive: true, force: true }));
    const file = join(folder, 'layer');
    await client.blobToFile(sha(layer), file);
    expect(await readFile(file)).toEqual(layer);
  });

  test('other bytes for a manifest, a config or a layer fail with both digests', async () => {
    const other = Buffer.from('{"architecture":"amd64","os":"linux"}');
    served
      .set(sha(manifest), Buffer.from(JSON.stringify({ schemaVersion: 2, layers: [] })))
      .set(sha(config), other)
      .set(sha(layer), Buffer.from('other bytes'));
    await expect(client.manifest(sha(manifest))).rejects.toThrow(
      new RegExp(
        `served other content for the manifest ${sha(manifest)}: expected the digest ${sha(manifest)}, its bytes have sha256:[0-9a-f]{64}`,
      ),
    );
    await expect(client.blobJson(sha(config))).rejects.toThrow(`its bytes have ${sha(other)}`);
    const folder = await mkdtemp(join(tmpdir(), 'mah-digest-'));
    onTestFinished(() => rm(folder, { recursive: true, force: true }));
    const file = join(folder, 'layer');
    await expect(client.blobToFile(sha(layer), file)).rejects.toThrow(
      `served other content for the blob ${sha(layer)}: its bytes have the digest ${sha('other bytes')}`,
    );
    // By tag: the registry's stated digest does not match what it sent.
    served.set('latest', Buffer.from('{"schemaVersion":2}'));
    await expect(client.manifest('latest')).rejects.toThrow(/served other content for the manifest latest/);
  });
});
