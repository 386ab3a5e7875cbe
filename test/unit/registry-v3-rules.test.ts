/**
 * The registry client keeps distribution 3's rules (registry:3), against a small fake registry on
 * 127.0.0.1 in this process: every manifest GET names the OCI index and manifest types and Docker's
 * two in Accept (v3 answers 404 to a GET of an OCI index whose Accept lacks its type, as the fake
 * does); referrers() asks the referrers API and, on its 404 (v3 has none) or an answer that is no
 * index, the referrers tag schema (`sha256-<hex>`, HEAD then GET); nothing at either is none. The
 * index check lists what it finds beside its verdict, and never fails for it.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { indexCheck, referrersFinding } from '../../harness/checks/index-check.ts';
import { withBlobCache } from '../../harness/registry/blob-cache.ts';
import { readIndex, RegistryClient } from '../../harness/registry/client.ts';
import { parsePlatform } from '../../harness/platform/platform.ts';
import { entryFor, fakePlatformContext } from '../support/platform-context.ts';
import { startLoopbackServer, type LoopbackServer } from '../support/loopback-server.ts';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const IN_TOTO = 'application/vnd.in-toto+json';

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const json = (x: unknown) => Buffer.from(JSON.stringify(x));

const CONFIG = json({ os: 'linux', architecture: 'arm64', config: {} });
const MANIFEST = json({
  schemaVersion: 2,
  mediaType: OCI_MANIFEST,
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(CONFIG), size: CONFIG.length },
  layers: [],
});
const INDEX = json({
  schemaVersion: 2,
  mediaType: OCI_INDEX,
  manifests: [{ mediaType: OCI_MANIFEST, digest: sha(MANIFEST), size: MANIFEST.length, platform: { os: 'linux', architecture: 'arm64' } }],
});
/** An attestation of the platform's manifest, listed under the tag schema's tag. */
const ATTESTATION = { mediaType: OCI_MANIFEST, artifactType: IN_TOTO, digest: sha('attestation'), size: 10 };
const referrersIndex = (...manifests: unknown[]) => json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests });

interface Asked {
  method: string;
  path: string;
  accept: string;
}
let asked: Asked[] = [];
/** What each repository's /referrers/ answers: "none" 404s (distribution 2 and 3), "index" lists the attestation, "json" is no index. */
const referrersApi: Record<string, 'none' | 'index' | 'json' | 'forbidden'> = {};
/** Repositories that hold the tag schema's tag for the manifest. */
const tagged = new Set<string>();

function route(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const accept = String(req.headers.accept ?? '');
  asked.push({ method: req.method ?? 'GET', path: url.pathname, accept });
  const m = /^\/v2\/([^/]+)\/(manifests|blobs|referrers)\/(.+)$/.exec(url.pathname);
  const notFound = (code: string) =>
    res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ errors: [{ code, message: 'unknown' }] }));
  if (!m) return void notFound('NAME_UNKNOWN');
  const [, repository, kind, reference] = m as unknown as [string, string, string, string];
  const send = (type: string, body: Buffer) =>
    res
      .writeHead(200, { 'Content-Type': type, 'Docker-Content-Digest': sha(body), 'Content-Length': body.length })
      .end(req.method === 'HEAD' ? undefined : body);
  if (kind === 'referrers') {
    const api = referrersApi[repository] ?? 'none';
    if (api === 'none') return void notFound('NAME_UNKNOWN');
    if (api === 'forbidden') return void res.writeHead(403).end('{}');
    if (api === 'json') return void send('application/json', json({ note: 'not an index' }));
    return void send(OCI_INDEX, referrersIndex(ATTESTATION));
  }
  if (kind === 'blobs') return void (reference === sha(CONFIG) ? send('application/octet-stream', CONFIG) : notFound('BLOB_UNKNOWN'));
  if (reference === 'latest' || reference === sha(INDEX)) {
    // distribution 3: an OCI index is unknown to a client that does not say it takes one.
    if (!accept.split(',').some((t) => t.trim() === OCI_INDEX)) return void notFound('MANIFEST_UNKNOWN');
    return void send(OCI_INDEX, INDEX);
  }
  if (reference === sha(MANIFEST)) return void send(OCI_MANIFEST, MANIFEST);
  if (reference === sha(MANIFEST).replace(':', '-') && tagged.has(repository))
    return void send(OCI_INDEX, referrersIndex({ ...ATTESTATION, annotations: { 'org.opencontainers.image.created': 'now' } }));
  notFound('MANIFEST_UNKNOWN');
}

let server: LoopbackServer;
let cache: string;
beforeAll(async () => {
  server = await startLoopbackServer(route);
  cache = await mkdtemp(join(tmpdir(), 'mah-v3-rules-'));
});
afterAll(async () => {
  await server.close();
  await rm(cache, { recursive: true, force: true });
});
beforeEach(() => {
  asked = [];
});

const client = (repository: string) => new RegistryClient(server.address, repository, { credentials: { username: 'u', password: 'p' } });

describe('Accept: every manifest GET names the OCI index and manifest types and Docker’s two', () => {
  test('by tag, by digest, and through readIndex (the index, then nothing else by Accept)', async () => {
    const c = client('app');
    const view = await readIndex(c, 'latest');
    expect(view).toMatchObject({ isIndex: true, digest: sha(INDEX), entries: [{ digest: sha(MANIFEST) }] });
    await c.manifest(sha(MANIFEST));
    await c.manifest(sha(INDEX));
    const gets = asked.filter((a) => a.path.includes('/manifests/'));
    expect(gets.map((a) => a.path)).toEqual([
      '/v2/app/manifests/latest',
      `/v2/app/manifests/${sha(MANIFEST)}`,
      `/v2/app/manifests/${sha(INDEX)}`,
    ]);
    for (const a of gets)
      expect(
        a.accept
          .split(',')
          .map((t) => t.trim())
          .sort(),
      ).toEqual([DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST].sort());
  });
});

describe('referrers(): the referrers API, else the referrers tag schema', () => {
  test('the API’s index, when the registry has one: its descriptors, and no tag asked', async () => {
    referrersApi.api = 'index';
    expect(await client('api').referrers(sha(MANIFEST))).toEqual({
      referrers: [{ artifactType: IN_TOTO, digest: ATTESTATION.digest, mediaType: OCI_MANIFEST }],
      from: 'api',
    });
    expect(asked.map((a) => `${a.method} ${a.path}`)).toEqual([`GET /v2/api/referrers/${sha(MANIFEST)}`]);
    expect(asked[0]!.accept).toBe(OCI_INDEX);
  });

  test('404 from the API (distribution 2 and 3): the tag sha256-<hex>, HEAD then GET, with its annotations', async () => {
    tagged.add('fallback');
    const tag = sha(MANIFEST).replace(':', '-');
    expect(await client('fallback').referrers(sha(MANIFEST))).toEqual({
      referrers: [
        {
          artifactType: IN_TOTO,
          digest: ATTESTATION.digest,
          mediaType: OCI_MANIFEST,
          annotations: { 'org.opencontainers.image.created': 'now' },
        },
      ],
      from: 'tag',
    });
    expect(asked.map((a) => `${a.method} ${a.path}`)).toEqual([
      `GET /v2/fallback/referrers/${sha(MANIFEST)}`,
      `HEAD /v2/fallback/manifests/${tag}`,
      `GET /v2/fallback/manifests/${tag}`,
    ]);
    expect(asked.every((a) => a.accept === OCI_INDEX)).toBe(true);
  });

  test('an API answer that is no index: the tag too', async () => {
    referrersApi.odd = 'json';
    tagged.add('odd');
    expect(await client('odd').referrers(sha(MANIFEST))).toMatchObject({ referrers: [{ artifactType: IN_TOTO }], from: 'tag' });
  });

  test('404 at both: none, and no GET of a tag that is not there', async () => {
    expect(await client('bare').referrers(sha(MANIFEST))).toEqual({ referrers: [], from: 'tag' });
    expect(asked.map((a) => a.method)).toEqual(['GET', 'HEAD']);
  });

  test('a refusal of the API is one sentence', async () => {
    referrersApi.closed = 'forbidden';
    await expect(client('closed').referrers(sha(MANIFEST))).rejects.toThrow(
      new RegExp(`^${server.address} refused referrers of sha256:[0-9a-f]{64} \\(403\\): log in with`),
    );
  });

  test('the blob cache passes referrers through, never kept (they come and go)', async () => {
    tagged.add('cached');
    const source = withBlobCache(client('cached'), cache);
    await source.referrers!(sha(MANIFEST));
    await source.referrers!(sha(MANIFEST));
    expect(asked.filter((a) => a.method === 'HEAD')).toHaveLength(2);
  });
});

describe('the index check lists referrers beside its verdict, never failing for them', () => {
  const arm64 = parsePlatform('linux/arm64');
  const withSource = (repository: string) => {
    const ctx = fakePlatformContext({ exec: { platform: arm64, mode: 'native' } as never, entry: entryFor(arm64, sha(MANIFEST)) });
    return { ...ctx, source: client(repository) };
  };

  test('an attestation under the tag schema: pass, "referrers: 1 (application/vnd.in-toto+json, through the referrers tag schema)"', async () => {
    tagged.add('checked');
    const { result, findings } = await indexCheck.check(withSource('checked'));
    expect(result).toEqual({
      status: 'pass',
      message: `entry ${sha(MANIFEST).slice(0, 19)}; referrers: 1 (${IN_TOTO}, through the referrers tag schema)`,
    });
    expect(findings?.referrers).toEqual([{ subject: 'manifest', artifactType: IN_TOTO, digest: ATTESTATION.digest, from: 'tag' }]);
    // The index's own referrers were asked too (the fake context's index has a digest of its own).
    expect(asked.filter((a) => a.method === 'HEAD').map((a) => a.path)).toHaveLength(2);
  });

  test('none: the verdict as before, no referrers finding', async () => {
    const { result, findings } = await indexCheck.check(withSource('plain'));
    expect(result).toEqual({ status: 'pass', message: `entry ${sha(MANIFEST).slice(0, 19)}` });
    expect(findings).toEqual({ digest: sha(MANIFEST) });
  });

  test('a registry that refuses them: still a pass, with why they were not read', async () => {
    referrersApi.refusing = 'forbidden';
    const { result } = await indexCheck.check(withSource('refusing'));
    expect(result?.status).toBe('pass');
    expect(result?.message).toMatch(/; referrers not read \(.* refused referrers of sha256:[0-9a-f]{64} \(403\): log in with .*\)$/);
  });

  test('a source that has no referrers to ask (a local image): nothing asked, nothing said', async () => {
    const ctx = fakePlatformContext({ exec: { platform: arm64, mode: 'native' } as never, entry: entryFor(arm64, sha(MANIFEST)) });
    expect((await indexCheck.check(ctx)).result).toEqual({ status: 'pass', message: `entry ${sha(MANIFEST).slice(0, 19)}` });
  });

  test('the finding counts each artifact type', () => {
    const r = (artifactType: string, from: 'api' | 'tag' = 'api') => ({ subject: 'manifest' as const, artifactType, digest: 'd', from });
    expect(referrersFinding([])).toBeUndefined();
    expect(referrersFinding([r(IN_TOTO), r(IN_TOTO), r('application/spdx+json')])).toBe(
      `referrers: 3 (${IN_TOTO} ×2, application/spdx+json)`,
    );
    expect(referrersFinding([r(IN_TOTO, 'tag')])).toBe(`referrers: 1 (${IN_TOTO}, through the referrers tag schema)`);
    expect(referrersFinding([], 'The registry x answered 418.')).toBe('referrers not read (The registry x answered 418)');
  });
});
